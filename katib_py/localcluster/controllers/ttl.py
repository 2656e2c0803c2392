"""TTL-after-finished: deletes a finished Job `ttlSecondsAfterFinished` after it finished.

The finish time is the Complete or Failed condition's lastTransitionTime (completionTime as a
fallback); deletion uses background propagation, as Kubernetes' ttl-after-finished controller.
"""

from __future__ import annotations

import time

from katib_py.kube.client import KubeClient, Obj
from katib_py.kube.informer import Informer
from katib_py.kube.meta import Key, get_condition
from katib_py.kube.resource import JOBS
from katib_py.kube.rfc3339 import parse_time
from katib_py.localcluster.controllers.base import Controller


def finished_at(job: Obj) -> float | None:
    for ctype in ("Complete", "Failed"):
        cond = get_condition(job, ctype)
        if cond and cond.get("status") == "True":
            when = parse_time(cond.get("lastTransitionTime")) or parse_time(
                (job.get("status") or {}).get("completionTime")
            )
            return when.timestamp() if when else time.time()
    return None


class TTLAfterFinishedController(Controller):
    name = "ttl-after-finished-controller"

    def __init__(self, client: KubeClient, jobs: Informer) -> None:
        super().__init__(client)
        self.jobs = jobs
        jobs.add_listener(self._on_job)

    def _on_job(self, kind: str, job: Obj, _old: Obj | None) -> None:
        if kind != "DELETED" and (job.get("spec") or {}).get("ttlSecondsAfterFinished") is not None:
            meta = job["metadata"]
            self.enqueue((str(meta.get("namespace") or ""), str(meta["name"])))

    async def reconcile(self, key: Key) -> None:
        job = self.jobs.get(*key)
        if job is None or job["metadata"].get("deletionTimestamp"):
            return
        ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
        done = finished_at(job)
        if ttl is None or done is None:
            return
        remaining = done + float(ttl) - time.time()
        if remaining > 0:
            self.enqueue_after(key, remaining + 0.05)
            return
        await self.client.delete(JOBS, key[1], key[0], propagation="Background", uid=job["metadata"]["uid"])
