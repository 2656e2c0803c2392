"""The Job controller's decisions: one pure function from what it observes to what it does.

`plan(job, pods, now=..., memory=...)` reads a Job, the Pods whose controller reference names it,
the time, and what the controller remembers between syncs (`Memory`), and returns a `Plan`: the
status patch that counts newly terminated Pods, the Pods whose tracking finalizer to release, the
Pods to delete and to create, the status to write, the events, and when to look again. It does no
I/O and reads no clock, so every rule is unit-tested without a cluster
(tests/localcluster/node/test_job_plan.py); `job.JobController` reads the informers, calls it and
applies the plan.

The rules are Kubernetes 1.31's (pkg/controller/job/job_controller.go: syncJob, manageJob,
trackJobStatusAndRemoveFinalizers, getNewFinishedPods; indexed_job_utils.go; backoff_utils.go):

- Tracking: Pods are created with the `batch.kubernetes.io/job-tracking` finalizer. A terminated
  Pod is counted exactly once: status.succeeded/failed grow together with its uid in
  status.uncountedTerminatedPods (written first), then its finalizer is removed, then the uncounted
  list is cleared. A Pod deleted before it succeeded counts as failed and is replaced at once
  (podReplacementPolicy TerminatingOrFailed).
- Pods controlled by another Job of the same name (one deleted with orphan propagation) are
  released, never counted.
- Failure: more failed Pods than backoffLimit (default 6), or, for restartPolicy OnFailure, the
  active Pods' container restarts reaching it: BackoffLimitExceeded. Active longer than
  activeDeadlineSeconds since startTime: DeadlineExceeded.
- Success: `completions` succeeded Pods (NonIndexed); every index below `completions` completed
  (Indexed); with no `completions`, any success once no Pod is active.
- Terminal conditions are delayed: FailureTarget / SuccessCriteriaMet first (active Pods are
  deleted), then Failed / Complete with the same reason and message once no Pod is left running
  (completionTime on success).
- suspend: active Pods deleted, Suspended=True, startTime cleared; resuming sets Suspended=False
  (JobResumed).
- Creation: up to `parallelism` active Pods (Indexed: one per missing index, hostname
  `<job>-<index>`, JOB_COMPLETION_INDEX from the annotation), not before an exponential back-off
  from the last counted failure (`backoff_base` doubling per failure, at most 6 minutes).
- Expectations: a Pod this controller created and the informer has not shown yet counts as active
  for up to 30 s, so a slow watch never doubles a Pod.

Not implemented: podFailurePolicy, successPolicy, backoffLimitPerIndex, podReplacementPolicy Failed.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from random import Random
from typing import Any

from katib_py.kube.meta import Condition, Obj, controller_ref, owner_reference, random_suffix, set_condition
from katib_py.kube.rfc3339 import format_time, parse_time

from .pods import pod_is_ready, pod_is_terminal

TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
MSG_COMPLETIONS = "Reached expected number of succeeded pods"
MSG_BACKOFF = "Job has reached the specified backoff limit"
MSG_DEADLINE = "Job was active longer than specified deadline"
DEFAULT_BACKOFF_LIMIT = 6
MAX_BACKOFF = 360.0  # kube-controller-manager's MaxJobPodFailureBackOff (6 min)
EXPECTATION_TTL = 30.0  # seconds a created Pod not yet seen still counts as active
DEADLINE_SLACK = 0.05  # look again just after the deadline, not just before it


@dataclass(frozen=True)
class Memory:
    """What the controller remembers of one Job between syncs (kube: expectations, backoff store)."""

    created: Mapping[str, float] = field(default_factory=dict)  # Pod name -> created at (Unix s)
    last_failure: float | None = None  # when the latest failure was counted (Unix s)

    def with_created(self, name: str, at: float) -> Memory:
        return Memory({**self.created, name: at}, self.last_failure)


@dataclass(frozen=True)
class Event:
    """An event to record on the Job."""

    reason: str
    message: str
    warning: bool = False


@dataclass(frozen=True)
class Plan:
    """What one sync does, in this order: count, release, delete, create, write status, events."""

    count: Obj | None = None  # status patch counting newly terminated Pods (uncountedTerminatedPods)
    release: tuple[Obj, ...] = ()  # Pods whose tracking finalizer to remove, once `count` is written
    delete: tuple[Obj, ...] = ()
    create: tuple[Obj, ...] = ()  # Pod bodies; each success is remembered in `memory`
    status: Obj | None = None  # the status to write last (None: unchanged)
    events: tuple[Event, ...] = ()
    requeue_after: float | None = None  # seconds until the next deadline or back-off ends
    memory: Memory = field(default_factory=Memory)


# ---------------------------------------------------------------- Pods


def is_tracked(pod: Obj) -> bool:
    return TRACKING_FINALIZER in (pod["metadata"].get("finalizers") or [])


def is_failed(pod: Obj) -> bool:
    """Failed, or deleted before it succeeded (it will not succeed any more)."""
    phase = (pod.get("status") or {}).get("phase")
    return phase == "Failed" or (bool(pod["metadata"].get("deletionTimestamp")) and phase != "Succeeded")


def is_succeeded(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") == "Succeeded"


def restart_count(pod: Obj) -> int:
    status = pod.get("status") or {}
    return sum(
        int(c.get("restartCount") or 0)
        for c in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or [])
    )


def pod_index(pod: Obj) -> int | None:
    value = (pod["metadata"].get("annotations") or {}).get(INDEX_ANNOTATION)
    return int(value) if value is not None and str(value).isdigit() else None


def is_job_pod(pod: Obj, job_name: str) -> bool:
    """The Pod's controller reference names a batch Job called `job_name` (of any uid)."""
    ref = controller_ref(pod)
    return ref is not None and ref.get("kind") == "Job" and ref.get("name") == job_name


def releasable_orphan(pod: Obj) -> bool:
    """A Pod with no controller left (its Job deleted with orphan propagation) still tracked."""
    return controller_ref(pod) is None and is_tracked(pod)


# ---------------------------------------------------------------- completed indexes


def format_indexes(indexes: set[int]) -> str:
    """`1,3-5,7`, as status.completedIndexes is written."""
    out: list[str] = []
    ordered = sorted(indexes)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        out.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(out)


def parse_indexes(text: str | None) -> set[int]:
    out: set[int] = set()
    for part in (text or "").split(","):
        if not part:
            continue
        if "-" in part:
            a, b = part.split("-", 1)
            out.update(range(int(a), int(b) + 1))
        else:
            out.add(int(part))
    return out


# ---------------------------------------------------------------- the rules


@dataclass(frozen=True)
class _Counted:
    """Step 1: terminated Pods counted into the status."""

    succeeded: int
    failed: int
    completed: set[int]
    uncounted: set[str]  # uids counted whose finalizer is still to be released
    patch: Obj | None  # None: nothing new to count
    new_failures: bool


def _count(status: Obj, pods: Sequence[Obj], indexed: bool) -> _Counted:
    uncounted = status.get("uncountedTerminatedPods") or {}
    unc_s, unc_f = set(uncounted.get("succeeded") or []), set(uncounted.get("failed") or [])
    completed = parse_indexes(status.get("completedIndexes"))
    new_s: set[str] = set()
    new_f: set[str] = set()
    for pod in pods:
        puid = pod["metadata"]["uid"]
        if not is_tracked(pod) or puid in unc_s or puid in unc_f:
            continue
        if is_succeeded(pod):
            new_s.add(puid)
            index = pod_index(pod)
            if indexed and index is not None:
                completed.add(index)
        elif is_failed(pod):
            new_f.add(puid)
    succeeded = int(status.get("succeeded") or 0) + len(new_s)
    failed = int(status.get("failed") or 0) + len(new_f)
    unc_s |= new_s
    unc_f |= new_f
    patch: Obj | None = None
    if new_s or new_f:
        patch = {
            "succeeded": succeeded or None,
            "failed": failed or None,
            "uncountedTerminatedPods": {"succeeded": sorted(unc_s) or None, "failed": sorted(unc_f) or None},
        }
        if indexed:
            patch["completedIndexes"] = format_indexes(completed)
    return _Counted(succeeded, failed, completed, unc_s | unc_f, patch, bool(new_f))


def backoff_limit(spec: Obj) -> int:
    limit = spec.get("backoffLimit")
    return DEFAULT_BACKOFF_LIMIT if limit is None else int(limit)


def failure(
    spec: Obj, start_time: str | None, failed: int, active: Sequence[Obj], now: datetime
) -> tuple[tuple[str, str] | None, float | None]:
    """(reason, message) when the Job has failed, else None; and seconds left to its deadline."""
    limit = backoff_limit(spec)
    if failed > limit:
        return ("BackoffLimitExceeded", MSG_BACKOFF), None
    if ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy") == "OnFailure":
        restarts = sum(restart_count(p) for p in active)
        if (limit == 0 and restarts > 0) or (limit > 0 and restarts >= limit):
            return ("BackoffLimitExceeded", MSG_BACKOFF), None
    deadline = spec.get("activeDeadlineSeconds")
    started = parse_time(start_time)
    if deadline is not None and started is not None and not spec.get("suspend"):
        elapsed = (now - started).total_seconds()
        if elapsed >= float(deadline):
            return ("DeadlineExceeded", MSG_DEADLINE), None
        return None, float(deadline) - elapsed + DEADLINE_SLACK
    return None, None


def succeeded(spec: Obj, n_succeeded: int, n_active: int, completed: set[int]) -> bool:
    completions = spec.get("completions")
    if spec.get("completionMode") == "Indexed":
        return completions is not None and len(completed) >= int(completions)
    if completions is None:
        return n_succeeded > 0 and n_active == 0
    return n_succeeded >= int(completions)


def indexes_to_create(
    spec: Obj, active: Sequence[Obj], n_active: int, n_succeeded: int, completed: set[int]
) -> list[int | None]:
    """One entry per Pod to create: its completion index (Indexed) or None."""
    parallelism = spec.get("parallelism")
    parallelism = 1 if parallelism is None else int(parallelism)
    completions = spec.get("completions")
    if spec.get("completionMode") == "Indexed" and completions is not None:
        busy = {pod_index(p) for p in active}
        todo = [i for i in range(int(completions)) if i not in completed and i not in busy]
        return list(todo[: max(0, parallelism - n_active)])
    if completions is None:
        wanted = parallelism if n_succeeded == 0 else 0
    else:
        wanted = min(parallelism, int(completions) - n_succeeded)
    return [None] * max(0, wanted - n_active)


def backoff_wait(failed: int, last_failure: float | None, now: float, base: float) -> float:
    """Seconds to wait before creating a replacement Pod (0: create now)."""
    if not failed or last_failure is None:
        return 0.0
    delay = min(base * 2.0 ** min(failed - 1, 32), MAX_BACKOFF)
    return max(0.0, last_failure + delay - now)


def pod_from_template(job: Obj, index: int | None, rng: Random | None = None) -> Obj:
    """The Pod the Job runs next: its template, job labels, controller reference, tracking finalizer."""
    meta = job["metadata"]
    template: Any = copy.deepcopy((job.get("spec") or {}).get("template") or {})
    tmeta = template.get("metadata") or {}
    labels = dict(tmeta.get("labels") or {})
    labels.update(
        {
            "batch.kubernetes.io/controller-uid": meta["uid"],
            "batch.kubernetes.io/job-name": meta["name"],
            "controller-uid": meta["uid"],
            "job-name": meta["name"],
        }
    )
    annotations = dict(tmeta.get("annotations") or {})
    pod_spec = template.get("spec") or {}
    base = f"{meta['name']}-"
    if index is not None:
        labels[INDEX_ANNOTATION] = str(index)
        annotations[INDEX_ANNOTATION] = str(index)
        base = f"{meta['name']}-{index}-"
        pod_spec.setdefault("hostname", f"{meta['name']}-{index}")
        for c in (pod_spec.get("containers") or []) + (pod_spec.get("initContainers") or []):
            c.setdefault("env", []).append(
                {
                    "name": "JOB_COMPLETION_INDEX",
                    "valueFrom": {"fieldRef": {"fieldPath": f"metadata.annotations['{INDEX_ANNOTATION}']"}},
                }
            )
    pod_meta: Obj = {
        "name": base[:57] + random_suffix(5, rng) if len(base) > 57 else base + random_suffix(5, rng),
        "namespace": meta["namespace"],
        "labels": labels,
        "ownerReferences": [owner_reference(job, "batch/v1", "Job")],
        "finalizers": [TRACKING_FINALIZER],
    }
    if annotations:
        pod_meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": pod_spec}


def _true_conditions(conditions: Sequence[Condition]) -> dict[str, Condition]:
    return {str(c.get("type")): c for c in conditions if c.get("status") == "True"}


def status_changed(old: Obj, new: Obj) -> bool:
    """Would writing `new` (a merge patch) change `old`? Unset fields patched to null do not."""
    cleared = {"succeeded": None, "failed": None}
    return any(
        (old.get(k) or {}) != {} if v == cleared else old.get(k) != v
        for k, v in new.items()
        if not (v is None and k not in old)
    )


# ---------------------------------------------------------------- the plan


def plan(
    job: Obj | None,
    pods: Sequence[Obj],
    *,
    now: datetime,
    memory: Memory | None = None,
    backoff_base: float = 10.0,
    rng: Random | None = None,
) -> Plan:
    """What to do for `job` (None: deleted) given the Pods whose controller reference names it.

    `now` is an aware datetime; `memory` is what the previous plan returned, plus the Pods created
    since. `rng` draws the generated Pod names (a seeded one makes them reproducible).
    """
    memory = memory or Memory()
    uid = job["metadata"]["uid"] if job is not None else None
    mine: list[Obj] = []
    strays: list[Obj] = []
    for pod in pods:
        ref = controller_ref(pod)
        if ref is not None and ref.get("uid") == uid:
            mine.append(pod)
        elif is_tracked(pod):
            strays.append(pod)
    if job is None:
        return Plan(release=tuple(strays))

    spec = job.get("spec") or {}
    old_status: Obj = job.get("status") or {}
    now_s = now.timestamp()
    now_text = format_time(now)
    indexed = spec.get("completionMode") == "Indexed"
    conditions: list[Condition] = list(old_status.get("conditions") or [])
    true = _true_conditions(conditions)
    events: list[Event] = []
    waits: list[float] = []

    # 1. Count terminated Pods exactly once; their finalizers go once the count is written.
    counted = _count(old_status, mine, indexed)
    release = strays + [p for p in mine if p["metadata"]["uid"] in counted.uncounted and is_tracked(p)]
    last_failure = now_s if counted.new_failures else memory.last_failure

    live = [p for p in mine if not pod_is_terminal(p)]
    active = [p for p in live if not p["metadata"].get("deletionTimestamp")]
    terminating = [p for p in live if p["metadata"].get("deletionTimestamp")]
    seen = {p["metadata"]["name"] for p in mine}
    expected = {
        name: at for name, at in memory.created.items() if name not in seen and now_s - at <= EXPECTATION_TTL
    }
    n_active = len(active) + len(expected)

    finished = "Complete" in true or "Failed" in true
    start_time: str | None = old_status.get("startTime")
    completion_time: str | None = old_status.get("completionTime")
    if not start_time and not spec.get("suspend") and not finished:
        start_time = now_text

    # 2. Terminal conditions: the target first, the terminal condition once no Pod runs.
    if not finished and "FailureTarget" not in true and "SuccessCriteriaMet" not in true:
        failed_because, deadline_in = failure(spec, start_time, counted.failed, active, now)
        if deadline_in is not None:
            waits.append(deadline_in)
        if failed_because:
            reason, message = failed_because
            conditions = set_condition(conditions, "FailureTarget", "True", reason, message, now=now_text)
            events.append(Event(reason, message, warning=True))
        elif succeeded(spec, counted.succeeded, n_active, counted.completed):
            conditions = set_condition(
                conditions, "SuccessCriteriaMet", "True", "CompletionsReached", MSG_COMPLETIONS, now=now_text
            )
        true = _true_conditions(conditions)

    delete: list[Obj] = []
    create: list[Obj] = []
    if finished or "FailureTarget" in true or "SuccessCriteriaMet" in true:
        delete = active
        if not finished and not live and not expected:
            if "FailureTarget" in true:
                target = true["FailureTarget"]
                reason, message = str(target.get("reason", "")), str(target.get("message", ""))
                conditions = set_condition(conditions, "Failed", "True", reason, message, now=now_text)
                events.append(Event(reason, message, warning=True))
            else:
                conditions = set_condition(
                    conditions, "Complete", "True", "CompletionsReached", MSG_COMPLETIONS, now=now_text
                )
                completion_time = now_text
                events.append(Event("Completed", "Job completed"))
        active, n_active = [], 0
    elif spec.get("suspend"):
        delete = active
        active, n_active = [], 0
        conditions = set_condition(
            conditions, "Suspended", "True", "JobSuspended", "Job suspended", now=now_text
        )
        start_time = None
    else:
        if "Suspended" in true:
            conditions = set_condition(
                conditions, "Suspended", "False", "JobResumed", "Job resumed", now=now_text
            )
        indexes = indexes_to_create(spec, active, n_active, counted.succeeded, counted.completed)
        wait = backoff_wait(counted.failed, last_failure, now_s, backoff_base) if indexes else 0.0
        if wait > 0:
            waits.append(wait)
        else:
            create = [pod_from_template(job, index, rng) for index in indexes]
            n_active += len(create)

    # 3. The status: written when it changes, and always after a count (to clear the uncounted).
    status: Obj = {
        "active": n_active or None,
        "ready": sum(1 for p in active if pod_is_ready(p)),
        "terminating": len(terminating),
        "succeeded": counted.succeeded or None,
        "failed": counted.failed or None,
        "startTime": start_time,
        "conditions": conditions or None,
        "uncountedTerminatedPods": {"succeeded": None, "failed": None},
    }
    if completion_time:
        status["completionTime"] = completion_time
    if indexed:
        status["completedIndexes"] = format_indexes(counted.completed)
    write = counted.patch is not None or status_changed(old_status, status)
    return Plan(
        count=counted.patch,
        release=tuple(release),
        delete=tuple(delete),
        create=tuple(create),
        status=status if write else None,
        events=tuple(events),
        requeue_after=min(waits) if waits else None,
        memory=Memory(expected, last_failure),
    )
