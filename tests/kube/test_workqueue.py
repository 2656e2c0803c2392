"""The work queue every controller runs on, the operator's and the embedded cluster's alike."""

from __future__ import annotations

import asyncio
import logging

import pytest

from katib_py.kube.errors import Conflict
from katib_py.kube.workqueue import Backoff, WorkQueue


async def test_queue_runs_a_key_once_at_a_time_and_reruns_when_dirty() -> None:
    running: set[str] = set()
    overlaps = 0
    calls: list[str] = []
    release = asyncio.Event()

    async def reconcile(key: str) -> float | None:
        nonlocal overlaps
        if key in running:
            overlaps += 1
        running.add(key)
        calls.append(key)
        if len(calls) == 1:
            await release.wait()
        running.discard(key)
        return None

    queue: WorkQueue[str] = WorkQueue("t", reconcile, workers=4)
    queue.start()
    queue.add("a")
    await asyncio.sleep(0.01)
    queue.add("a")  # while "a" runs: marked dirty, runs again afterwards
    queue.add("a")
    queue.add("b")  # another key runs meanwhile
    await asyncio.sleep(0.01)
    assert calls == ["a", "b"]
    release.set()
    await asyncio.sleep(0.05)
    assert calls == ["a", "b", "a"]
    assert overlaps == 0
    await queue.stop()


async def test_queue_requeues_after_delay_and_retries_failures() -> None:
    calls: list[str] = []

    async def reconcile(key: str) -> float | None:
        calls.append(key)
        if len(calls) == 1:
            return 0.02
        if len(calls) == 2:
            raise RuntimeError("boom")
        return None

    queue: WorkQueue[str] = WorkQueue("t", reconcile, workers=1)
    queue.start()
    queue.add("k")
    for _ in range(100):
        if len(calls) >= 3:
            break
        await asyncio.sleep(0.05)
    assert calls == ["k", "k", "k"]
    await queue.stop()


async def test_add_after_keeps_the_earliest_request_and_an_event_runs_the_key_at_once() -> None:
    ran: list[float] = []
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def reconcile(key: str) -> float | None:
        ran.append(loop.time() - start)
        return None

    queue: WorkQueue[str] = WorkQueue("t", reconcile, workers=1)
    queue.start()
    queue.add_after("k", 0.3)
    queue.add_after("k", 5.0)  # later than the pending timer: ignored
    queue.add_after("k", 0.1)  # earlier: replaces it
    await asyncio.sleep(0.2)
    assert len(ran) == 1 and 0.1 <= ran[0] < 0.2
    queue.add_after("k", 5.0)
    queue.add("k")  # an event: runs now, the timer is dropped (the reconcile asks again if it must)
    await asyncio.sleep(0.05)
    assert len(ran) == 2
    await queue.stop()


def test_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(base=0.05, cap=5.0)
    assert [backoff.delay(n) for n in (1, 2, 3)] == [0.1, 0.2, 0.4]
    assert backoff.delay(50) == 5.0


async def test_a_lost_race_is_logged_quietly_and_retried(caplog: pytest.LogCaptureFixture) -> None:
    calls = 0

    async def reconcile(key: str) -> float | None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise Conflict('Operation cannot be fulfilled on jobs.batch "j": the object has been modified')
        return None

    queue: WorkQueue[str] = WorkQueue("t", reconcile, workers=1, backoff=Backoff(base=0.01, cap=0.01))
    queue.start()
    with caplog.at_level(logging.DEBUG, logger="katib_py.kube.workqueue"):
        queue.add("k")
        for _ in range(50):
            if calls >= 2:
                break
            await asyncio.sleep(0.02)
    await queue.stop()
    assert calls == 2
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]
    assert "lost a race" in caplog.records[0].getMessage()
