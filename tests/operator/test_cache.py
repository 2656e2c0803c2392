"""The operator's object cache (no cluster needed)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from katib_py.api.models import ObjectiveSpec, Trial
from katib_py.controller import cache as cache_module
from katib_py.controller.cache import ObjectCache
from katib_py.core.trial_facts import TrialFacts


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


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["put", "put", "put", "forget"]), st.sampled_from("abcdefghij")),
        max_size=60,
    )
)
def test_the_trial_index_matches_a_sorted_listing_and_reads_facts_only_of_changed_trials(
    steps: list[tuple[str, str]],
) -> None:
    """Any order of trial events: trials_of is the name-sorted listing of what exists, trial_facts
    is aligned with it, and a facts read parses only the trials changed since the last read."""
    cache = ObjectCache()
    alive: dict[str, int] = {}
    rv = 0
    made: list[str] = []
    real_facts_of = cache_module.facts_of

    def counting(trial: Trial, objective: ObjectiveSpec | None) -> TrialFacts:
        made.append((trial.metadata.name if trial.metadata else None) or "")
        return real_facts_of(trial, objective)

    cache_module.facts_of = counting  # type: ignore[assignment]
    try:
        changed: set[str] = set()  # trials put since the last facts read
        read_once = False
        for step, name in steps:
            rv += 1
            if step == "put":
                cache.observe("trials", _obj(name, str(rv), "e"))
                alive[name] = rv
                changed.add(name)
            else:
                cache.forget("trials", _obj(name, str(rv), "e"))
                alive.pop(name, None)
                changed.discard(name)
            if rv % 7 == 0:  # a reconcile now and then
                made.clear()
                facts = cache.trial_facts("ns", "e", None)
                assert [f.name for f in facts] == sorted(alive)
                if read_once:
                    assert set(made) <= changed and len(made) == len(set(made))
                made.clear()
                assert [f.name for f in cache.trial_facts("ns", "e", None)] == sorted(alive)
                assert made == []  # nothing changed: nothing parsed
                changed.clear()
                read_once = True
        bodies = cache.trials_of("ns", "e")
        assert [b["metadata"]["name"] for b in bodies] == sorted(alive)
        assert cache.trial_names("ns", "e") == set(alive)
        assert [int(b["metadata"]["resourceVersion"]) for b in bodies] == [alive[n] for n in sorted(alive)]
    finally:
        cache_module.facts_of = real_facts_of
