"""What the three controllers share: the client, the cache, the service clients, config and queues."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from katib_py.controller.cache import ObjectCache
from katib_py.controller.services import Services
from katib_py.controller.telemetry import Metrics
from katib_py.core.sharding import Shard
from katib_py.kube.client import KubeClient
from katib_py.kube.errors import Conflict
from katib_py.kube.events import EventRecorder
from katib_py.kube.meta import Key, Obj
from katib_py.kube.resource import Resource
from katib_py.kube.workqueue import WorkQueue
from katib_py.settings import KatibConfigSource, Settings


@dataclass
class Context:
    kube: KubeClient
    settings: Settings
    cache: ObjectCache
    services: Services
    events: EventRecorder
    metrics: Metrics
    config: KatibConfigSource
    queues: dict[str, WorkQueue[Key]] = field(default_factory=dict)
    # cache kinds of the job kinds the operator watches (katib-config trialResources)
    watched_jobs: set[str] = field(default_factory=set)
    rng: random.Random = field(default_factory=random.SystemRandom)
    # the Experiments this replica owns (all of them unless the operator is sharded)
    shard: Shard = field(default_factory=Shard)

    def enqueue(self, kind: str, namespace: str, name: str, batch: float = 0.0) -> None:
        """Queue a reconcile; with `batch` seconds, the changes arriving meanwhile share it."""
        queue = self.queues.get(kind)
        if queue is not None and batch > 0:
            queue.add_after((namespace, name), batch)
        elif queue is not None:
            queue.add((namespace, name))

    async def write_status(self, kind: Resource, cache_kind: str, obj: Obj, status: Obj) -> Obj:
        """PATCH the status subresource, guarded by the resourceVersion we read; refresh the cache."""
        meta = obj["metadata"]
        patch = {"metadata": {"resourceVersion": meta.get("resourceVersion")}, "status": status}
        try:
            updated = await self.kube.patch(kind, meta["name"], patch, meta.get("namespace"), sub="status")
        except Conflict:
            await self.refresh(kind, cache_kind, meta.get("namespace"), meta["name"])
            raise
        self.cache.observe(cache_kind, updated)
        return updated

    async def patch_object(self, kind: Resource, cache_kind: str, obj: Obj, patch: Obj) -> Obj:
        """A merge PATCH of the main resource, guarded by resourceVersion; refresh the cache."""
        meta = obj["metadata"]
        body = {
            **patch,
            "metadata": {**(patch.get("metadata") or {}), "resourceVersion": meta.get("resourceVersion")},
        }
        try:
            updated = await self.kube.patch(kind, meta["name"], body, meta.get("namespace"))
        except Conflict:
            await self.refresh(kind, cache_kind, meta.get("namespace"), meta["name"])
            raise
        self.cache.observe(cache_kind, updated)
        return updated

    async def refresh(self, kind: Resource, cache_kind: str, namespace: str | None, name: str) -> Obj | None:
        fresh = await self.kube.get_or_none(kind, name, namespace)
        if fresh is not None:
            self.cache.observe(cache_kind, fresh)
        return fresh


def strip_volatile(status: Obj | None) -> Obj:
    """A status without the fields that change on every reconcile, to compare for real changes."""
    out = dict(status or {})
    out.pop("lastReconcileTime", None)
    return out
