"""The node's settings and the Training-Operator add-on on a real embedded cluster (one per module).

- Extended resources: the node advertises `nvidia.com/gpu: 1`; a Pod asking for two stays Pending
  with PodScheduled=False and a FailedScheduling event, a second one-GPU Pod waits for the first.
- Image entry points: a container without a command runs the command its image is mapped to; one
  whose image is not mapped fails at admission with a reason and message.
- PyTorchJob / TFJob: replicas find each other by the names the add-on gives them (MASTER_ADDR,
  TF_CONFIG through headless Services), the job writes the Training Operator's conditions, a failing
  `Never` replica fails the job.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from katib_py.localcluster.cluster import LocalCluster
from katib_py.localcluster.pytest_plugin import local_cluster_fixture

from .conftest import get_json, kubectl, wait_for

GPU = "nvidia.com/gpu"
node_cluster = local_cluster_fixture(
    "node_cluster",
    scope="module",
    restart_backoff_base=0.2,
    node_resources={GPU: "1"},
    image_commands={"example.com/echo": ("sh", "-c", 'echo "mapped $0 $*"')},
)


@pytest.fixture(scope="module", autouse=True)
def _cluster(node_cluster: LocalCluster) -> Iterator[LocalCluster]:
    yield node_cluster


def apply(obj: dict[str, Any]) -> None:
    kubectl("apply", "-f", "-", stdin=json.dumps(obj))


def pod(name: str, gpus: int | None = None, **container: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": "main", "image": "busybox", "command": ["sleep", "30"], **container}
    if gpus is not None:
        spec["resources"] = {"limits": {GPU: str(gpus)}}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1, "containers": [spec]},
    }


def phase(name: str) -> str:
    return str(get_json("pod", name).get("status", {}).get("phase"))


def events_of(name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = get_json("events", "--field-selector", f"involvedObject.name={name}")[
        "items"
    ]
    return items


def test_the_node_advertises_its_extended_resources() -> None:
    node = get_json("node", "local")
    assert node["status"]["capacity"][GPU] == "1"
    assert node["status"]["allocatable"][GPU] == "1"


def test_a_pod_asking_for_more_than_the_node_has_stays_pending() -> None:
    apply(pod("too-many-gpus", gpus=2))
    message = (
        f"0/1 nodes are available: 1 Insufficient {GPU}. preemption: 0/1 nodes are available: "
        "1 No preemption victims found for incoming pod."
    )

    def scheduled_condition() -> dict[str, Any] | None:
        conds = get_json("pod", "too-many-gpus").get("status", {}).get("conditions") or []
        return next((c for c in conds if c["type"] == "PodScheduled"), None)

    cond = wait_for(scheduled_condition)
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", "Unschedulable", message)
    events = wait_for(lambda: [e for e in events_of("too-many-gpus") if e["reason"] == "FailedScheduling"])
    assert events[0]["type"] == "Warning" and events[0]["message"] == message
    assert events[0]["source"]["component"] == "default-scheduler"
    got = get_json("pod", "too-many-gpus")
    assert got["status"]["phase"] == "Pending" and not got["spec"].get("nodeName")
    kubectl("delete", "pod", "too-many-gpus", "--wait=false")


def test_a_one_gpu_pod_waits_for_the_gpu_to_be_free() -> None:
    apply(pod("gpu-a", gpus=1, command=["sleep", "2"]))
    wait_for(lambda: phase("gpu-a") == "Running")
    apply(pod("gpu-b", gpus=1, command=["true"]))
    wait_for(lambda: any(e["reason"] == "FailedScheduling" for e in events_of("gpu-b")))
    assert not get_json("pod", "gpu-b")["spec"].get("nodeName")
    assert wait_for(lambda: phase("gpu-b") == "Succeeded", timeout=60)
    assert phase("gpu-a") == "Succeeded"
    kubectl("delete", "pod", "gpu-a", "gpu-b", "--wait=false")


def test_a_mapped_image_runs_its_entry_point_with_the_args() -> None:
    apply(
        pod(
            "mapped",
            image="example.com/echo:v1",
            command=None,
            args=["hello", "$(WHO)"],
            env=[{"name": "WHO", "value": "you"}],
        )
    )
    wait_for(lambda: phase("mapped") == "Succeeded")
    assert kubectl("logs", "mapped").stdout == "mapped hello you\n"


def test_an_unmapped_image_without_a_command_fails_at_once() -> None:
    apply(pod("unmapped", image="example.com/unknown:1", command=None))
    wait_for(lambda: phase("unmapped") == "Failed")
    status = get_json("pod", "unmapped")["status"]
    assert status["reason"] == "UnknownImageEntrypoint"
    assert status["message"] == (
        'container "main" has no command, and image "example.com/unknown:1" has no entry point mapped on '
        "this node (the embedded kubelet runs commands, not images): give the container a command, or map "
        "the image to one (katib-py up --image-command example.com/unknown=COMMAND)"
    )
    assert any(e["reason"] == "UnknownImageEntrypoint" for e in events_of("unmapped"))


def test_an_unmapped_image_of_an_always_pod_crash_loops_instead() -> None:
    always = pod("unmapped-always", image="example.com/unknown:1", command=None)
    always["spec"]["restartPolicy"] = "Always"
    apply(always)

    def restarted() -> dict[str, Any] | None:
        statuses = get_json("pod", "unmapped-always").get("status", {}).get("containerStatuses") or []
        return statuses[0] if statuses and statuses[0].get("restartCount", 0) >= 1 else None

    status = wait_for(restarted)
    assert status["lastState"]["terminated"]["reason"] == "StartError"
    assert phase("unmapped-always") != "Failed"
    kubectl("delete", "pod", "unmapped-always", "--wait=false")


# ---------------------------------------------------------------- Training-Operator kinds

RESOLVE = (
    "for i in $(seq 100); do getent hosts {host} > /dev/null && break; sleep 0.1; done; getent hosts {host}"
)


def replica(container: str, replicas: int, script: str, restart: str = "OnFailure") -> dict[str, Any]:
    command = ["sh", "-c", script]
    return {
        "replicas": replicas,
        "restartPolicy": restart,
        "template": {"spec": {"containers": [{"name": container, "image": "x", "command": command}]}},
    }


def training_job(kind: str, name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }


def job_state(kind: str, name: str) -> list[tuple[str, str, str]]:
    status = get_json(kind, name).get("status") or {}
    return [(c["type"], c["status"], c["reason"]) for c in status.get("conditions") or []]


def test_pytorchjob_replicas_reach_the_master() -> None:
    script = 'echo "$MASTER_ADDR:$MASTER_PORT rank $RANK of $WORLD_SIZE"; ' + RESOLVE.format(
        host="$MASTER_ADDR"
    )
    replicas = {"Master": replica("pytorch", 1, "sleep 3"), "Worker": replica("pytorch", 1, script)}
    apply(training_job("PyTorchJob", "pt", pytorchReplicaSpecs=replicas))
    wait_for(
        lambda: ("Succeeded", "True", "PyTorchJobSucceeded") in job_state("pytorchjob", "pt"), timeout=60
    )
    assert job_state("pytorchjob", "pt")[0] == ("Created", "True", "PyTorchJobCreated")
    assert ("Running", "False", "PyTorchJobRunning") in job_state("pytorchjob", "pt")
    wait_for(lambda: phase("pt-worker-0") == "Succeeded")
    master_ip = get_json("pod", "pt-master-0")["status"]["podIP"]
    lines = kubectl("logs", "pt-worker-0").stdout.splitlines()
    assert lines[0] == "pt-master-0:23456 rank 1 of 2"
    assert lines[1].split()[0] == master_ip
    svc = get_json("service", "pt-master-0")
    assert svc["spec"]["clusterIP"] == "None"
    kubectl("delete", "pytorchjob", "pt")


def test_tfjob_with_a_failing_never_replica_fails() -> None:
    ok = "python3 -c \"import json,os; print(json.loads(os.environ['TF_CONFIG'])['task'])\""
    replicas = {
        "PS": replica("tensorflow", 1, "sleep 30", restart="Never"),
        "Worker": replica("tensorflow", 1, f"{ok}; exit 3", restart="Never"),
    }
    apply(training_job("TFJob", "tf", tfReplicaSpecs=replicas, runPolicy={"cleanPodPolicy": "All"}))
    wait_for(lambda: ("Failed", "True", "TFJobFailed") in job_state("tfjob", "tf"), timeout=60)
    failed = next(c for c in get_json("tfjob", "tf")["status"]["conditions"] if c["type"] == "Failed")
    assert failed["message"] == "TFJob default/tf has failed because 1 Worker replica(s) failed."
    # cleanPodPolicy All: every Pod goes once the job has failed.
    wait_for(lambda: not get_json("pods", "-l", "training.kubeflow.org/job-name=tf")["items"], timeout=30)
    kubectl("delete", "tfjob", "tf")
