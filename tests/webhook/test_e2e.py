"""End to end on the embedded control plane: kopf serves the webhooks, real kubectl talks to the API server.

An invalid Experiment is rejected by `kubectl apply` with the field path in the error; a valid
one is stored with Katib's defaults; the Pod the Job controller creates for a Trial's Job gets
the metrics collector.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from katib_py.localcluster.cluster import LocalCluster

from .conftest import experiment

KUBECTL = "/usr/bin/kubectl"
HERE = Path(__file__).resolve().parent
COLLECTOR_CONFIG = """
runtime:
  suggestions:
    - algorithmName: random
      image: katib-py:test
  metricsCollectors:
    - kind: StdOut
      image: katib-py:test
      command: ["true"]
"""


def kubectl(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([KUBECTL, *args], input=stdin, capture_output=True, text=True, timeout=60)
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
    return result


def apply(obj: dict[str, Any], check: bool = True) -> subprocess.CompletedProcess[str]:
    return kubectl("apply", "-f", "-", stdin=yaml.safe_dump(obj), check=check)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def webhooks(cluster: LocalCluster, tmp_path: Path) -> Iterator[str]:
    """The webhook operator running against the cluster; yields the labelled namespace to use."""
    core = f"core-{os.getpid()}-{int(time.time() * 1000) % 100000}"
    ns = f"e2e-{os.getpid()}-{int(time.time() * 1000) % 100000}"
    kubectl("create", "namespace", core, "--dry-run=client", "-o", "yaml")  # kubectl works at all
    apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": core}})
    apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": ns, "labels": {"katib.kubeflow.org/metrics-collector-injection": "enabled"}},
        }
    )
    apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "katib-config", "namespace": core},
            "data": {"katib-config.yaml": COLLECTOR_CONFIG},
        }
    )
    port = free_port()
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "KATIB_CORE_NAMESPACE": core}
    log = (tmp_path / "operator.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "webhook_operator.py"), str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: listening(port) or proc.poll() is not None, 60, "the webhook server")
        assert proc.poll() is None, (tmp_path / "operator.log").read_text()
        yield ns
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
        kubectl(
            "delete", "mutatingwebhookconfiguration", "katib.kubeflow.org", "--ignore-not-found", check=False
        )
        kubectl(
            "delete",
            "validatingwebhookconfiguration",
            "katib.kubeflow.org",
            "--ignore-not-found",
            check=False,
        )


def test_kubectl_sees_validation_defaulting_and_pod_injection(webhooks: str) -> None:
    ns = webhooks
    bad = experiment(name="bad-exp", namespace=ns, maxTrialCount=0)
    rejected = apply(bad, check=False)
    assert rejected.returncode != 0
    assert "validator.experiment.katib.kubeflow.org" in rejected.stderr
    assert "spec.maxTrialCount" in rejected.stderr

    good = experiment(name="good-exp", namespace=ns)
    del good["spec"]["parallelTrialCount"]
    apply(good)
    stored = json.loads(kubectl("get", "experiment", "good-exp", "-n", ns, "-o", "json").stdout)
    assert stored["spec"]["parallelTrialCount"] == 3
    assert stored["spec"]["metricsCollectorSpec"] == {"collector": {"kind": "StdOut"}}
    assert (
        stored["spec"]["trialTemplate"]["failureCondition"]
        == 'status.conditions.#(type=="Failed")#|#(status=="True")#'
    )

    apply(
        {
            "apiVersion": "kubeflow.org/v1beta1",
            "kind": "Trial",
            "metadata": {
                "name": "good-exp-t1",
                "namespace": ns,
                "labels": {"katib.kubeflow.org/experiment": "good-exp"},
            },
            "spec": {
                "objective": {"type": "maximize", "objectiveMetricName": "accuracy"},
                "primaryContainerName": "training-container",
                "metricsCollector": {"collector": {"kind": "StdOut"}},
                "runSpec": {},
            },
        }
    )
    uid = kubectl("get", "trial", "good-exp-t1", "-n", ns, "-o", "jsonpath={.metadata.uid}").stdout
    apply(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": "good-exp-t1",
                "namespace": ns,
                "ownerReferences": [
                    {
                        "apiVersion": "kubeflow.org/v1beta1",
                        "kind": "Trial",
                        "name": "good-exp-t1",
                        "uid": uid,
                        "controller": True,
                    }
                ],
            },
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "training-container",
                                "image": "busybox",
                                "command": ["sh", "-c", "echo accuracy=0.9"],
                            }
                        ],
                        "restartPolicy": "Never",
                    }
                },
            },
        }
    )

    def trial_pod() -> dict[str, Any] | None:
        pods = json.loads(kubectl("get", "pods", "-n", ns, "-l", "job-name=good-exp-t1", "-o", "json").stdout)
        return pods["items"][0] if pods["items"] else None

    pod = wait_for(trial_pod, 60, "the trial's pod")
    assert pod["metadata"]["labels"]["katib.kubeflow.org/trial"] == "good-exp-t1"
    main = pod["spec"]["containers"][0]
    assert main["env"][0]["name"] == "KATIB_TRIAL_NAME"
    assert main["args"] == [
        "echo accuracy=0.9 1>/var/log/katib/metrics.log 2>&1 && echo completed > /var/log/katib/$$$$.pid"
    ]
    sidecar = pod["spec"]["initContainers"][0]
    assert sidecar["name"] == "metrics-logger-and-collector"
    assert sidecar["restartPolicy"] == "Always"
    assert sidecar["command"] == ["true"]
    assert sidecar["args"][:4] == ["-t", "good-exp-t1", "-m", "accuracy"]
    assert pod["spec"]["shareProcessNamespace"] is True

    # the wrapped command runs on the embedded kubelet and the Job completes
    def job_complete() -> bool:
        job = json.loads(kubectl("get", "job", "good-exp-t1", "-n", ns, "-o", "json").stdout)
        conditions = (job.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Complete" and c["status"] == "True" for c in conditions)

    wait_for(job_complete, 60, "the trial's Job to complete")
