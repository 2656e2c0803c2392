"""List-then-watch caches and work queues: the level-triggered plumbing every controller shares.

An `Informer` keeps an up-to-date copy of one resource kind (list, then watch from the list's
resourceVersion, resuming after stream timeouts and relisting on 410 Gone) and tells listeners
about each change. A `Controller` owns a de-duplicating key queue and reconciles one key at a time,
retrying failed keys with backoff, so every reconcile reads the latest cached state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from katib_py.kubeclient import ApiError, KubeClient, Obj, Resource, WatchExpired

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects
Listener = Callable[[str, Obj, Obj | None], None]  # (event type, object, previous object)


def _rv(obj: Obj) -> int:
    value = str((obj.get("metadata") or {}).get("resourceVersion") or "0")
    return int(value) if value.isdigit() else 0


def key_of(obj: Obj) -> Key:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


class Informer:
    """A watched cache of one resource kind."""

    def __init__(self, client: KubeClient, res: Resource) -> None:
        self.client = client
        self.res = res
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
        items, rv = await self.client.list_with_version(self.res)
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
                async for kind, obj in self.client.watch(self.res, resource_version=rv, timeout_seconds=240):
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
            except WatchExpired:
                rv = None
            except Exception as exc:
                attempt += 1
                if not isinstance(exc, ApiError | OSError):
                    log.debug("watch %s failed", self.res.plural, exc_info=True)
                await asyncio.sleep(min(2.0, 0.05 * 2**attempt))
                if attempt > 3:
                    rv = None


class Controller:
    """A reconcile loop over keys; subclasses implement `reconcile(key)`."""

    name = "controller"
    workers = 1

    def __init__(self, client: KubeClient) -> None:
        self.client = client
        self._queue: asyncio.Queue[Key] = asyncio.Queue()
        self._queued: set[Key] = set()
        self._active: set[Key] = set()
        self._dirty: set[Key] = set()
        self._retries: dict[Key, int] = {}
        self._tasks: list[asyncio.Task[Any]] = []
        self._timers: set[asyncio.TimerHandle] = set()

    def enqueue(self, key: Key) -> None:
        if key in self._active:
            self._dirty.add(key)
            return
        if key not in self._queued:
            self._queued.add(key)
            self._queue.put_nowait(key)

    def enqueue_after(self, key: Key, delay: float) -> None:
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle

        def fire() -> None:
            self._timers.discard(handle)
            self.enqueue(key)

        handle = loop.call_later(max(0.0, delay), fire)
        self._timers.add(handle)

    def enqueue_all(self, keys: Iterable[Key]) -> None:
        for key in keys:
            self.enqueue(key)

    async def reconcile(self, key: Key) -> None:
        raise RuntimeError(f"{type(self).__name__} must implement reconcile")

    async def wait_synced(self, informers: Iterable[Informer]) -> None:
        await asyncio.gather(*(i.synced.wait() for i in informers))

    def start(self) -> None:
        for i in range(self.workers):
            self._tasks.append(asyncio.create_task(self._worker(), name=f"{self.name}-{i}"))

    async def stop(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    async def _worker(self) -> None:
        while True:
            key = await self._queue.get()
            self._queued.discard(key)
            self._active.add(key)
            try:
                await self.reconcile(key)
                self._retries.pop(key, None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                n = self._retries.get(key, 0) + 1
                self._retries[key] = n
                level = (
                    logging.DEBUG
                    if isinstance(exc, ApiError) and exc.status in (409, 422)
                    else logging.WARNING
                )
                log.log(
                    level, "%s: reconcile %s failed (%s), retry %d", self.name, key, exc, n, exc_info=n > 5
                )
                self.enqueue_after(key, min(5.0, 0.05 * 2**n))
            finally:
                self._active.discard(key)
                if key in self._dirty:
                    self._dirty.discard(key)
                    self.enqueue(key)


Runnable = Callable[[], Awaitable[None]]
