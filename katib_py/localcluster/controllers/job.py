"""The batch/v1 Job controller: reads the informers, asks `job_plan.plan` what to do, does it.

Every decision (Kubernetes 1.31 Job semantics: tracking finalizers, backoffLimit,
activeDeadlineSeconds, completions/parallelism, Indexed mode, suspend, FailureTarget /
SuccessCriteriaMet before Failed / Complete) lives in `job_plan`, a pure function. This loop only
reads the Job and its Pods, keeps the controller's memory between syncs (Pods created but not seen
yet, the last counted failure), and applies the plan in the order the tracking protocol needs:
count (status with uncountedTerminatedPods), release finalizers, delete, create, write the status,
record events, look again later (Kubernetes: pkg/controller/job/job_controller.go).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from katib_py.kube.client import KubeClient, Obj
from katib_py.kube.errors import ApiError, Conflict, Invalid, NotFound
from katib_py.kube.informer import Informer
from katib_py.kube.meta import Key, controller_ref, key_of
from katib_py.kube.resource import JOBS, PODS
from katib_py.localcluster.controllers.base import Controller

from . import job_plan
from .job_plan import TRACKING_FINALIZER, Memory, Plan

log = logging.getLogger(__name__)

ORPHAN_KEY_PREFIX = "pod:"  # queue keys for orphaned Pods; ":" never occurs in a Job name


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
        self._memory: dict[Key, tuple[str, Memory]] = {}  # job key -> (job uid, its memory)
        jobs.add_listener(lambda _t, obj, _o: self.enqueue(key_of(obj)))
        pods.add_listener(self._on_pod)

    def _on_pod(self, kind: str, pod: Obj, _old: Obj | None) -> None:
        ns = str(pod["metadata"].get("namespace") or "")
        ref = controller_ref(pod)
        if ref and ref.get("kind") == "Job" and str(ref.get("apiVersion", "")).startswith("batch/"):
            self.enqueue((ns, str(ref.get("name"))))
        elif kind != "DELETED" and job_plan.is_tracked(pod):
            # An orphaned Pod (its Job deleted with orphan propagation): release it.
            self.enqueue((ns, ORPHAN_KEY_PREFIX + str(pod["metadata"]["name"])))

    async def reconcile(self, key: Key) -> None:
        ns, name = key
        if name.startswith(ORPHAN_KEY_PREFIX):
            pod = self.pods.get(ns, name[len(ORPHAN_KEY_PREFIX) :])
            if pod is not None and job_plan.releasable_orphan(pod):
                await self._remove_finalizer(pod)
            return
        job = self.jobs.get(ns, name)
        pods = [p for p in self.pods.items(ns) if job_plan.is_job_pod(p, name)]
        memory = self._recall(key, job)
        plan = job_plan.plan(job, pods, now=datetime.now(UTC), memory=memory, backoff_base=self.backoff_base)
        await self._apply(key, job, plan)

    def _recall(self, key: Key, job: Obj | None) -> Memory | None:
        if job is None:
            self._memory.pop(key, None)
            return None
        uid, memory = self._memory.get(key, ("", Memory()))
        return memory if uid == job["metadata"]["uid"] else None

    def _remember(self, key: Key, job: Obj, memory: Memory) -> None:
        self._memory[key] = (job["metadata"]["uid"], memory)

    async def _apply(self, key: Key, job: Obj | None, plan: Plan) -> None:
        if job is not None:
            self._remember(key, job, plan.memory)
            if plan.count is not None:
                job = await self._write_status(job, plan.count)
        await asyncio.gather(*(self._remove_finalizer(p) for p in plan.release))
        if job is None:
            return
        if plan.delete:
            await self._delete_pods(plan.delete)
        memory = plan.memory
        for pod in plan.create:
            try:
                made = await self.client.create(PODS, pod, job["metadata"]["namespace"])
            except ApiError as exc:
                log.warning("job %s: cannot create pod: %s", job["metadata"]["name"], exc)
                await self.events.record(job, "FailedCreate", f"Error creating: {exc}", warning=True)
                raise
            memory = memory.with_created(made["metadata"]["name"], time.time())
            self._remember(key, job, memory)
            await self.events.record(job, "SuccessfulCreate", f"Created pod: {made['metadata']['name']}")
        if plan.status is not None:
            job = await self._write_status(job, plan.status)
        for event in plan.events:
            await self.events.record(job, event.reason, event.message, warning=event.warning)
        if plan.requeue_after is not None:
            self.enqueue_after(key, plan.requeue_after)

    async def _remove_finalizer(self, pod: Obj) -> None:
        """Drop the tracking finalizer, guarded by the Pod's resourceVersion; retried on a conflict."""
        while True:
            meta = pod["metadata"]
            fins = [f for f in meta.get("finalizers") or [] if f != TRACKING_FINALIZER]
            patch = [
                {"op": "test", "path": "/metadata/resourceVersion", "value": meta["resourceVersion"]},
                {"op": "replace", "path": "/metadata/finalizers", "value": fins},
            ]
            try:
                await self.client.patch(PODS, meta["name"], patch, meta["namespace"], patch_type="json")
                return
            except NotFound:
                return
            except (Conflict, Invalid):
                pass
            fresh = await self.client.get_or_none(PODS, meta["name"], meta["namespace"])
            if fresh is None or not job_plan.is_tracked(fresh):
                return
            pod = fresh

    async def _delete_pods(self, pods: tuple[Obj, ...]) -> None:
        await asyncio.gather(
            *(self.client.delete(PODS, p["metadata"]["name"], p["metadata"]["namespace"]) for p in pods),
            return_exceptions=True,
        )

    async def _write_status(self, job: Obj, status: Obj) -> Obj:
        """Status merge-patch guarded by the resourceVersion we decided on (409 if stale)."""
        meta = job["metadata"]
        body = {"metadata": {"resourceVersion": meta["resourceVersion"]}, "status": status}
        fresh = await self.client.patch_status(JOBS, meta["name"], body, meta["namespace"])
        self.jobs.remember(fresh)
        return fresh
