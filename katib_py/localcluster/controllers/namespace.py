"""Namespace deletion: delete everything in a Terminating namespace, then finalize it.

When a Namespace has a deletionTimestamp, every namespaced object in it is deleted (background
propagation; objects with finalizers are waited for, e.g. a kopf operator's), and once a live
listing finds nothing left, the `kubernetes` finalizer is removed from spec.finalizers through
the `/finalize` subresource (or a plain patch if the server has no `/finalize`), which lets the
API server remove the Namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from katib_py.kube.client import KubeClient
from katib_py.kube.discovery import discover
from katib_py.kube.errors import ApiError, Conflict, MethodNotAllowed, NotFound
from katib_py.kube.informer import Informer
from katib_py.kube.meta import Key
from katib_py.kube.resource import NAMESPACES
from katib_py.localcluster.controllers.base import Controller

from .garbage_collector import GarbageCollector

log = logging.getLogger(__name__)


class NamespaceController(Controller):
    name = "namespace-controller"

    def __init__(self, client: KubeClient, namespaces: Informer, gc: GarbageCollector) -> None:
        super().__init__(client)
        self.namespaces = namespaces
        self.gc = gc
        namespaces.add_listener(self._on_ns)

    def _on_ns(self, kind: str, ns: object, _old: object) -> None:
        if kind != "DELETED" and isinstance(ns, dict) and ns["metadata"].get("deletionTimestamp"):
            self.enqueue(("", str(ns["metadata"]["name"])))

    async def reconcile(self, key: Key) -> None:
        name = key[1]
        ns = self.namespaces.get("", name)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        remaining = 0
        for info in await discover(self.client):
            res = info.resource
            if not res.namespaced:
                continue
            try:
                items = await self.client.list(res, name)
            except ApiError:
                continue
            for obj in items:
                remaining += 1
                if obj["metadata"].get("deletionTimestamp"):
                    continue
                if "delete" not in info.verbs:
                    continue
                with contextlib.suppress(NotFound, Conflict):
                    await self.client.delete(res, obj["metadata"]["name"], name, propagation="Background")
        if remaining:
            self.enqueue_after(key, 0.3 if remaining < 50 else 1.0)
            return
        await self._finalize(name)

    async def _finalize(self, name: str) -> None:
        ns = await self.client.get_or_none(NAMESPACES, name)
        if ns is None:
            return
        fins = [f for f in (ns.get("spec") or {}).get("finalizers") or [] if f != "kubernetes"]
        body = dict(ns)
        body["spec"] = {**(ns.get("spec") or {}), "finalizers": fins}
        try:
            await self.client.replace(NAMESPACES, body, sub="finalize")
        except (NotFound, MethodNotAllowed) as exc:
            if isinstance(exc, NotFound) and await self.client.get_or_none(NAMESPACES, name) is None:
                return
            await self.client.patch(NAMESPACES, name, {"spec": {"finalizers": fins}})
        await asyncio.sleep(0)
