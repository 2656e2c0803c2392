"""`katib-py cluster up/down`, and a control plane killed mid-run then restarted from its data dir."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import KUBECTL, wait_for

KATIB_PY = str(Path(sys.executable).with_name("katib-py"))


class Up:
    """A `katib-py cluster up` subprocess."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.log = data_dir.parent / f"up-{len(list(data_dir.parent.glob('up-*.log')))}.log"
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(
                [KATIB_PY, "cluster", "up", "--data-dir", str(data_dir)], stdout=out, stderr=subprocess.STDOUT
            )

        def exported() -> str | None:
            for line in self.log.read_text().splitlines():
                if line.startswith("export KUBECONFIG="):
                    return line.split("=", 1)[1]
            assert self.proc.poll() is None, "cluster up exited: " + self.log.read_text()
            return None

        self.kubeconfig: str = wait_for(exported, timeout=60)

    def kubectl(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, KUBECONFIG=self.kubeconfig)
        proc = subprocess.run(
            [KUBECTL, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {proc.stderr}")
        return proc

    def get(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "cluster"
    subprocess.run(
        [KATIB_PY, "cluster", "down", "--data-dir", str(tmp_path / "cluster")], capture_output=True
    )


MANIFESTS = """
apiVersion: v1
kind: ConfigMap
metadata: {name: keep}
data: {k: v}
---
apiVersion: batch/v1
kind: Job
metadata: {name: long}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: m, image: busybox, command: [sleep, "300"]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  replicas: 1
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      containers:
      - {name: m, image: busybox, command: [sleep, "300"]}
"""


def test_kill_and_restart_loses_nothing(data_dir: Path) -> None:
    first = Up(data_dir)
    assert (data_dir / "kubeconfig").stat().st_mode & 0o777 == 0o600
    first.kubectl("apply", "-f", "-", stdin=MANIFESTS)
    first.kubectl("wait", "--for=condition=available", "deployment/d", "--timeout=60s")
    wait_for(lambda: first.get("pods", "-l", "job-name=long")["items"][0]["status"].get("phase") == "Running")
    before = {
        f"{o['kind']}/{o['metadata']['name']}": (o["metadata"]["uid"], o["metadata"]["resourceVersion"])
        for kind in ("configmap/keep", "job/long", "deployment/d")
        for o in [first.get(kind)]
    }
    job_pod = first.get("pods", "-l", "job-name=long")["items"][0]
    old_dep_pod = first.get("pods", "-l", "app=d")["items"][0]["metadata"]["name"]
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait()

    second = Up(data_dir)
    try:
        for key, (uid, rv) in before.items():
            obj = second.get(key.lower().replace("configmap", "configmap"))
            assert obj["metadata"]["uid"] == uid
            assert int(obj["metadata"]["resourceVersion"]) >= int(rv)
        # The Job's Pod was lost with the node: reported Failed, as a kubelet reports lost containers.
        lost = wait_for(
            lambda: (
                [
                    p
                    for p in second.get("pods", "-l", "job-name=long")["items"]
                    if p["metadata"]["uid"] == job_pod["metadata"]["uid"]
                    and p["status"].get("phase") == "Failed"
                ]
                or None
                if second.get("pods", "-l", "job-name=long")["items"]
                else [{"gone": True}]
            ),
            timeout=60,
        )
        if "gone" not in lost[0]:
            term = lost[0]["status"]["containerStatuses"][0]["state"]["terminated"]
            assert (term["reason"], term["exitCode"]) == ("ContainerStatusUnknown", 137)
        second.kubectl("wait", "--for=condition=failed", "job/long", "--timeout=60s")
        # The Deployment replaces its lost Pod.
        wait_for(
            lambda: [
                p
                for p in second.get("pods", "-l", "app=d")["items"]
                if p["metadata"]["name"] != old_dep_pod and p["status"].get("phase") == "Running"
            ],
            timeout=60,
        )
        second.kubectl("wait", "--for=condition=available", "deployment/d", "--timeout=60s")
    finally:
        down = subprocess.run(
            [KATIB_PY, "cluster", "down", "--data-dir", str(data_dir)], capture_output=True, text=True
        )
        assert down.returncode == 0, down.stderr
        second.proc.wait(timeout=30)
    assert not (data_dir / "cluster.pid").exists()
