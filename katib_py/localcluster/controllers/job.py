"""The batch/v1 Job controller, with Kubernetes 1.31 semantics.

Pods are created from the template with the job labels, a controlling ownerReference
(blockOwnerDeletion) and the `batch.kubernetes.io/job-tracking` finalizer; each terminated Pod
is counted exactly once into status.succeeded/failed through `uncountedTerminatedPods`, then its
finalizer is removed (as the real controller tracks Pods). A deleted, not-yet-succeeded Pod
counts as failed and is replaced at once (podReplacementPolicy TerminatingOrFailed).

Terminal conditions are delayed as in 1.31: `SuccessCriteriaMet` / `FailureTarget` first, then,
once no Pod is left running, `Complete` / `Failed` with the same reason and message
(CompletionsReached, BackoffLimitExceeded, DeadlineExceeded). Failed Pods are replaced after an
exponential back-off (base 10 s, as kube-controller-manager; configurable here). For
restartPolicy OnFailure the kubelet restarts containers and their restart counts go against
backoffLimit. NonIndexed and Indexed completion modes; `suspend` is honoured.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from typing import Any

from katib_py.kube.client import KubeClient, Obj
from katib_py.kube.errors import ApiError
from katib_py.kube.informer import Informer
from katib_py.kube.meta import Condition, Key, controller_ref, owner_reference, random_suffix, set_condition
from katib_py.kube.resource import JOBS, PODS
from katib_py.kube.rfc3339 import now_time, parse_time
from katib_py.localcluster.controllers.base import Controller

from .pods import pod_is_ready, pod_is_terminal

log = logging.getLogger(__name__)

TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
ORPHAN_KEY_PREFIX = "pod:"  # queue keys for orphaned Pods; ":" never occurs in a Job name
MSG_COMPLETIONS = "Reached expected number of succeeded pods"
MSG_BACKOFF = "Job has reached the specified backoff limit"
MSG_DEADLINE = "Job was active longer than specified deadline"


def _is_failed(pod: Obj) -> bool:
    phase = (pod.get("status") or {}).get("phase")
    return phase == "Failed" or (bool(pod["metadata"].get("deletionTimestamp")) and phase != "Succeeded")


def _restart_count(pod: Obj) -> int:
    status = pod.get("status") or {}
    return sum(
        int(c.get("restartCount") or 0)
        for c in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or [])
    )


def _format_indexes(indexes: set[int]) -> str:
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


def _parse_indexes(text: str | None) -> set[int]:
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


def _pod_index(pod: Obj) -> int | None:
    value = (pod["metadata"].get("annotations") or {}).get(INDEX_ANNOTATION)
    return int(value) if value is not None and str(value).isdigit() else None


class JobController(Controller):
    name = "job-controller"
    workers = 2

    def __init__(
        self, client: KubeClient, jobs: Informer, pods: Informer, *, backoff_base: float = 10.0
    ) -> None:
        super().__init__(client)
        self.jobs = jobs
        self.pods = pods
        self.backoff_base = backoff_base
        self._expect: dict[str, dict[str, float]] = {}  # job uid -> pod names created, not yet seen
        self._last_failure: dict[str, float] = {}
        jobs.add_listener(lambda _t, obj, _o: self.enqueue(self._key(obj)))
        pods.add_listener(self._on_pod)

    @staticmethod
    def _key(obj: Obj) -> Key:
        meta = obj["metadata"]
        return str(meta.get("namespace") or ""), str(meta["name"])

    def _on_pod(self, kind: str, pod: Obj, _old: Obj | None) -> None:
        ns = str(pod["metadata"].get("namespace") or "")
        ref = controller_ref(pod)
        if ref and ref.get("kind") == "Job" and str(ref.get("apiVersion", "")).startswith("batch/"):
            self.enqueue((ns, str(ref.get("name"))))
        elif kind != "DELETED" and TRACKING_FINALIZER in (pod["metadata"].get("finalizers") or []):
            # An orphaned Pod (its Job deleted with orphan propagation): release it.
            self.enqueue((ns, ORPHAN_KEY_PREFIX + str(pod["metadata"]["name"])))

    def _job_pods(self, ns: str, name: str) -> list[Obj]:
        out = []
        for pod in self.pods.items(ns):
            ref = controller_ref(pod)
            if ref and ref.get("kind") == "Job" and ref.get("name") == name:
                out.append(pod)
        return out

    async def _remove_finalizer(self, pod: Obj) -> None:
        fins = [f for f in pod["metadata"].get("finalizers") or [] if f != TRACKING_FINALIZER]
        patch = [
            {"op": "test", "path": "/metadata/resourceVersion", "value": pod["metadata"]["resourceVersion"]},
            {"op": "replace", "path": "/metadata/finalizers", "value": fins},
        ]
        try:
            await self.client.patch(
                PODS, pod["metadata"]["name"], patch, pod["metadata"]["namespace"], patch_type="json"
            )
        except ApiError as exc:
            if exc.status == 404:
                return
            if exc.status in (409, 422):
                fresh = await self.client.get_or_none(
                    PODS, pod["metadata"]["name"], pod["metadata"]["namespace"]
                )
                if fresh and TRACKING_FINALIZER in (fresh["metadata"].get("finalizers") or []):
                    await self._remove_finalizer(fresh)
                return
            raise

    async def _delete_pods(self, pods: list[Obj]) -> None:
        await asyncio.gather(
            *(self.client.delete(PODS, p["metadata"]["name"], p["metadata"]["namespace"]) for p in pods),
            return_exceptions=True,
        )

    async def reconcile(self, key: Key) -> None:
        ns, name = key
        if name.startswith(ORPHAN_KEY_PREFIX):
            pod = self.pods.get(ns, name[len(ORPHAN_KEY_PREFIX) :])
            if pod is not None and controller_ref(pod) is None:
                await self._remove_finalizer(pod)
            return
        job = self.jobs.get(ns, name)
        all_pods = self._job_pods(ns, name)
        uid = job["metadata"]["uid"] if job else None
        orphans = [p for p in all_pods if controller_ref(p).get("uid") != uid]  # type: ignore[union-attr]
        for pod in orphans:
            if TRACKING_FINALIZER in (pod["metadata"].get("finalizers") or []):
                await self._remove_finalizer(pod)
        if job is None:
            return
        pods = [p for p in all_pods if p not in orphans]
        await self._sync(job, pods)

    async def _sync(self, job: Obj, pods: list[Obj]) -> None:
        meta, spec = job["metadata"], job.get("spec") or {}
        status: Obj = copy.deepcopy(job.get("status") or {})
        uid = meta["uid"]
        conditions: list[Condition] = status.get("conditions") or []
        cond = {c.get("type"): c for c in conditions if c.get("status") == "True"}
        indexed = spec.get("completionMode") == "Indexed"

        # 1. Count terminated Pods exactly once, then release their tracking finalizers.
        uncounted = status.get("uncountedTerminatedPods") or {}
        unc_s, unc_f = set(uncounted.get("succeeded") or []), set(uncounted.get("failed") or [])
        new_s, new_f = [], []
        completed = _parse_indexes(status.get("completedIndexes"))
        for pod in pods:
            puid = pod["metadata"]["uid"]
            if TRACKING_FINALIZER not in (pod["metadata"].get("finalizers") or []) or puid in unc_s | unc_f:
                continue
            if (pod.get("status") or {}).get("phase") == "Succeeded":
                new_s.append(puid)
                idx = _pod_index(pod)
                if indexed and idx is not None:
                    completed.add(idx)
            elif _is_failed(pod):
                new_f.append(puid)
        if new_s or new_f:
            status["succeeded"] = int(status.get("succeeded") or 0) + len(new_s)
            status["failed"] = int(status.get("failed") or 0) + len(new_f)
            status["uncountedTerminatedPods"] = {
                "succeeded": sorted(unc_s | set(new_s)) or None,
                "failed": sorted(unc_f | set(new_f)) or None,
            }
            if new_f:
                self._last_failure[uid] = time.monotonic()
            patch: Obj = {
                "succeeded": status["succeeded"] or None,
                "failed": status["failed"] or None,
                "uncountedTerminatedPods": status["uncountedTerminatedPods"],
            }
            if indexed:
                patch["completedIndexes"] = _format_indexes(completed)
                status["completedIndexes"] = patch["completedIndexes"]
            job = await self._write_status(job, patch)
            unc_s, unc_f = unc_s | set(new_s), unc_f | set(new_f)
        pending = unc_s | unc_f
        if pending:
            await asyncio.gather(
                *(
                    self._remove_finalizer(p)
                    for p in pods
                    if p["metadata"]["uid"] in pending
                    and TRACKING_FINALIZER in (p["metadata"].get("finalizers") or [])
                )
            )
            status["uncountedTerminatedPods"] = {}

        succeeded = int(status.get("succeeded") or 0)
        failed = int(status.get("failed") or 0)
        live = [p for p in pods if not pod_is_terminal(p)]
        active = [p for p in live if not p["metadata"].get("deletionTimestamp")]
        terminating = [p for p in live if p["metadata"].get("deletionTimestamp")]
        expected = self._expect.setdefault(uid, {})
        seen = {p["metadata"]["name"] for p in pods}
        for pname in list(expected):
            if pname in seen or time.monotonic() - expected[pname] > 30:
                expected.pop(pname)
        n_active = len(active) + len(expected)

        finished = "Complete" in cond or "Failed" in cond
        if not status.get("startTime") and not spec.get("suspend") and not finished:
            status["startTime"] = now_time()

        # 2. Decide terminal conditions.
        if not finished and "FailureTarget" not in cond and "SuccessCriteriaMet" not in cond:
            failure = self._failure(job, spec, status, failed, active)
            if failure:
                conditions = set_condition(
                    conditions, "FailureTarget", "True", failure[0], failure[1], now=now_time()
                )
                await self.events.record(job, failure[0], failure[1], warning=True)
            elif self._succeeded(spec, succeeded, n_active, completed):
                conditions = set_condition(
                    conditions,
                    "SuccessCriteriaMet",
                    "True",
                    "CompletionsReached",
                    MSG_COMPLETIONS,
                    now=now_time(),
                )
            cond = {c.get("type"): c for c in conditions if c.get("status") == "True"}

        if finished or "FailureTarget" in cond or "SuccessCriteriaMet" in cond:
            if active:
                await self._delete_pods(active)
            if not finished and not live and not expected:
                if "FailureTarget" in cond:
                    t = cond["FailureTarget"]
                    conditions = set_condition(
                        conditions, "Failed", "True", t["reason"], t.get("message", ""), now=now_time()
                    )
                    await self.events.record(job, t["reason"], t.get("message", ""), warning=True)
                else:
                    conditions = set_condition(
                        conditions, "Complete", "True", "CompletionsReached", MSG_COMPLETIONS, now=now_time()
                    )
                    status["completionTime"] = now_time()
                    await self.events.record(job, "Completed", "Job completed")
            n_active = 0
            active = []
        elif spec.get("suspend"):
            if active:
                await self._delete_pods(active)
            active, n_active = [], 0
            conditions = set_condition(
                conditions, "Suspended", "True", "JobSuspended", "Job suspended", now=now_time()
            )
            status["startTime"] = None
        else:
            if any(c.get("type") == "Suspended" and c.get("status") == "True" for c in conditions):
                conditions = set_condition(
                    conditions, "Suspended", "False", "JobResumed", "Job resumed", now=now_time()
                )
            n_active += await self._create_pods(job, spec, status, active, expected, succeeded, completed)

        # 3. Write status.
        new_status: Obj = {
            "active": n_active or None,
            "ready": sum(1 for p in active if pod_is_ready(p)),
            "terminating": len(terminating),
            "succeeded": succeeded or None,
            "failed": failed or None,
            "startTime": status.get("startTime"),
            "conditions": conditions or None,
            "uncountedTerminatedPods": {"succeeded": None, "failed": None},
        }
        if status.get("completionTime"):
            new_status["completionTime"] = status["completionTime"]
        if indexed:
            new_status["completedIndexes"] = _format_indexes(completed)
        old = job.get("status") or {}
        cleared = {"succeeded": None, "failed": None}
        if any(
            (old.get(k) or {}) != {} if v == cleared else old.get(k) != v
            for k, v in new_status.items()
            if not (v is None and k not in old)
        ):
            await self._write_status(job, new_status)

    async def _write_status(self, job: Obj, status: Obj) -> Obj:
        """Status merge-patch guarded by the resourceVersion we decided on (409 if stale)."""
        meta = job["metadata"]
        body = {"metadata": {"resourceVersion": meta["resourceVersion"]}, "status": status}
        fresh = await self.client.patch_status(JOBS, meta["name"], body, meta["namespace"])
        self.jobs.remember(fresh)
        return fresh

    def _failure(
        self, job: Obj, spec: Obj, status: Obj, failed: int, active: list[Obj]
    ) -> tuple[str, str] | None:
        limit = spec.get("backoffLimit")
        limit = 6 if limit is None else int(limit)
        if failed > limit:
            return "BackoffLimitExceeded", MSG_BACKOFF
        if ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy") == "OnFailure":
            restarts = sum(_restart_count(p) for p in active)
            if (limit == 0 and restarts > 0) or (limit > 0 and restarts >= limit):
                return "BackoffLimitExceeded", MSG_BACKOFF
        deadline = spec.get("activeDeadlineSeconds")
        started = parse_time(status.get("startTime"))
        if deadline is not None and started is not None and not spec.get("suspend"):
            elapsed = time.time() - started.timestamp()
            if elapsed >= float(deadline):
                return "DeadlineExceeded", MSG_DEADLINE
            self.enqueue_after(self._key(job), float(deadline) - elapsed + 0.05)
        return None

    @staticmethod
    def _succeeded(spec: Obj, succeeded: int, n_active: int, completed: set[int]) -> bool:
        completions = spec.get("completions")
        if spec.get("completionMode") == "Indexed":
            return completions is not None and len(completed) >= int(completions)
        if completions is None:
            return succeeded > 0 and n_active == 0
        return succeeded >= int(completions)

    async def _create_pods(
        self,
        job: Obj,
        spec: Obj,
        status: Obj,
        active: list[Obj],
        expected: dict[str, float],
        succeeded: int,
        completed: set[int],
    ) -> int:
        parallelism = spec.get("parallelism")
        parallelism = 1 if parallelism is None else int(parallelism)
        completions = spec.get("completions")
        n_active = len(active) + len(expected)
        indexes: list[int | None]
        if spec.get("completionMode") == "Indexed" and completions is not None:
            busy = {_pod_index(p) for p in active}
            todo = [i for i in range(int(completions)) if i not in completed and i not in busy]
            indexes = list(todo[: max(0, parallelism - n_active)])
        else:
            if completions is None:
                wanted = parallelism if succeeded == 0 else 0
            else:
                wanted = min(parallelism, int(completions) - succeeded)
            indexes = [None] * max(0, wanted - n_active)
        if not indexes:
            return 0
        failed = int(status.get("failed") or 0)
        uid = job["metadata"]["uid"]
        last = self._last_failure.get(uid)
        if failed and last is not None:
            delay = min(self.backoff_base * 2 ** (failed - 1), 360.0)
            wait = last + delay - time.monotonic()
            if wait > 0:
                self.enqueue_after(self._key(job), wait)
                return 0
        created = 0
        for index in indexes:
            pod = self._pod_from_template(job, index)
            try:
                made = await self.client.create(PODS, pod, job["metadata"]["namespace"])
            except ApiError as exc:
                log.warning("job %s: cannot create pod: %s", job["metadata"]["name"], exc)
                await self.events.record(job, "FailedCreate", f"Error creating: {exc}", warning=True)
                raise
            expected[made["metadata"]["name"]] = time.monotonic()
            created += 1
            await self.events.record(job, "SuccessfulCreate", f"Created pod: {made['metadata']['name']}")
        return created

    @staticmethod
    def _pod_from_template(job: Obj, index: int | None) -> Obj:
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
                        "valueFrom": {
                            "fieldRef": {"fieldPath": f"metadata.annotations['{INDEX_ANNOTATION}']"}
                        },
                    }
                )
        pod_meta: Obj = {
            "name": base[:57] + random_suffix(5) if len(base) > 57 else base + random_suffix(5),
            "namespace": meta["namespace"],
            "labels": labels,
            "ownerReferences": [owner_reference(job, "batch/v1", "Job")],
            "finalizers": [TRACKING_FINALIZER],
        }
        if annotations:
            pod_meta["annotations"] = annotations
        return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": pod_spec}
