"""One embedded cluster for the node/controller tests, plus kubectl helpers."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from katib_py.localcluster.pytest_plugin import local_cluster_fixture

KUBECTL = "/usr/bin/kubectl"

# Short back-offs keep the suite fast; the Kubernetes defaults (10 s) are what `cluster up` uses.
local_cluster = local_cluster_fixture(job_backoff_base=0.2, restart_backoff_base=0.2)


def kubectl(
    *args: str, stdin: str | None = None, check: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [KUBECTL, *args], input=stdin, capture_output=True, text=True, timeout=timeout, env=dict(os.environ)
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr}{proc.stdout}"
        )
    return proc


def get_json(*args: str) -> Any:
    return json.loads(kubectl("get", *args, "-o", "json").stdout)


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.1) -> Any:
    """Poll until `predicate()` is truthy; its last value is returned (AssertionError on timeout)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


@pytest.fixture
def namespace(local_cluster: Any) -> str:
    """A fresh namespace per test (left for the cluster to clean up at session end)."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    kubectl(
        "apply",
        "-f",
        "-",
        stdin=json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
    )
    return name
