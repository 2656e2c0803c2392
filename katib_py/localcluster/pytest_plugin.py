"""A pytest plugin (entry point `pytest11`): running embedded control planes as fixtures.

Installed with katib-py, pytest loads it by itself; nothing else in the package imports pytest.

    local_cluster                                   # the plugin's session fixture, ready to use
    from katib_py.localcluster.pytest_plugin import local_cluster_fixture
    my_cluster = local_cluster_fixture("my_cluster", job_backoff_base=0.2)   # in a conftest.py

Each fixture yields a started `LocalCluster` (thread-backed) on a free port, with `KUBECONFIG`
set in `os.environ` while it runs so that kubectl and other subprocesses reach it.
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


local_cluster = local_cluster_fixture()
