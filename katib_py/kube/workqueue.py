"""A work queue of object keys, as client-go's: the level-triggered core of every controller.

A key is queued at most once; a key is processed by one worker at a time, and a key queued while
it is being processed runs again afterwards. `reconcile(key)` returns the seconds after which to
run it again (None: only on the next event); `add_after` schedules the same from outside, the
earliest request winning. A failed reconcile is retried with exponential backoff. Different keys
run concurrently, so one slow object never delays another.

The operator (katib_py.controller) and the embedded cluster's controllers
(katib_py.localcluster.controllers) both run on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from katib_py.kube.errors import Conflict, Invalid

K = TypeVar("K")
log = logging.getLogger(__name__)

# Races another writer wins: retried quietly (the next reconcile reads the newer state).
EXPECTED_ERRORS: tuple[type[Exception], ...] = (Conflict, Invalid)


@dataclass(frozen=True)
class Backoff:
    """Retry delay after the n-th failure in a row: `base * 2**n`, at most `cap` seconds."""

    base: float = 0.2
    cap: float = 30.0

    def delay(self, failures: int) -> float:
        return min(self.base * 2.0 ** min(failures, 16), self.cap)


class WorkQueue(Generic[K]):
    def __init__(
        self,
        name: str,
        reconcile: Callable[[K], Awaitable[float | None]],
        workers: int,
        *,
        backoff: Backoff = Backoff(),
    ) -> None:
        self.name = name
        self._reconcile = reconcile
        self._workers = workers
        self._backoff = backoff
        self._queue: asyncio.Queue[K] = asyncio.Queue()
        self._queued: set[K] = set()
        self._running: set[K] = set()
        self._dirty: set[K] = set()
        self._timers: dict[K, asyncio.TimerHandle] = {}
        self._failures: dict[K, int] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def add(self, key: K) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        if key in self._running:
            self._dirty.add(key)
            return
        if key in self._queued:
            return
        self._queued.add(key)
        self._queue.put_nowait(key)

    def add_after(self, key: K, delay: float) -> None:
        """Run `key` again in `delay` seconds (an earlier event or request still runs it sooner)."""
        loop = asyncio.get_running_loop()
        existing = self._timers.get(key)
        if existing is not None:
            if existing.when() <= loop.time() + delay:
                return
            existing.cancel()
        self._timers[key] = loop.call_later(max(0.0, delay), self._fire, key)

    def _fire(self, key: K) -> None:
        self._timers.pop(key, None)
        self.add(key)

    def __len__(self) -> int:
        return len(self._queued)

    def start(self) -> None:
        for i in range(self._workers):
            self._tasks.append(asyncio.create_task(self._work(), name=f"{self.name}-worker-{i}"))

    async def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _work(self) -> None:
        while True:
            key = await self._queue.get()
            self._queued.discard(key)
            self._running.add(key)
            delay: float | None = None
            try:
                delay = await self._reconcile(key)
                self._failures.pop(key, None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures = self._failures.get(key, 0) + 1
                self._failures[key] = failures
                delay = self._backoff.delay(failures)
                if isinstance(exc, EXPECTED_ERRORS):
                    log.debug(
                        "%s: reconcile of %s lost a race (%s); retry in %.2fs", self.name, key, exc, delay
                    )
                else:
                    log.warning(
                        "%s: reconcile of %s failed (retry in %.2fs): %s",
                        self.name,
                        key,
                        delay,
                        exc,
                        exc_info=failures == 1 or failures % 10 == 0,
                    )
            finally:
                self._running.discard(key)
            if key in self._dirty:
                self._dirty.discard(key)
                self.add(key)
            elif delay is not None:
                self.add_after(key, delay)
