"""What the three controllers share: the client, the cache, the service clients, config and queues."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any

from katib_py.api.config import KatibConfig, KatibConfigError, default_katib_config, load_katib_config
from katib_py.controller.cache import ObjectCache
from katib_py.controller.kube import Kube
from katib_py.controller.services import Services, core_namespace
from katib_py.controller.telemetry import Events, Metrics
from katib_py.controller.workqueue import WorkQueue
from katib_py.kubeclient import CONFIGMAPS, ApiError, Resource

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Key = tuple[str, str]

KATIB_CONFIG_NAME = "katib-config"
KATIB_CONFIG_KEY = "katib-config.yaml"


class ConfigSource:
    """katib-config's runtime part is read from the ConfigMap on use (briefly cached), as in Katib."""

    def __init__(self, kube: Kube, ttl: float = 2.0) -> None:
        self.kube = kube
        self.ttl = ttl
        self._value: KatibConfig | None = None
        self._read_at = 0.0

    async def get(self) -> KatibConfig:
        if self._value is not None and time.monotonic() - self._read_at < self.ttl:
            return self._value
        cm = await self.kube.get_or_none(CONFIGMAPS, KATIB_CONFIG_NAME, core_namespace())
        text = ((cm or {}).get("data") or {}).get(KATIB_CONFIG_KEY)
        if text is None:
            log.warning(
                "ConfigMap %s/%s not found: using the packaged default", core_namespace(), KATIB_CONFIG_NAME
            )
            value = default_katib_config()
        else:
            try:
                value = load_katib_config(text)
            except KatibConfigError:
                log.exception("katib-config is invalid: using the packaged default")
                value = default_katib_config()
        self._value, self._read_at = value, time.monotonic()
        return value


class Conflict(Exception):
    """An optimistic-concurrency write lost a race: reconcile again from fresh state."""


@dataclass
class Context:
    kube: Kube
    cache: ObjectCache
    services: Services
    events: Events
    metrics: Metrics
    config: ConfigSource
    queues: dict[str, WorkQueue[Key]] = field(default_factory=dict)
    # cache kinds of the job kinds the operator watches (katib-config trialResources)
    watched_jobs: set[str] = field(default_factory=set)
    rng: random.Random = field(default_factory=random.SystemRandom)

    def enqueue(self, kind: str, namespace: str, name: str) -> None:
        queue = self.queues.get(kind)
        if queue is not None:
            queue.add((namespace, name))

    async def write_status(self, kind: Resource, cache_kind: str, obj: Obj, status: Obj) -> Obj:
        """PATCH the status subresource, guarded by the resourceVersion we read; refresh the cache."""
        meta = obj["metadata"]
        patch = {"metadata": {"resourceVersion": meta.get("resourceVersion")}, "status": status}
        try:
            updated = await self.kube.patch(kind, meta["name"], patch, meta.get("namespace"), sub="status")
        except ApiError as exc:
            if exc.status == 409:
                await self.refresh(kind, cache_kind, meta.get("namespace"), meta["name"])
                raise Conflict(str(exc)) from exc
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
        except ApiError as exc:
            if exc.status == 409:
                await self.refresh(kind, cache_kind, meta.get("namespace"), meta["name"])
                raise Conflict(str(exc)) from exc
            raise
        self.cache.observe(cache_kind, updated)
        return updated

    async def refresh(self, kind: Resource, cache_kind: str, namespace: str | None, name: str) -> Obj | None:
        fresh = await self.kube.get_or_none(kind, name, namespace)
        if fresh is not None:
            self.cache.observe(cache_kind, fresh)
        return fresh


def owner_reference(obj: Obj, *, controller: bool = True) -> Obj:
    meta = obj["metadata"]
    return {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "name": meta["name"],
        "uid": meta.get("uid"),
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def strip_volatile(status: Obj | None) -> Obj:
    """A status without the fields that change on every reconcile, to compare for real changes."""
    out = dict(status or {})
    out.pop("lastReconcileTime", None)
    return out
