"""The Training-Operator add-on's decisions (`training_plan.plan`), rule by rule, with no cluster."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from katib_py.localcluster.controllers import training_plan as tp
from katib_py.localcluster.controllers.training_crds import build_crd
from katib_py.localcluster.controllers.training_plan import PYTORCH, TENSORFLOW, XGBOOST, plan

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
NOW_TEXT = "2024-05-01T12:00:00Z"
UID = "job-uid"


def container(name: str = "pytorch") -> dict[str, Any]:
    return {"name": name, "image": "x", "command": ["train"]}


def pytorch_job(
    workers: int = 1, master: bool = True, status: dict[str, Any] | None = None, **run: Any
) -> dict[str, Any]:
    specs: dict[str, Any] = {}
    if master:
        specs["Master"] = {
            "replicas": 1,
            "restartPolicy": "OnFailure",
            "template": {"spec": {"containers": [container()]}},
        }
    if workers:
        specs["Worker"] = {
            "replicas": workers,
            "restartPolicy": "OnFailure",
            "template": {"spec": {"containers": [container()]}},
        }
    spec: dict[str, Any] = {"pytorchReplicaSpecs": specs}
    if run:
        spec["runPolicy"] = run
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {"name": "pt", "namespace": "ns", "uid": UID, "resourceVersion": "3"},
        "spec": spec,
        "status": status or {},
    }


def tf_job(workers: int = 2, restart: str = "Never", **extra: Any) -> dict[str, Any]:
    template = {"spec": {"containers": [container("tensorflow"), container("sidecar")]}}
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "TFJob",
        "metadata": {"name": "tf", "namespace": "ns", "uid": UID, "resourceVersion": "3"},
        "spec": {
            "tfReplicaSpecs": {
                "Worker": {"replicas": workers, "restartPolicy": restart, "template": template}
            },
            **extra,
        },
    }


def materialize(
    fw: tp.Framework, job: dict[str, Any], phases: dict[str, str], **kw: Any
) -> list[dict[str, Any]]:
    """The Pods a first sync creates, with the given phases (by Pod name) and fields."""
    first = plan(fw, job, [], [], now=NOW)
    pods = []
    for pod in first.create_pods:
        name = pod["metadata"]["name"]
        pod["metadata"]["uid"] = f"uid-{name}"
        pod["metadata"]["ownerReferences"][0]["uid"] = UID
        pod["status"] = {"phase": phases.get(name, "Running"), **kw.get(name, {})}
        pods.append(pod)
    return pods


def env_of(pod: dict[str, Any], container_index: int = 0) -> dict[str, str]:
    return {e["name"]: e["value"] for e in pod["spec"]["containers"][container_index].get("env") or []}


def cond(status: dict[str, Any] | None, ctype: str) -> dict[str, Any] | None:
    return next((c for c in (status or {}).get("conditions") or [] if c["type"] == ctype), None)


def test_first_sync_creates_one_pod_and_headless_service_per_replica() -> None:
    p = plan(PYTORCH, pytorch_job(workers=2), [], [], now=NOW)
    assert [x["metadata"]["name"] for x in p.create_pods] == ["pt-master-0", "pt-worker-0", "pt-worker-1"]
    assert [x["metadata"]["name"] for x in p.create_services] == ["pt-master-0", "pt-worker-0", "pt-worker-1"]
    svc = p.create_services[0]
    assert svc["spec"]["clusterIP"] == "None"
    assert svc["spec"]["ports"] == [{"name": "pytorchjob-port", "port": 23456}]
    assert svc["spec"]["selector"] == {
        "training.kubeflow.org/operator-name": "pytorchjob-controller",
        "training.kubeflow.org/job-name": "pt",
        "training.kubeflow.org/replica-type": "master",
        "training.kubeflow.org/replica-index": "0",
    }
    master = p.create_pods[0]
    assert master["metadata"]["labels"]["training.kubeflow.org/job-role"] == "master"
    assert "training.kubeflow.org/job-role" not in p.create_pods[1]["metadata"]["labels"]
    assert master["metadata"]["ownerReferences"][0]["kind"] == "PyTorchJob"
    assert master["spec"]["restartPolicy"] == "OnFailure"
    created = cond(p.status, "Created")
    assert created is not None and created["reason"] == "PyTorchJobCreated"
    assert created["message"] == "PyTorchJob pt is created."


def test_pytorch_environment() -> None:
    p = plan(PYTORCH, pytorch_job(workers=2), [], [], now=NOW)
    master, worker1 = env_of(p.create_pods[0]), env_of(p.create_pods[2])
    assert master["MASTER_ADDR"] == worker1["MASTER_ADDR"] == worker1["PET_MASTER_ADDR"] == "pt-master-0"
    assert master["MASTER_PORT"] == "23456"
    assert master["WORLD_SIZE"] == worker1["WORLD_SIZE"] == "3"
    assert (master["RANK"], worker1["RANK"], worker1["PET_NODE_RANK"]) == ("0", "2", "2")
    assert worker1["PET_NNODES"] == "3" and worker1["PET_NPROC_PER_NODE"] == "auto"
    assert master["PYTHONUNBUFFERED"] == "1"
    ports = p.create_pods[0]["spec"]["containers"][0]["ports"]
    assert ports == [{"name": "pytorchjob-port", "containerPort": 23456}]


def test_pytorch_master_port_from_the_container() -> None:
    job = pytorch_job()
    job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]["ports"] = [
        {"name": "pytorchjob-port", "containerPort": 29500}
    ]
    p = plan(PYTORCH, job, [], [], now=NOW)
    assert env_of(p.create_pods[1])["MASTER_PORT"] == "29500"


def test_tf_config_only_on_the_tensorflow_container() -> None:
    p = plan(TENSORFLOW, tf_job(), [], [], now=NOW)
    pod = p.create_pods[1]
    config = json.loads(env_of(pod)["TF_CONFIG"])
    assert config == {
        "cluster": {"worker": ["tf-worker-0.ns.svc:2222", "tf-worker-1.ns.svc:2222"]},
        "task": {"type": "worker", "index": 1},
        "environment": "cloud",
    }
    assert "env" not in pod["spec"]["containers"][1]
    # No Chief or Master: worker 0 holds the master role.
    assert p.create_pods[0]["metadata"]["labels"]["training.kubeflow.org/job-role"] == "master"


def test_xgboost_environment() -> None:
    job = pytorch_job(workers=2)
    job["kind"] = "XGBoostJob"
    job["spec"] = {"xgbReplicaSpecs": job["spec"]["pytorchReplicaSpecs"]}
    for spec in job["spec"]["xgbReplicaSpecs"].values():
        spec["template"]["spec"]["containers"][0]["name"] = "xgboost"
    p = plan(XGBOOST, job, [], [], now=NOW)
    env = env_of(p.create_pods[2])
    assert env["MASTER_ADDR"] == "pt-master-0" and env["MASTER_PORT"] == "9999"
    assert env["WORLD_SIZE"] == "3" and env["RANK"] == "2"
    assert env["WORKER_ADDRS"] == "pt-worker-0,pt-worker-1"


def test_running_then_succeeded_when_the_master_succeeds() -> None:
    job = pytorch_job()
    pods = materialize(PYTORCH, job, {})
    p = plan(PYTORCH, job, pods, [], now=NOW)
    running = cond(p.status, "Running")
    assert running is not None and running["status"] == "True" and running["reason"] == "PyTorchJobRunning"
    assert p.status is not None and p.status["replicaStatuses"]["Master"]["active"] == 1
    job["status"] = p.status
    pods = materialize(PYTORCH, job, {"pt-master-0": "Succeeded"})
    p = plan(PYTORCH, job, pods, [], now=NOW)
    succeeded = cond(p.status, "Succeeded")
    assert succeeded is not None and succeeded["reason"] == "PyTorchJobSucceeded"
    assert succeeded["message"] == "PyTorchJob pt is successfully completed."
    assert cond(p.status, "Running") == {**running, "status": "False"}
    assert p.status is not None and p.status["completionTime"] == NOW_TEXT
    assert p.status["replicaStatuses"]["Master"] == {
        "succeeded": 1,
        "selector": "training.kubeflow.org/job-name=pt,"
        "training.kubeflow.org/operator-name=pytorchjob-controller,"
        "training.kubeflow.org/replica-type=master",
    }
    assert [e.reason for e in p.events] == ["PyTorchJobSucceeded"]


def test_katib_default_conditions_match() -> None:
    """Katib's default successCondition for these kinds selects the Succeeded condition we write."""
    from katib_py.core.job_status import DEFAULT_CONDITIONS, evaluate_job_status

    job = pytorch_job(workers=0)
    pods = materialize(PYTORCH, job, {"pt-master-0": "Succeeded"})
    p = plan(PYTORCH, job, pods, [], now=NOW)
    success, failure = DEFAULT_CONDITIONS["PyTorchJob"]
    outcome = evaluate_job_status({**job, "status": p.status}, success, failure, trial_running=True)
    assert outcome is not None and outcome.state == "Succeeded" and outcome.reason == "PyTorchJobSucceeded"


def test_tf_succeeds_when_worker_0_is_done_by_default() -> None:
    job = tf_job()
    pods = materialize(TENSORFLOW, job, {"tf-worker-0": "Succeeded"})
    p = plan(TENSORFLOW, job, pods, [], now=NOW)
    succeeded = cond(p.status, "Succeeded")
    assert succeeded is not None and succeeded["message"] == "TFJob ns/tf successfully completed."
    job["spec"]["successPolicy"] = "AllWorkers"
    p = plan(TENSORFLOW, job, pods, [], now=NOW)
    assert cond(p.status, "Succeeded") is None
    running = cond(p.status, "Running")
    assert running is not None and running["status"] == "True"


def test_a_never_replica_that_fails_fails_the_job() -> None:
    job = tf_job()
    pods = materialize(TENSORFLOW, job, {"tf-worker-1": "Failed"})
    p = plan(TENSORFLOW, job, pods, [], now=NOW)
    failed = cond(p.status, "Failed")
    assert failed is not None and failed["reason"] == "TFJobFailed"
    assert failed["message"] == "TFJob ns/tf has failed because 1 Worker replica(s) failed."
    assert not p.delete_pods and not p.create_pods
    # Nothing changes once Failed; cleanPodPolicy None (the default) keeps the Pods.
    job["status"] = p.status
    again = plan(TENSORFLOW, job, pods, [], now=NOW + timedelta(seconds=5))
    assert again.status is None and not again.delete_pods


def test_exit_code_policy_restarts_on_a_signal_and_fails_on_an_error() -> None:
    job = tf_job(restart="ExitCode")
    killed = {"containerStatuses": [{"name": "tensorflow", "state": {"terminated": {"exitCode": 137}}}]}
    pods = materialize(TENSORFLOW, job, {"tf-worker-1": "Failed"}, **{"tf-worker-1": killed})
    p = plan(TENSORFLOW, job, pods, [], now=NOW)
    assert [x["metadata"]["name"] for x in p.delete_pods] == ["tf-worker-1"]
    assert pods[1]["spec"]["restartPolicy"] == "Never"
    restarting = cond(p.status, "Restarting")
    assert restarting is not None and restarting["reason"] == "TFJobRestarting"
    assert cond(p.status, "Failed") is None
    error = {"containerStatuses": [{"name": "tensorflow", "state": {"terminated": {"exitCode": 1}}}]}
    pods = materialize(TENSORFLOW, job, {"tf-worker-1": "Failed"}, **{"tf-worker-1": error})
    p = plan(TENSORFLOW, job, pods, [], now=NOW)
    failed = cond(p.status, "Failed")
    assert (
        failed is not None and failed["message"] == 'job "tf" is failing because "Worker" replica(s) failed.'
    )
    assert not p.delete_pods


def test_backoff_limit_counts_restarts_and_deletes_everything() -> None:
    job = pytorch_job(backoffLimit=2)
    restarted = {"containerStatuses": [{"name": "pytorch", "restartCount": 2}]}
    pods = materialize(PYTORCH, job, {}, **{"pt-worker-0": restarted})
    services = plan(PYTORCH, job, [], [], now=NOW).create_services
    for svc in services:
        svc["metadata"]["ownerReferences"][0]["uid"] = UID
    p = plan(PYTORCH, job, pods, list(services), now=NOW)
    failed = cond(p.status, "Failed")
    assert (
        failed is not None
        and failed["message"] == "Job pt has failed because it has reached the specified backoff limit"
    )
    assert {x["metadata"]["name"] for x in p.delete_pods} == {"pt-master-0", "pt-worker-0"}
    assert {x["metadata"]["name"] for x in p.delete_services} == {"pt-master-0", "pt-worker-0"}


def test_active_deadline() -> None:
    job = pytorch_job(activeDeadlineSeconds=30, status={"startTime": "2024-05-01T11:59:50Z"})
    pods = materialize(PYTORCH, job, {})
    p = plan(PYTORCH, job, pods, [], now=NOW)
    assert p.requeue_after is not None and 19 < p.requeue_after < 21
    p = plan(PYTORCH, job, pods, [], now=NOW + timedelta(seconds=21))
    failed = cond(p.status, "Failed")
    assert failed is not None and "active longer than specified deadline" in failed["message"]


def test_clean_pod_policy_after_success() -> None:
    job = pytorch_job(cleanPodPolicy="Running")
    pods = materialize(PYTORCH, job, {"pt-master-0": "Succeeded"})
    job["status"] = plan(PYTORCH, job, pods, [], now=NOW).status
    p = plan(PYTORCH, job, pods, [], now=NOW)
    assert [x["metadata"]["name"] for x in p.delete_pods] == ["pt-worker-0"]
    job["spec"]["runPolicy"]["cleanPodPolicy"] = "All"
    assert len(plan(PYTORCH, job, pods, [], now=NOW).delete_pods) == 2
    job["spec"]["runPolicy"]["cleanPodPolicy"] = "None"
    assert plan(PYTORCH, job, pods, [], now=NOW).delete_pods == ()


def test_a_terminating_replica_is_not_recreated_until_gone() -> None:
    job = pytorch_job()
    pods = materialize(PYTORCH, job, {})
    pods[1]["metadata"]["deletionTimestamp"] = NOW_TEXT
    p = plan(PYTORCH, job, pods, [], now=NOW)
    assert p.create_pods == ()
    assert plan(PYTORCH, job, pods[:1], [], now=NOW).create_pods[0]["metadata"]["name"] == "pt-worker-0"


def test_objects_of_another_job_are_ignored() -> None:
    job = pytorch_job()
    pods = materialize(PYTORCH, job, {})
    for pod in pods:
        pod["metadata"]["ownerReferences"][0]["uid"] = "older-job"
    assert len(plan(PYTORCH, job, pods, [], now=NOW).create_pods) == 2


def test_crd_schema_is_structural_and_names_the_kind() -> None:
    crd = build_crd(PYTORCH)
    assert crd["metadata"]["name"] == "pytorchjobs.kubeflow.org"
    version = crd["spec"]["versions"][0]
    assert version["name"] == "v1" and version["subresources"] == {"status": {}}
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert spec["required"] == ["pytorchReplicaSpecs"]
    replica = spec["properties"]["pytorchReplicaSpecs"]["additionalProperties"]
    assert replica["properties"]["replicas"]["type"] == "integer"


def test_a_replica_the_node_rejected_fails_the_job_instead_of_restarting() -> None:
    job = pytorch_job()
    rejected = {"reason": "UnknownImageEntrypoint", "message": "no entry point"}
    pods = materialize(PYTORCH, job, {"pt-worker-0": "Failed"}, **{"pt-worker-0": rejected})
    p = plan(PYTORCH, job, pods, [], now=NOW)
    assert not p.delete_pods and not p.create_pods
    failed = cond(p.status, "Failed")
    assert failed is not None and failed["message"] == (
        "PyTorchJob pt has failed because the node rejected Worker replica pt-worker-0: "
        "UnknownImageEntrypoint: no entry point"
    )
