"""A rate-free work queue of object keys, as controller-runtime has: level-triggered reconciles.

A key is queued at most once; a key is processed by one worker at a time, and a key queued while
it is being processed runs again afterwards. `add_after` schedules a retry. Different keys run
concurrently, so one slow experiment never delays another (spec section 0, item 13).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

K = TypeVar("K")
log = logging.getLogger(__name__)


class WorkQueue(Generic[K]):
    def __init__(self, name: str, reconcile: Callable[[K], Awaitable[float | None]], workers: int) -> None:
        """`reconcile(key)` returns seconds after which to run again (None: only on the next event)."""
        self.name = name
        self._reconcile = reconcile
        self._workers = workers
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
        """Run `key` again in `delay` seconds (an earlier event still runs it sooner)."""
        if key in self._timers:
            existing = self._timers[key]
            if existing.when() <= asyncio.get_running_loop().time() + delay:
                return
            existing.cancel()
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(delay, self._fire, key)

    def _fire(self, key: K) -> None:
        self._timers.pop(key, None)
        self.add(key)

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
            except Exception:
                failures = self._failures.get(key, 0) + 1
                self._failures[key] = failures
                delay = min(0.2 * 2 ** min(failures, 8), 30.0)
                log.exception("%s: reconcile of %s failed (retry in %.1fs)", self.name, key, delay)
            finally:
                self._running.discard(key)
            if key in self._dirty:
                self._dirty.discard(key)
                self.add(key)
            elif delay is not None:
                self.add_after(key, delay)
