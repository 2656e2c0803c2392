"""Change events: a history bounded in count and bytes for resuming watches, and fan-out to live watchers."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
log = logging.getLogger(__name__)

# kube-apiserver's watch cache keeps a window of events per resource and answers 410 Gone for a
# resourceVersion older than it (staging/src/k8s.io/apiserver/pkg/storage/cacher/watch_cache.go).
# Here one history serves every resource, capped by count and by the bytes its objects hold.
DEFAULT_HISTORY_BYTES = 64 * 1024 * 1024


@dataclass(eq=False)
class Change:
    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    rkey: str
    namespace: str
    obj: Obj
    old: Obj | None
    # what the change keeps alive: its object's JSON length, plus the old object's
    nbytes: int = 0
    # encoded watch lines by event type, shared by every watcher that sends the object unchanged
    lines: dict[str, bytes] = field(default_factory=dict)
    retained: bool = False  # still in the hub's history (its lines then count there)


Event = tuple[str, Obj, Change | None]


@dataclass(eq=False)
class Watcher:
    """One live watch. Its queue is bounded in bytes: a watcher that falls that far behind is
    ended (kube's cacher closes an unresponsive watcher) and resumes from the last
    resourceVersion it saw, or is told 410 if the history no longer holds it."""

    rkey: str
    namespace: str | None
    selects: Callable[[Obj], bool]
    queue: asyncio.Queue[Event | None] = field(default_factory=asyncio.Queue)
    max_queued_bytes: int = DEFAULT_HISTORY_BYTES
    queued_bytes: int = 0
    closed: bool = False

    def offer(self, change: Change) -> None:
        if self.closed:
            return
        event = translate(change, self.namespace, self.selects)
        if event is None:
            return
        if self.queued_bytes + change.nbytes > self.max_queued_bytes:
            log.warning("closing a watch of %s that fell %d bytes behind", self.rkey, self.queued_bytes)
            self.close()
            return
        self.queued_bytes += change.nbytes
        self.queue.put_nowait((event[0], event[1], change))

    async def get(self) -> Event | None:
        item = await self.queue.get()
        if item is not None and item[2] is not None:
            self.queued_bytes -= item[2].nbytes
        return item

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)


def translate(
    change: Change, namespace: str | None, selects: Callable[[Obj], bool]
) -> tuple[str, Obj] | None:
    """The event a watcher with this scope/selection sees for a change, kube-style.

    A MODIFIED that moves an object out of the selection is seen as DELETED, into it as ADDED.
    """
    if namespace is not None and change.namespace != namespace:
        return None
    now = selects(change.obj)
    if change.type == "MODIFIED" and change.old is not None:
        before = selects(change.old)
        if now and before:
            return "MODIFIED", change.obj
        if now:
            return "ADDED", change.obj
        if before:
            return "DELETED", change.obj
        return None
    return (change.type, change.obj) if now else None


class WatchHub:
    def __init__(self, history: int, start_rv: int, max_bytes: int = DEFAULT_HISTORY_BYTES) -> None:
        self._history: collections.deque[Change] = collections.deque()
        self._max_count = history
        self.max_bytes = max_bytes
        self.retained_bytes = 0  # objects and encoded lines the history keeps alive
        self._watchers: dict[str, set[Watcher]] = {}
        # Events with rv > compacted_rv are all still in the history.
        self.compacted_rv = start_rv

    def publish(self, change: Change) -> None:
        """Record a committed change and hand it to the watchers; never raises (the write is done)."""
        change.retained = True
        self._history.append(change)
        self.retained_bytes += change.nbytes
        self._trim()
        for watcher in list(self._watchers.get(change.rkey, ())):
            try:
                watcher.offer(change)
            except Exception:
                log.exception("a watch of %s failed on change %d; closing it", change.rkey, change.rv)
                watcher.close()

    def encoded(self, change: Change, kind: str, encode: Callable[[], bytes]) -> bytes:
        """The watch line of `change` as `kind`, encoded once and shared (and counted while retained)."""
        line = change.lines.get(kind)
        if line is None:
            line = change.lines[kind] = encode()
            if change.retained:
                self.retained_bytes += len(line)
                self._trim()
        return line

    def _trim(self) -> None:
        while self._history and (
            len(self._history) > self._max_count or self.retained_bytes > self.max_bytes
        ):
            gone = self._history.popleft()
            gone.retained = False
            self.retained_bytes -= gone.nbytes + sum(len(line) for line in gone.lines.values())
            self.compacted_rv = gone.rv

    def __len__(self) -> int:
        return len(self._history)

    def since(self, rkey: str, rv: int) -> list[Change] | None:
        """Changes after `rv` for rkey, or None when they are no longer all in the history."""
        if rv < self.compacted_rv:
            return None
        return [c for c in self._history if c.rv > rv and c.rkey == rkey]

    def subscribe(self, watcher: Watcher) -> None:
        watcher.max_queued_bytes = self.max_bytes
        self._watchers.setdefault(watcher.rkey, set()).add(watcher)

    def unsubscribe(self, watcher: Watcher) -> None:
        self._watchers.get(watcher.rkey, set()).discard(watcher)

    def close_all(self) -> None:
        for watchers in self._watchers.values():
            for w in watchers:
                w.close()
