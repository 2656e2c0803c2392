"""The operator's object cache (no cluster needed)."""

from __future__ import annotations

from katib_py.controller.cache import ObjectCache


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
