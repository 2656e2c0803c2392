"""A pytest fixture factory: one running LocalCluster per test session, on a free port.

    from katib_py.localcluster.testing import local_cluster_fixture
    local_cluster = local_cluster_fixture()          # in a conftest.py

The fixture yields the started `LocalCluster` (thread-backed), with `KUBECONFIG` set in
`os.environ` for the session so that kubectl and other subprocesses reach it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .cluster import LocalCluster


def local_cluster_fixture(
    name: str = "local_cluster", scope: Any = "session", **cluster_kwargs: Any
) -> Callable[..., Any]:
    """Make a pytest fixture called `name` that runs a LocalCluster (kwargs go to LocalCluster)."""

    @pytest.fixture(scope=scope, name=name)
    def _fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
        data_dir = tmp_path_factory.mktemp("localcluster")
        cluster = LocalCluster(data_dir, port=0, **cluster_kwargs)
        cluster.start_in_thread()
        old = os.environ.get("KUBECONFIG")
        os.environ["KUBECONFIG"] = str(cluster.kubeconfig)
        try:
            yield cluster
        finally:
            if old is None:
                os.environ.pop("KUBECONFIG", None)
            else:
                os.environ["KUBECONFIG"] = old
            cluster.stop_thread()

    return _fixture
