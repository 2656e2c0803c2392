"""The controller's work queue and object cache (no cluster needed)."""

from __future__ import annotations

import asyncio

from katib_py.controller.cache import ObjectCache
from katib_py.controller.workqueue import WorkQueue


def _obj(name: str, rv: str, experiment: str | None = None) -> dict:  # type: ignore[type-arg]
    labels = {"katib.kubeflow.org/experiment": experiment} if experiment else {}
    return {"metadata": {"namespace": "ns", "name": name, "resourceVersion": rv, "labels": labels}}


def test_cache_keeps_newest_and_indexes_trials_by_experiment() -> None:
    cache = ObjectCache()
    cache.observe("trials", _obj("t1", "5", "e"))
    cache.observe("trials", _obj("t1", "4", "e"))  # an older event arriving late
    assert cache.get("trials", "ns", "t1")["metadata"]["resourceVersion"] == "5"  # type: ignore[index]
    cache.observe("trials", _obj("t2", "6", "e"))
    cache.observe("trials", _obj("t3", "7", "other"))
    assert [t["metadata"]["name"] for t in cache.trials_of("ns", "e")] == ["t1", "t2"]
    cache.forget("trials", _obj("t1", "8", "e"))
    assert [t["metadata"]["name"] for t in cache.trials_of("ns", "e")] == ["t2"]
    cache.observe("trials", _obj("t2", "9", "moved"))
    assert cache.trials_of("ns", "e") == []
    assert [t["metadata"]["name"] for t in cache.trials_of("ns", "moved")] == ["t2"]


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
