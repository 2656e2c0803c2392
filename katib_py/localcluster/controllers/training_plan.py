"""The Kubeflow Training Operator's decisions (PyTorchJob, TFJob, XGBoostJob): one pure function.

`plan(framework, job, pods, services, now=...)` reads a job of a Training-Operator kind, the Pods
and Services it controls and the time, and returns a `Plan`: the Pods and headless Services to
create, those to delete, the status to write and the events. No I/O and no clock, so every rule is
unit-tested without a cluster (tests/localcluster/node/test_training_plan.py); `training.
TrainingJobController` reads the informers, calls it and applies the plan.

The rules are the Training Operator v1.9's (github.com/kubeflow/training-operator, tag v1.9.0):
- One Pod and one headless Service per replica, both named `<job>-<type>-<index>` (type lower
  case), labelled `training.kubeflow.org/{operator-name,job-name,replica-type,replica-index}` and
  `training.kubeflow.org/job-role: master` for the master role (Master/Chief, else Worker 0)
  (pkg/controller.v1/common/pod.go createNewPod, service.go CreateNewService).
- The replica's restartPolicy becomes the Pod's (ExitCode -> Never); a Failed Pod is deleted and
  recreated (condition Restarting) under OnFailure/Always and under ExitCode with a retryable exit
  code (>= 128) (common/pod.go ReconcilePods, pkg/util/train/train_util.go).
- Environment: PyTorch MASTER_ADDR/PORT, PET_MASTER_ADDR/PORT, WORLD_SIZE, RANK, PET_NODE_RANK,
  PET_NNODES, PET_NPROC_PER_NODE, PYTHONUNBUFFERED (pytorch/envvar.go, master.go); TF TF_CONFIG
  on the `tensorflow` container (tensorflow/tensorflow.go); XGBoost MASTER_ADDR/PORT, WORLD_SIZE,
  RANK, WORKER_ADDRS/PORT (xgboost/xgboost.go).
- Status: Created on first sight; replicaStatuses counted from the Pods' phases (a deleting running
  Pod counts as failed); Running, Succeeded (master done, or every worker; TF: worker 0 under the
  default successPolicy), Restarting, Failed, with reasons `<Kind><Condition>` and the operator's
  messages; Running turns False when the job ends; nothing changes once Failed
  (pkg/util/status.go, each framework's UpdateJobStatus).
- A replica Pod the node rejected before any container ran (phase Failed with a reason and no
  container status: kubelet admission) fails the job instead of being recreated (katib-py: the
  operator would recreate it for ever).
- runPolicy: backoffLimit over the restarts of OnFailure/Always replicas (core/pod.go
  PastBackoffLimit) and activeDeadlineSeconds fail the job and delete its Pods and Services; once
  the job is finished cleanPodPolicy (default None) says which Pods go: All, Running (Running and
  Pending ones) or None (common/job.go DeletePodsAndServices).

Not implemented: elasticPolicy, suspend, schedulingPolicy (gang scheduling), ttlSecondsAfterFinished,
TF's enableDynamicWorker, MPIJob (its launcher runs `kubectl exec`-style remote shells).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from katib_py.kube.meta import Obj, controller_ref, owner_reference
from katib_py.kube.rfc3339 import format_time, parse_time

from .job_plan import Event, restart_count

API_VERSION = "kubeflow.org/v1"
GROUP = "kubeflow.org"
OPERATOR_LABEL = "training.kubeflow.org/operator-name"
JOB_NAME_LABEL = "training.kubeflow.org/job-name"
TYPE_LABEL = "training.kubeflow.org/replica-type"
INDEX_LABEL = "training.kubeflow.org/replica-index"
ROLE_LABEL = "training.kubeflow.org/job-role"


@dataclass(frozen=True)
class Framework:
    """One Training-Operator kind: its names, its default container and port, its rules."""

    kind: str
    plural: str
    specs_field: str  # spec.<this> holds the replica specs, keyed by replica type
    container: str  # the default container (its port is the job's port, it gets the env)
    port_name: str
    port: int
    default_restart: str
    master_types: tuple[str, ...]  # replica types that hold the master role
    order: tuple[str, ...]  # the order replica types are looked at

    @property
    def operator_name(self) -> str:
        return f"{self.kind.lower()}-controller"

    def reason(self, what: str) -> str:
        return f"{self.kind}{what}"


PYTORCH = Framework(
    "PyTorchJob", "pytorchjobs", "pytorchReplicaSpecs", "pytorch", "pytorchjob-port", 23456,
    "OnFailure", ("Master",), ("Master", "Worker"),
)  # fmt: skip
TENSORFLOW = Framework(
    "TFJob", "tfjobs", "tfReplicaSpecs", "tensorflow", "tfjob-port", 2222,
    "Never", ("Chief", "Master"), ("Chief", "Eval", "Master", "PS", "Worker"),
)  # fmt: skip
XGBOOST = Framework(
    "XGBoostJob", "xgboostjobs", "xgbReplicaSpecs", "xgboost", "xgboostjob-port", 9999,
    "Never", ("Master",), ("Master", "Worker"),
)  # fmt: skip
FRAMEWORKS: tuple[Framework, ...] = (PYTORCH, TENSORFLOW, XGBOOST)


@dataclass(frozen=True)
class Plan:
    """What one sync does, in this order: delete, create Services, create Pods, write status, events."""

    delete_pods: tuple[Obj, ...] = ()
    delete_services: tuple[Obj, ...] = ()
    create_services: tuple[Obj, ...] = ()
    create_pods: tuple[Obj, ...] = ()
    status: Obj | None = None  # the whole status to write (None: unchanged)
    events: tuple[Event, ...] = ()
    requeue_after: float | None = None


# ---------------------------------------------------------------- names, labels, specs


def replica_name(job_name: str, rtype: str, index: int) -> str:
    return f"{job_name}-{rtype.lower()}-{index}".replace("/", "-")


def replica_specs(fw: Framework, job: Obj) -> dict[str, Obj]:
    """The replica specs in the framework's order, with the operator's defaults applied."""
    specs = ((job.get("spec") or {}).get(fw.specs_field)) or {}
    out: dict[str, Obj] = {}
    for rtype in [*fw.order, *sorted(k for k in specs if k not in fw.order)]:
        spec = specs.get(rtype)
        if not isinstance(spec, dict):
            continue
        spec = dict(spec)
        spec["replicas"] = 1 if spec.get("replicas") is None else int(spec["replicas"])
        spec["restartPolicy"] = spec.get("restartPolicy") or fw.default_restart
        out[rtype] = spec
    return out


def run_policy(job: Obj) -> Obj:
    """spec.runPolicy (older jobs put its fields directly in spec)."""
    spec = job.get("spec") or {}
    return dict(
        spec.get("runPolicy")
        or {k: spec[k] for k in ("cleanPodPolicy", "backoffLimit", "activeDeadlineSeconds") if k in spec}
    )


def job_labels(fw: Framework, job_name: str) -> dict[str, str]:
    return {OPERATOR_LABEL: fw.operator_name, JOB_NAME_LABEL: job_name}


def replica_labels(fw: Framework, job_name: str, rtype: str, index: int | None = None) -> dict[str, str]:
    labels = {**job_labels(fw, job_name), TYPE_LABEL: rtype.lower()}
    if index is not None:
        labels[INDEX_LABEL] = str(index)
    return labels


def selector_text(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def is_master_role(fw: Framework, specs: dict[str, Obj], rtype: str, index: int) -> bool:
    if any(t in specs for t in fw.master_types):
        return rtype in fw.master_types
    return rtype == "Worker" and index == 0


def _default_container(fw: Framework, spec: Obj) -> Obj | None:
    containers = (((spec.get("template") or {}).get("spec") or {}).get("containers")) or []
    return next((c for c in containers if c.get("name") == fw.container), None)


def replica_port(fw: Framework, spec: Obj) -> int:
    """The port named `<kind>-port` of the default container, else the kind's default (the
    operator's defaulting webhook adds it to the container: pytorch_defaults.go setDefaultPort)."""
    container = _default_container(fw, spec) or {}
    for port in container.get("ports") or []:
        if port.get("name") == fw.port_name and port.get("containerPort"):
            return int(port["containerPort"])
    return fw.port


def replica_ports(fw: Framework, spec: Obj) -> list[Obj]:
    """The default container's named ports (the headless Service's ports), the default one included."""
    container = _default_container(fw, spec) or {}
    ports = [
        {"name": p["name"], "port": int(p["containerPort"])}
        for p in container.get("ports") or []
        if p.get("name") and p.get("containerPort")
    ]
    if not any(p["name"] == fw.port_name for p in ports):
        ports.append({"name": fw.port_name, "port": fw.port})
    return ports


# ---------------------------------------------------------------- environment


def _total_replicas(specs: dict[str, Obj]) -> int:
    return sum(int(s["replicas"]) for s in specs.values())


def pytorch_env(job: Obj, specs: dict[str, Obj], rtype: str, index: int) -> list[Obj]:
    env: list[Obj] = [{"name": "PYTHONUNBUFFERED", "value": "1"}]
    nproc_text = (job.get("spec") or {}).get("nprocPerNode")
    nproc = int(nproc_text) if isinstance(nproc_text, str) and nproc_text.isdigit() else 1
    total = _total_replicas(specs)
    if "Master" in specs:
        port = str(replica_port(PYTORCH, specs["Master"]))
        addr = replica_name(str(job["metadata"]["name"]), "Master", 0)
        rank = index + 1 if rtype == "Worker" else index
        env += [
            {"name": "MASTER_PORT", "value": port},
            {"name": "PET_MASTER_PORT", "value": port},
            {"name": "MASTER_ADDR", "value": addr},
            {"name": "PET_MASTER_ADDR", "value": addr},
            {"name": "WORLD_SIZE", "value": str(total * nproc)},
            {"name": "RANK", "value": str(rank)},
            {"name": "PET_NODE_RANK", "value": str(rank)},
        ]
    env.append({"name": "PET_NPROC_PER_NODE", "value": str(nproc_text or "auto")})
    env.append({"name": "PET_NNODES", "value": str(total)})
    return env


def tf_config(job: Obj, specs: dict[str, Obj], rtype: str, index: int) -> str:
    """TF_CONFIG: every replica's `<name>.<ns>.svc:<port>` by type, and this task."""
    meta = job["metadata"]
    cluster = {
        t.lower(): [
            f"{replica_name(str(meta['name']), t, i)}.{meta.get('namespace') or 'default'}.svc:"
            f"{replica_port(TENSORFLOW, s)}"
            for i in range(int(s["replicas"]))
        ]
        for t, s in specs.items()
    }
    config = {"cluster": cluster, "task": {"type": rtype.lower(), "index": index}, "environment": "cloud"}
    return json.dumps(config, separators=(",", ":"))


def xgboost_env(job: Obj, specs: dict[str, Obj], rtype: str, index: int) -> list[Obj]:
    name = str(job["metadata"]["name"])
    master = specs.get("Master") or {}
    env: list[Obj] = [
        {"name": "MASTER_PORT", "value": str(replica_port(XGBOOST, master))},
        {"name": "MASTER_ADDR", "value": replica_name(name, "Master", 0)},
        {"name": "WORLD_SIZE", "value": str(_total_replicas(specs))},
        {"name": "RANK", "value": str(index + 1 if rtype == "Worker" else index)},
        {"name": "PYTHONUNBUFFERED", "value": "1"},
    ]
    workers = specs.get("Worker")
    if workers is not None:
        env.append({"name": "WORKER_PORT", "value": str(replica_port(XGBOOST, workers))})
        addrs = [replica_name(name, "Worker", i) for i in range(int(workers["replicas"]))]
        env.append({"name": "WORKER_ADDRS", "value": ",".join(addrs)})
    return env


def replica_env(fw: Framework, job: Obj, specs: dict[str, Obj], rtype: str, index: int) -> list[Obj]:
    if fw is PYTORCH:
        return pytorch_env(job, specs, rtype, index)
    if fw is TENSORFLOW:
        return [{"name": "TF_CONFIG", "value": tf_config(job, specs, rtype, index)}]
    return xgboost_env(job, specs, rtype, index)


# ---------------------------------------------------------------- objects


def replica_pod(fw: Framework, job: Obj, specs: dict[str, Obj], rtype: str, index: int) -> Obj:
    """The Pod of one replica: its template, the operator's labels, env and restart policy."""
    meta = job["metadata"]
    spec = specs[rtype]
    template: Any = copy.deepcopy(spec.get("template") or {})
    tmeta = template.get("metadata") or {}
    labels = {**(tmeta.get("labels") or {}), **replica_labels(fw, str(meta["name"]), rtype, index)}
    if is_master_role(fw, specs, rtype, index):
        labels[ROLE_LABEL] = "master"
    pod_spec = template.get("spec") or {}
    restart = str(spec["restartPolicy"])
    pod_spec["restartPolicy"] = "Never" if restart == "ExitCode" else restart
    env = replica_env(fw, job, specs, rtype, index)
    for container in pod_spec.get("containers") or []:
        if fw is TENSORFLOW and container.get("name") != fw.container:
            continue
        container["env"] = [*(container.get("env") or []), *copy.deepcopy(env)]
        if container.get("name") == fw.container and not any(
            p.get("name") == fw.port_name for p in container.get("ports") or []
        ):
            container["ports"] = [
                *(container.get("ports") or []),
                {"name": fw.port_name, "containerPort": fw.port},
            ]
    pod_meta: Obj = {
        "name": replica_name(str(meta["name"]), rtype, index),
        "namespace": meta.get("namespace") or "default",
        "labels": labels,
        "ownerReferences": [owner_reference(job, API_VERSION, fw.kind)],
    }
    if tmeta.get("annotations"):
        pod_meta["annotations"] = dict(tmeta["annotations"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": pod_spec}


def replica_service(fw: Framework, job: Obj, specs: dict[str, Obj], rtype: str, index: int) -> Obj:
    """The headless Service that gives a replica its DNS name."""
    meta = job["metadata"]
    labels = replica_labels(fw, str(meta["name"]), rtype, index)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": replica_name(str(meta["name"]), rtype, index),
            "namespace": meta.get("namespace") or "default",
            "labels": dict(labels),
            "ownerReferences": [owner_reference(job, API_VERSION, fw.kind)],
        },
        "spec": {"clusterIP": "None", "selector": labels, "ports": replica_ports(fw, specs[rtype])},
    }


# ---------------------------------------------------------------- conditions


def has_true(conditions: Sequence[Obj], ctype: str) -> bool:
    return any(c.get("type") == ctype and c.get("status") == "True" for c in conditions)


def update_condition(
    conditions: Sequence[Obj], ctype: str, status: str, reason: str, message: str, now: str
) -> list[Obj]:
    """The operator's UpdateJobConditions (pkg/util/status.go setCondition, filterOutCondition)."""
    out = [dict(c) for c in conditions]
    if has_true(out, "Failed"):
        return out
    current = next((c for c in out if c.get("type") == ctype), None)
    if current is not None and current.get("status") == status and current.get("reason") == reason:
        return out
    since = (
        current.get("lastTransitionTime") if current is not None and current.get("status") == status else None
    )
    kept: list[Obj] = []
    for c in out:
        if c.get("type") == ctype or {ctype, c.get("type")} == {"Running", "Restarting"}:
            continue
        if ctype in ("Failed", "Succeeded") and c.get("type") == "Running":
            c["status"] = "False"
        kept.append(c)
    new = {
        "type": ctype,
        "status": status,
        "reason": reason,
        "message": message,
        "lastUpdateTime": now,
        "lastTransitionTime": since or now,
    }
    return [*kept, new]


# ---------------------------------------------------------------- the plan


def _is_mine(pod: Obj, uid: str) -> bool:
    ref = controller_ref(pod)
    return ref is not None and ref.get("uid") == uid


def _index(obj: Obj) -> int | None:
    value = ((obj.get("metadata") or {}).get("labels") or {}).get(INDEX_LABEL)
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _rtype_pods(pods: Sequence[Obj], rtype: str) -> list[Obj]:
    return [p for p in pods if (p["metadata"].get("labels") or {}).get(TYPE_LABEL) == rtype.lower()]


def _phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "Pending")


def _exit_code(fw: Framework, pod: Obj) -> int | None:
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        term = (cs.get("state") or {}).get("terminated")
        if cs.get("name") == fw.container and term is not None:
            return int(term.get("exitCode") or 0)
    return None


def _cleanup(
    policy: str, pods: Sequence[Obj], services: Sequence[Obj], finished: bool
) -> tuple[list[Obj], list[Obj]]:
    """DeletePodsAndServices: once finished, cleanPodPolicy decides; before, everything goes."""
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    if finished and policy == "None":
        return [], []
    if finished and policy == "Running":
        live = [p for p in live if _phase(p) in ("Running", "Pending")]
    names = {p["metadata"]["name"] for p in live}
    return live, [
        s for s in services if s["metadata"]["name"] in names and not s["metadata"].get("deletionTimestamp")
    ]


def plan(
    fw: Framework, job: Obj | None, pods: Sequence[Obj], services: Sequence[Obj], *, now: datetime
) -> Plan:
    """What to do for `job` (None: deleted; its Pods and Services go by garbage collection)."""
    if job is None:
        return Plan()
    meta = job["metadata"]
    name, uid = str(meta["name"]), str(meta.get("uid") or "")
    pods = [p for p in pods if _is_mine(p, uid)]
    services = [s for s in services if _is_mine(s, uid)]
    now_text = format_time(now)
    old: Obj = job.get("status") or {}
    status: Obj = copy.deepcopy(old)
    conditions: list[Obj] = list(status.get("conditions") or [])
    events: list[Event] = []
    if not any(c.get("type") == "Created" for c in conditions):
        message = f"{fw.kind} {name} is created."
        conditions = update_condition(conditions, "Created", "True", fw.reason("Created"), message, now_text)
    specs = replica_specs(fw, job)
    policy = run_policy(job)
    clean = str(policy.get("cleanPodPolicy") or "None")

    def done(**kw: Any) -> Plan:
        status["conditions"] = conditions
        write = status if status != old else None
        return Plan(status=write, events=tuple(events), **kw)

    if has_true(conditions, "Succeeded") or has_true(conditions, "Failed"):
        clean_pods, clean_services = _cleanup(clean, pods, services, finished=True)
        if clean_pods:
            for rs in (status.get("replicaStatuses") or {}).values():
                rs.pop("active", None)
        return done(delete_pods=tuple(clean_pods), delete_services=tuple(clean_services))

    # Replica statuses, counted afresh from the Pods (pkg/core/status.go UpdateJobReplicaStatuses).
    counts: dict[str, dict[str, int]] = {}
    for rtype in specs:
        c = {"active": 0, "succeeded": 0, "failed": 0}
        for pod in _rtype_pods(pods, rtype):
            phase = _phase(pod)
            if phase == "Running":
                c["failed" if pod["metadata"].get("deletionTimestamp") else "active"] += 1
            elif phase == "Succeeded":
                c["succeeded"] += 1
            elif phase == "Failed":
                c["failed"] += 1
        counts[rtype] = c
    if not status.get("startTime"):
        status["startTime"] = now_text

    # runPolicy limits: restarts of OnFailure/Always replicas, the active deadline.
    limit = policy.get("backoffLimit")
    failure: str | None = None
    if limit is not None:
        restarts = sum(
            restart_count(p)
            for rtype, spec in specs.items()
            if spec["restartPolicy"] in ("OnFailure", "Always")
            for p in _rtype_pods(pods, rtype)
            if _phase(p) == "Running"
        )
        if restarts >= int(limit):
            failure = f"Job {name} has failed because it has reached the specified backoff limit"
    requeue: float | None = None
    deadline = policy.get("activeDeadlineSeconds")
    started = parse_time(status.get("startTime"))
    if failure is None and deadline is not None and started is not None:
        left = float(deadline) - (now - started).total_seconds()
        if left <= 0:
            failure = f"Job {name} has failed because it was active longer than specified deadline"
        else:
            requeue = left + 0.05
    if failure is not None:
        status.setdefault("completionTime", now_text)
        stop_pods, stop_services = _cleanup(clean, pods, services, finished=False)
        events.append(Event(fw.reason("Failed"), failure))
        conditions = update_condition(conditions, "Failed", "True", fw.reason("Failed"), failure, now_text)
        status["replicaStatuses"] = _replica_statuses(fw, name, specs, counts)
        return done(delete_pods=tuple(stop_pods), delete_services=tuple(stop_services))

    # Reconcile each replica: create what is missing, restart what failed (common/pod.go ReconcilePods).
    create_pods: list[Obj] = []
    create_services: list[Obj] = []
    delete_pods: list[Obj] = []
    service_names = {s["metadata"]["name"] for s in services}
    for rtype, spec in specs.items():
        replicas = int(spec["replicas"])
        mine = _rtype_pods(pods, rtype)
        for pod in mine:
            index = _index(pod)
            if (index is None or index >= replicas) and not pod["metadata"].get("deletionTimestamp"):
                delete_pods.append(pod)
        for index in range(replicas):
            if replica_name(name, rtype, index) not in service_names:
                create_services.append(replica_service(fw, job, specs, rtype, index))
            at = [p for p in mine if _index(p) == index]
            if not at:
                create_pods.append(replica_pod(fw, job, specs, rtype, index))
                continue
            pod = at[0]
            if _phase(pod) != "Failed" or pod["metadata"].get("deletionTimestamp"):
                continue
            status_of = pod.get("status") or {}
            if status_of.get("reason") and not status_of.get("containerStatuses"):
                # The node refused the Pod before any container ran (kubelet admission): a new Pod
                # would be refused the same way, so the job fails instead of restarting it.
                message = (
                    f"{fw.kind} {name} has failed because the node rejected {rtype} replica "
                    f"{pod['metadata']['name']}: {status_of.get('reason')}: {status_of.get('message', '')}"
                )
                events.append(Event(fw.reason("Failed"), message, warning=True))
                status.setdefault("completionTime", now_text)
                conditions = update_condition(
                    conditions, "Failed", "True", fw.reason("Failed"), message, now_text
                )
                continue
            code = _exit_code(fw, pod)
            restart = str(spec["restartPolicy"])
            retryable = restart == "ExitCode" and code is not None and code >= 128
            if retryable or restart in ("OnFailure", "Always"):
                delete_pods.append(pod)
                message = f"job {name} is restarting because {rtype} replica(s) failed."
                events.append(Event(fw.reason("Restarting"), message, warning=True))
                conditions = update_condition(
                    conditions, "Restarting", "True", fw.reason("Restarting"), message, now_text
                )
            elif restart == "ExitCode":
                message = f'job "{name}" is failing because "{rtype}" replica(s) failed.'
                events.append(Event(fw.reason("Failed"), message, warning=True))
                conditions = update_condition(
                    conditions, "Failed", "True", fw.reason("Failed"), message, now_text
                )

    conditions = _job_conditions(fw, job, specs, counts, pods, conditions, status, events, now_text)
    status["replicaStatuses"] = _replica_statuses(fw, name, specs, counts)
    return done(
        delete_pods=tuple(delete_pods),
        create_services=tuple(create_services),
        create_pods=tuple(create_pods),
        requeue_after=requeue,
    )


def _replica_statuses(
    fw: Framework, name: str, specs: dict[str, Obj], counts: dict[str, dict[str, int]]
) -> Obj:
    out: Obj = {}
    for rtype in specs:
        entry: Obj = {k: v for k, v in counts[rtype].items() if v}
        entry["selector"] = selector_text(replica_labels(fw, name, rtype))
        out[rtype] = entry
    return out


def _job_conditions(
    fw: Framework,
    job: Obj,
    specs: dict[str, Obj],
    counts: dict[str, dict[str, int]],
    pods: Sequence[Obj],
    conditions: list[Obj],
    status: Obj,
    events: list[Event],
    now: str,
) -> list[Obj]:
    """Each framework's UpdateJobStatus: Running, Succeeded, Restarting or Failed."""
    meta = job["metadata"]
    name, ns = str(meta["name"]), str(meta.get("namespace") or "default")
    # PyTorch words its messages with the bare name, TF and XGBoost with namespace/name.
    who = name if fw is PYTORCH else f"{ns}/{name}"
    has_master = any(t in specs for t in fw.master_types)
    restarting = next(
        (c for c in conditions if c.get("type") == "Restarting" and c.get("status") == "True"), None
    )

    def succeed() -> None:
        nonlocal conditions
        message = (
            f"{fw.kind} {who} successfully completed."
            if fw is not PYTORCH or not has_master
            else (f"{fw.kind} {who} is successfully completed.")
        )
        if not has_true(conditions, "Succeeded"):
            events.append(Event(fw.reason("Succeeded"), message))
        status.setdefault("completionTime", now)
        conditions = update_condition(conditions, "Succeeded", "True", fw.reason("Succeeded"), message, now)

    def running() -> None:
        nonlocal conditions
        message = f"{fw.kind} {who} is running."
        conditions = update_condition(conditions, "Running", "True", fw.reason("Running"), message, now)

    worker0_done = any(_index(p) == 0 and _phase(p) == "Succeeded" for p in _rtype_pods(pods, "Worker"))
    success_policy = (job.get("spec") or {}).get("successPolicy") or ""
    for rtype, spec in specs.items():
        c = counts[rtype]
        replicas = int(spec["replicas"])
        expected = replicas - c["succeeded"]
        if has_master:
            if rtype in fw.master_types:
                if c["active"] > 0:
                    running()
                if expected == 0:
                    succeed()
        elif rtype == "Worker":
            tf_done = fw is TENSORFLOW and worker0_done and success_policy != "AllWorkers"
            if expected == 0 or tf_done:
                succeed()
            elif c["active"] > 0:
                running()
        if c["failed"] > 0 and (fw is TENSORFLOW or replicas > c["succeeded"] + c["active"]):
            if fw is TENSORFLOW and restarting is not None:
                conditions = update_condition(
                    conditions,
                    "Restarting",
                    "True",
                    str(restarting.get("reason")),
                    str(restarting.get("message")),
                    now,
                )
            elif spec["restartPolicy"] != "Never" and fw is not TENSORFLOW:
                message = f"{fw.kind} {name} is restarting because {c['failed']} {rtype} replica(s) failed."
                conditions = update_condition(
                    conditions, "Restarting", "True", fw.reason("Restarting"), message, now
                )
            elif fw is TENSORFLOW and spec["restartPolicy"] in ("OnFailure", "Always", "ExitCode"):
                continue  # the Pod is being restarted (ReconcilePods set Restarting)
            else:
                message = f"{fw.kind} {who} has failed because {c['failed']} {rtype} replica(s) failed."
                if fw is PYTORCH:
                    message = f"{fw.kind} {name} is failed because {c['failed']} {rtype} replica(s) failed."
                if not has_true(conditions, "Failed"):
                    events.append(Event(fw.reason("Failed"), message))
                status.setdefault("completionTime", now)
                conditions = update_condition(conditions, "Failed", "True", fw.reason("Failed"), message, now)
    return conditions
