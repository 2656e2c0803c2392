"""Garbage collection by ownerReferences, for every kind the API serves (CRDs included).

It keeps a graph of all objects (one informer per discovered resource, refreshed when CRDs
change) and acts as Kubernetes' garbage collector does:
- background: a dependent whose owners are all gone is deleted (owners re-checked with a live
  GET first, so a just-created owner is never mistaken for a missing one); dangling references
  next to a live owner are removed;
- foreground: an owner being deleted with the `foregroundDeletion` finalizer has its dependents
  deleted (blocking ones in foreground too); the finalizer is removed once no dependent with
  `blockOwnerDeletion` remains;
- orphan: an owner with the `orphan` finalizer has its ownerReference removed from every
  dependent, then the finalizer is removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from dataclasses import dataclass, field

from katib_py.kube.client import KubeClient, Obj
from katib_py.kube.discovery import KindInfo, discover
from katib_py.kube.errors import ApiError, NotFound
from katib_py.kube.informer import Informer
from katib_py.kube.meta import Key
from katib_py.kube.resource import CRDS, Resource
from katib_py.localcluster.controllers.base import Controller

log = logging.getLogger(__name__)

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"


@dataclass
class Node:
    res: Resource
    namespace: str
    name: str
    uid: str
    owners: list[Obj] = field(default_factory=list)
    deleting: bool = False
    finalizers: list[str] = field(default_factory=list)
    resource_version: str = ""


class GarbageCollector(Controller):
    name = "garbage-collector"
    workers = 2

    def __init__(self, client: KubeClient) -> None:
        super().__init__(client)
        self.informers: dict[Resource, Informer] = {}
        self.kinds: dict[tuple[str, str], Resource] = {}  # (apiVersion, kind) -> resource
        self.nodes: dict[str, Node] = {}
        self.dependents: dict[str, set[str]] = {}
        self._crd_informer: Informer | None = None
        self._rediscover = asyncio.Event()
        self._discovery_task: asyncio.Task[None] | None = None

    # -- graph ----------------------------------------------------------------------------------
    def objects_in(self, namespace: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.namespace == namespace]

    def _on_event(self, res: Resource, kind: str, obj: Obj, _old: Obj | None) -> None:
        meta = obj.get("metadata") or {}
        uid = str(meta.get("uid") or "")
        if not uid:
            return
        old = self.nodes.get(uid)
        if old is not None:
            for ref in old.owners:
                self.dependents.get(str(ref.get("uid")), set()).discard(uid)
        if kind == "DELETED":
            self.nodes.pop(uid, None)
            for dep in list(self.dependents.get(uid, ())):
                self.enqueue(("", dep))
            for ref in old.owners if old else meta.get("ownerReferences") or []:
                owner = self.nodes.get(str(ref.get("uid")))
                if owner is not None and owner.deleting:
                    self.enqueue(("", owner.uid))
            return
        node = Node(
            res=res,
            namespace=str(meta.get("namespace") or ""),
            name=str(meta.get("name")),
            uid=uid,
            owners=list(meta.get("ownerReferences") or []),
            deleting=bool(meta.get("deletionTimestamp")),
            finalizers=list(meta.get("finalizers") or []),
            resource_version=str(meta.get("resourceVersion") or ""),
        )
        self.nodes[uid] = node
        for ref in node.owners:
            self.dependents.setdefault(str(ref.get("uid")), set()).add(uid)
        if node.owners or (node.deleting and {FOREGROUND, ORPHAN} & set(node.finalizers)):
            self.enqueue(("", uid))
        if node.deleting:
            for ref in node.owners:
                owner = self.nodes.get(str(ref.get("uid")))
                if owner is not None and owner.deleting:
                    self.enqueue(("", owner.uid))

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        super().start()
        self._discovery_task = asyncio.create_task(self._discovery_loop(), name="gc-discovery")

    async def stop(self) -> None:
        if self._discovery_task is not None:
            self._discovery_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._discovery_task
        for inf in list(self.informers.values()):
            await inf.stop()
        await super().stop()

    async def wait_synced_all(self) -> None:
        while not self.informers:
            await asyncio.sleep(0.05)
        await asyncio.gather(*(i.synced.wait() for i in self.informers.values()))

    async def _discovery_loop(self) -> None:
        attempt = 0
        while True:
            try:
                infos = await discover(self.client)
                self._apply_discovery(infos)
                attempt = 0
                self._rediscover.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._rediscover.wait(), 30)
                await asyncio.sleep(0.3)  # let a CRD's endpoints appear
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                attempt += 1
                log.debug("gc discovery failed: %s", exc)
                await asyncio.sleep(min(2.0, 0.1 * 2**attempt))

    def _apply_discovery(self, infos: list[KindInfo]) -> None:
        for info in infos:
            self.kinds[(info.resource.api_version, info.resource.kind)] = info.resource
            if info.resource in self.informers or info.resource.plural in ("events",):
                continue
            inf = Informer(self.client, info.resource)
            res = info.resource
            inf.add_listener(functools.partial(self._on_event, res))
            if res == CRDS:
                inf.add_listener(lambda *_: self._rediscover.set())
            self.informers[res] = inf
            inf.start()

    # -- decisions --------------------------------------------------------------------------------
    async def _owner_exists(self, ref: Obj, namespace: str) -> bool:
        uid = str(ref.get("uid"))
        node = self.nodes.get(uid)
        if node is not None:
            return True
        res = self.kinds.get((str(ref.get("apiVersion")), str(ref.get("kind"))))
        if res is None:
            return True  # unknown kind: never delete on a guess
        obj = await self.client.get_or_none(res, str(ref.get("name")), namespace if res.namespaced else None)
        return obj is not None and str(obj["metadata"].get("uid")) == uid

    async def reconcile(self, key: Key) -> None:
        uid = key[1]
        node = self.nodes.get(uid)
        if node is None:
            return
        if node.deleting and ORPHAN in node.finalizers:
            await self._orphan_dependents(node)
            return
        if node.deleting and FOREGROUND in node.finalizers:
            await self._delete_dependents_foreground(node)
            return
        if not node.owners or node.deleting:
            return
        present: list[Obj] = []
        absent: list[Obj] = []
        for ref in node.owners:
            (present if await self._owner_exists(ref, node.namespace) else absent).append(ref)
        if not absent:
            return
        if present:
            keep = [r for r in node.owners if r in present]
            with contextlib.suppress(ApiError):
                await self.client.patch(
                    node.res, node.name, {"metadata": {"ownerReferences": keep}}, node.namespace or None
                )
            return
        # Every owner is gone: if one of them is still being deleted in foreground, cascade that way.
        await self.client.delete(
            node.res, node.name, node.namespace or None, propagation="Background", uid=node.uid
        )

    async def _remove_finalizer(self, node: Node, finalizer: str) -> None:
        obj = await self.client.get_or_none(node.res, node.name, node.namespace or None)
        if obj is None or str(obj["metadata"].get("uid")) != node.uid:
            return
        fins = [f for f in obj["metadata"].get("finalizers") or [] if f != finalizer]
        patch = [
            {"op": "test", "path": "/metadata/resourceVersion", "value": obj["metadata"]["resourceVersion"]},
            {"op": "replace", "path": "/metadata/finalizers", "value": fins},
        ]
        await self.client.patch(node.res, node.name, patch, node.namespace or None, patch_type="json")

    async def _orphan_dependents(self, owner: Node) -> None:
        for dep_uid in list(self.dependents.get(owner.uid, ())):
            dep = self.nodes.get(dep_uid)
            if dep is None:
                continue
            keep = [r for r in dep.owners if str(r.get("uid")) != owner.uid]
            with contextlib.suppress(NotFound):
                await self.client.patch(
                    dep.res, dep.name, {"metadata": {"ownerReferences": keep or None}}, dep.namespace or None
                )
        await self._remove_finalizer(owner, ORPHAN)

    async def _delete_dependents_foreground(self, owner: Node) -> None:
        blocking = 0
        for dep_uid in list(self.dependents.get(owner.uid, ())):
            dep = self.nodes.get(dep_uid)
            if dep is None:
                continue
            ref = next((r for r in dep.owners if str(r.get("uid")) == owner.uid), {})
            if ref.get("blockOwnerDeletion"):
                blocking += 1
            if dep.deleting:
                continue
            others = [r for r in dep.owners if str(r.get("uid")) != owner.uid]
            alive = [r for r in others if await self._owner_exists(r, dep.namespace)]
            if alive:
                with contextlib.suppress(ApiError):
                    await self.client.patch(
                        dep.res, dep.name, {"metadata": {"ownerReferences": others}}, dep.namespace or None
                    )
                if ref.get("blockOwnerDeletion"):
                    blocking -= 1
                continue
            policy = "Foreground" if ref.get("blockOwnerDeletion") else "Background"
            await self.client.delete(
                dep.res, dep.name, dep.namespace or None, propagation=policy, uid=dep.uid
            )
        if blocking == 0:
            await self._remove_finalizer(owner, FOREGROUND)
