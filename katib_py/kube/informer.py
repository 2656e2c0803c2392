"""A list-then-watch cache of one resource kind, as client-go's shared informer.

It keeps an up-to-date copy of every object (list, then watch from the list's resourceVersion,
resuming after stream timeouts and relisting on 410 Gone) and tells listeners about each change,
so that controllers reconcile from memory and queue keys on events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from katib_py.kube.client import KubeClient
from katib_py.kube.errors import ApiError, Expired
from katib_py.kube.meta import Key, Obj, key_of
from katib_py.kube.meta import resource_version as _rv
from katib_py.kube.resource import Resource

log = logging.getLogger(__name__)

Listener = Callable[[str, Obj, Obj | None], None]  # (event type, object, previous object)


class Informer:
    """A watched cache of one resource kind: every namespace, or one; every object, or a label's."""

    def __init__(
        self,
        client: KubeClient,
        res: Resource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
    ) -> None:
        self.client = client
        self.res = res
        self.namespace = namespace
        self.label_selector = label_selector
        self.cache: dict[Key, Obj] = {}
        self.listeners: list[Listener] = []
        self.synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def add_listener(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"informer-{self.res.plural}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    def get(self, namespace: str, name: str) -> Obj | None:
        return self.cache.get((namespace, name))

    def items(self, namespace: str | None = None) -> list[Obj]:
        if namespace is None:
            return list(self.cache.values())
        return [o for (ns, _), o in self.cache.items() if ns == namespace]

    def remember(self, obj: Obj) -> None:
        """Write-through after our own write, so the next reconcile never sees an older copy."""
        key = key_of(obj)
        old = self.cache.get(key)
        if old is None or _rv(obj) >= _rv(old):
            self.cache[key] = obj

    def _emit(self, kind: str, obj: Obj, old: Obj | None) -> None:
        for listener in self.listeners:
            try:
                listener(kind, obj, old)
            except Exception:
                log.exception("listener failed for %s %s", self.res.plural, key_of(obj))

    async def _relist(self) -> str:
        items, rv = await self.client.list_with_version(
            self.res, self.namespace, label_selector=self.label_selector
        )
        fresh = {key_of(o): o for o in items}
        for key, old in list(self.cache.items()):
            if key not in fresh:
                del self.cache[key]
                self._emit("DELETED", old, old)
        for key, obj in fresh.items():
            prev = self.cache.get(key)
            self.cache[key] = obj
            if prev is None:
                self._emit("ADDED", obj, None)
            elif prev.get("metadata", {}).get("resourceVersion") != obj.get("metadata", {}).get(
                "resourceVersion"
            ):
                self._emit("MODIFIED", obj, prev)
        self.synced.set()
        return rv

    async def _run(self) -> None:
        attempt = 0
        rv: str | None = None
        while True:
            try:
                if rv is None:
                    rv = await self._relist()
                async for kind, obj in self.client.watch(
                    self.res,
                    self.namespace,
                    resource_version=rv,
                    timeout_seconds=240,
                    label_selector=self.label_selector,
                ):
                    attempt = 0
                    new_rv = (obj.get("metadata") or {}).get("resourceVersion")
                    if new_rv:
                        rv = str(new_rv)
                    if kind == "BOOKMARK":
                        continue
                    key = key_of(obj)
                    old = self.cache.get(key)
                    if kind == "DELETED":
                        self.cache.pop(key, None)
                    elif old is None or _rv(obj) >= _rv(old) or _rv(obj) == 0:
                        self.cache[key] = obj
                    self._emit(kind, obj, old)
            except asyncio.CancelledError:
                raise
            except Expired:
                rv = None
            except Exception as exc:
                attempt += 1
                if not isinstance(exc, ApiError | OSError):
                    log.debug("watch %s failed", self.res.plural, exc_info=True)
                await asyncio.sleep(min(2.0, 0.05 * 2**attempt))
                if attempt > 3:
                    rv = None
