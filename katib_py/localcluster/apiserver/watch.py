"""Change events: a bounded history for resuming watches, and fan-out to live watchers."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]


@dataclass
class Change:
    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    rkey: str
    namespace: str
    obj: Obj
    old: Obj | None
    # encoded watch lines by event type, shared by every watcher that sends the object unchanged
    lines: dict[str, bytes] = field(default_factory=dict)


Event = tuple[str, Obj, Change | None]


@dataclass(eq=False)
class Watcher:
    rkey: str
    namespace: str | None
    selects: Callable[[Obj], bool]
    queue: asyncio.Queue[Event | None] = field(default_factory=asyncio.Queue)

    def offer(self, change: Change) -> None:
        event = translate(change, self.namespace, self.selects)
        if event is not None:
            self.queue.put_nowait((event[0], event[1], change))


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
    def __init__(self, history: int, start_rv: int) -> None:
        self._history: collections.deque[Change] = collections.deque(maxlen=history)
        self._watchers: dict[str, set[Watcher]] = {}
        # Events with rv > compacted_rv are all still in the history.
        self.compacted_rv = start_rv

    def publish(self, change: Change) -> None:
        if len(self._history) == self._history.maxlen:
            self.compacted_rv = self._history[0].rv
        self._history.append(change)
        for watcher in self._watchers.get(change.rkey, ()):
            watcher.offer(change)

    def since(self, rkey: str, rv: int) -> list[Change] | None:
        """Changes after `rv` for rkey, or None when they are no longer all in the history."""
        if rv < self.compacted_rv:
            return None
        return [c for c in self._history if c.rv > rv and c.rkey == rkey]

    def subscribe(self, watcher: Watcher) -> None:
        self._watchers.setdefault(watcher.rkey, set()).add(watcher)

    def unsubscribe(self, watcher: Watcher) -> None:
        self._watchers.get(watcher.rkey, set()).discard(watcher)

    def close_all(self) -> None:
        for watchers in self._watchers.values():
            for w in watchers:
                w.queue.put_nowait(None)
