import json
import random

from katib_py.api.models import AlgorithmSetting, EarlyStoppingRule
from katib_py.core import suggestion_sync as ss

from .core_factories import experiment, facts, suggestion, trial


def test_wanted_requests_is_cumulative_and_idempotent() -> None:
    s = suggestion(["t1", "t2"], count=10, requests=10)
    # two assignments not yet trials cover two of the three wanted
    assert ss.wanted_requests(s, {"t0"}, add=3, incomplete_early_stopped=0) == 11
    assert ss.wanted_requests(s, {"t0"}, add=3, incomplete_early_stopped=0) == 11
    assert ss.wanted_requests(s, {"t1", "t2"}, add=3, incomplete_early_stopped=0) == 13
    assert ss.wanted_requests(s, {"t1", "t2"}, add=3, incomplete_early_stopped=2) == 11
    assert ss.wanted_requests(None, set(), add=3, incomplete_early_stopped=0) == 3


def test_assignments_to_create_are_uncreated_oldest_first_bounded_by_add() -> None:
    s = suggestion(["a", "b", "c"])
    assert [a.name for a in ss.assignments_to_create(s, {"a"}, add=1)] == ["b"]
    assert [a.name for a in ss.assignments_to_create(s, {"a"}, add=5)] == ["b", "c"]
    assert ss.assignments_to_create(s, {"a"}, add=0) == []


def test_deleted_active_trial_is_recreated_with_same_name_and_parameters() -> None:
    s = suggestion(["exp-a", "exp-b"])
    (again,) = ss.assignments_to_create(s, {"exp-a"}, add=1)
    assert again.name == "exp-b"
    assert again.parameter_assignments is not None and again.parameter_assignments[0].value == "0.05"


def test_append_assignments_names_counts_rules_and_settings() -> None:
    s = suggestion(["exp-a"], count=5, settings={"state": "1"})
    status = ss.append_assignments(
        s,
        [
            ss.ReplyAssignment([("lr", "0.1")]),
            ss.ReplyAssignment([("lr", "0.2")], "given", {"pbt.generation": "1"}),
        ],
        rules=[EarlyStoppingRule(name="loss", value="0.5", comparison="less", start_step=2)],
        reply_settings=[AlgorithmSetting(name="state", value="2"), AlgorithmSetting(name="new", value="x")],
        rng=random.Random(1),
        taken_names={"exp-a"},
    )
    names = [a.name for a in status.suggestions or []]
    assert names[0] == "exp-a" and names[2] == "given"
    assert names[1] is not None and names[1].startswith("exp-") and len(names[1]) == len("exp-") + 8
    assert status.suggestion_count == 7
    assert status.suggestions is not None and status.suggestions[2].labels == {"pbt.generation": "1"}
    assert status.suggestions[1].early_stopping_rules is not None
    assert [(x.name, x.value) for x in status.algorithm_settings or []] == [("state", "2"), ("new", "x")]


def test_prune_completed_keeps_count_and_active_assignments() -> None:
    s = suggestion(["a", "b", "c"], count=3)
    status = ss.prune_completed(s, facts(trial("a", "succeeded"), trial("b", "running")))
    assert status is not None
    assert [a.name for a in status.suggestions or []] == ["b", "c"]
    assert status.suggestion_count == 3
    assert ss.prune_completed(s, facts(trial("b", "running"))) is None


def test_remove_assignments() -> None:
    s = suggestion(["a", "b"])
    status = ss.remove_assignments(s, {"b"})
    assert status is not None and [a.name for a in status.suggestions or []] == ["a"]
    assert ss.remove_assignments(s, {"zz"}) is None


def test_end_reached_needs_flag_and_every_assignment_created() -> None:
    s = suggestion(["a"], settings={"suggestion_end_reached": "true"})
    assert not ss.suggestion_end_reached(s, set())
    assert ss.suggestion_end_reached(s, {"a"})
    assert not ss.suggestion_end_reached(suggestion(["a"]), {"a"})


def test_suggestion_stays_bounded_over_20000_trials() -> None:
    """20,000 trials at parallelism 10: the Suggestion never holds more than the active assignments."""
    s = suggestion([], count=0)
    rng = random.Random(0)
    finished: list[str] = []
    largest = 0
    for _ in range(2000):
        assert s.status is not None
        s.status = ss.append_assignments(
            s,
            [ss.ReplyAssignment([("lr", f"{rng.random():.6f}"), ("layers", "3")]) for _ in range(10)],
            rules=None,
            reply_settings=None,
            rng=rng,
            taken_names=set(finished),
        )
        largest = max(largest, len(json.dumps(s.dump())))
        done = [trial(a.name or "", "succeeded", loss="0.1") for a in s.status.suggestions or []]
        finished.extend(t.metadata.name or "" for t in done if t.metadata)
        pruned = ss.prune_completed(s, facts(*done))
        assert pruned is not None
        s.status = pruned
    assert s.status is not None and s.status.suggestion_count == 20000
    assert len(set(finished)) == 20000
    assert largest < 16 * 1024


def test_trial_being_deleted_by_hand_holds_its_slot_instead_of_asking_for_more() -> None:
    """Its assignment stays: while it goes away it is pending (not a reason for a new assignment)."""
    s = suggestion(["a", "b"], count=2, requests=2)
    all_names = {"a", "b"}
    live = {"a"}  # "b" has a deletionTimestamp
    assert ss.wanted_requests(s, live, add=1, incomplete_early_stopped=0) == 2
    assert ss.assignments_to_create(s, all_names, add=1) == []  # cannot recreate before it is gone
    assert [x.name for x in ss.assignments_to_create(s, live, add=1)] == ["b"]


# ---------------------------------------------------------------- katib-py's warm start


def _warm(points: list[dict[str, str]], experiments: list[str] | None = None):  # type: ignore[no-untyped-def]
    return experiment(
        parameters=[
            {"name": "lr", "parameterType": "double", "feasibleSpace": {"min": "0.01", "max": "0.1"}},
            {"name": "opt", "parameterType": "categorical", "feasibleSpace": {"list": ["sgd", "adam"]}},
        ],
        warmStart={"points": points, "experiments": experiments or []},
    )


def test_the_first_assignments_are_the_points_in_order_in_the_spec_parameter_order() -> None:
    exp = _warm([{"opt": "sgd", "lr": "0.02"}, {"lr": "0.03", "opt": "adam"}, {"lr": "0.04", "opt": "sgd"}])
    first = ss.warm_start_replies(exp, suggestion([], count=0), wanted=2)
    assert [r.parameters for r in first] == [
        [("lr", "0.02"), ("opt", "sgd")],
        [("lr", "0.03"), ("opt", "adam")],
    ]
    assert all(r.labels == {ss.WARM_START_LABEL: "point"} for r in first)
    # two handed out: the third comes next, then none (the algorithm is asked for the rest)
    assert [r.parameters for r in ss.warm_start_replies(exp, suggestion([], count=2), wanted=5)] == [
        [("lr", "0.04"), ("opt", "sgd")]
    ]
    assert ss.warm_start_replies(exp, suggestion([], count=3), wanted=5) == []
    assert ss.warm_start_replies(experiment(), None, wanted=3) == []


def test_seeds_are_other_experiments_and_only_trials_with_an_observation() -> None:
    exp = _warm([], ["older", "exp", "older", "oldest"])
    assert ss.seed_experiments(exp) == ["older", "oldest"]  # never itself, each once
    assert ss.is_seed(trial("a", "succeeded", loss="0.3"))
    assert ss.is_seed(trial("b", "earlystopped", loss="0.9"))
    assert not ss.is_seed(trial("c", "succeeded"))  # no observation
    assert not ss.is_seed(trial("d", "failed"))
    assert not ss.is_seed(trial("e", "running", loss="0.1"))
