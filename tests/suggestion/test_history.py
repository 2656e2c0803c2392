"""Trial conversion: unchanged trials are not converted again, changed ones always are."""

from __future__ import annotations

from katib_py.suggestion import messages as m
from katib_py.suggestion.history import COMPLETED, FAILED, LIVE, TrialConverter, convert_trials
from katib_py.suggestion.space import SearchSpace


def test_converter_reuses_unchanged_trials_and_reconverts_changed_ones() -> None:
    converter = TrialConverter()
    first = [m.trial("a", {"x": "1"}, "Succeeded", {"loss": 0.5}), m.trial("b", {"x": "2"}, "Running")]
    before = converter.convert("exp", "loss", first)
    assert [r.state for r in before] == [COMPLETED, LIVE]

    second = [
        m.trial("a", {"x": "1"}, "Succeeded", {"loss": 0.5}),
        m.trial("b", {"x": "2"}, "Succeeded", {"loss": 0.25}),
        m.trial("c", {"x": "3"}, "Running"),
    ]
    after = converter.convert("exp", "loss", second)
    assert after[0] is before[0]  # byte-identical: the same record
    assert after[1] is not before[1] and after[1].state == COMPLETED and after[1].value == 0.25
    assert after == convert_trials(second, "loss")


def test_converter_keeps_experiments_and_metrics_apart() -> None:
    converter = TrialConverter()
    trial = m.trial("a", {"x": "1"}, "Succeeded", {"loss": 0.5, "acc": 0.9})
    by_loss = converter.convert("exp", "loss", [trial])[0]
    by_acc = converter.convert("exp", "acc", [trial])[0]
    assert (by_loss.value, by_acc.value) == (0.5, 0.9)
    assert converter.convert("other", "loss", [trial])[0] is not by_loss


def test_trial_key_equals_the_space_key() -> None:
    space = SearchSpace.from_proto(
        [m.parameter("x", "double", min=0, max=5), m.parameter("c", "categorical", values=["p", "q"])]
    )
    record = convert_trials([m.trial("a", {"c": "q", "x": "1.5"})], "loss")[0]
    assert space.trial_key(record) == space.key({"x": "1.5", "c": "q"})
    assert space.trial_key(record) == space.trial_key(record)


def test_a_trial_is_history_only_with_every_objective() -> None:
    """katib-py's additional objectives: each must be finite, or the trial is failed for the algorithm."""
    trials = [
        m.trial("both", {"x": "1"}, "Succeeded", {"loss": 0.5, "latency": 3}),
        m.trial("one", {"x": "2"}, "Succeeded", {"loss": 0.5}),
        m.trial("nan", {"x": "3"}, "Succeeded", {"loss": 0.5, "latency": "nan"}),
    ]
    records = convert_trials(trials, "loss", ["latency"])
    assert [(r.state, r.value, r.values) for r in records] == [
        (COMPLETED, 0.5, (3.0,)),
        (FAILED, None, ()),
        (FAILED, None, ()),
    ]
    # the converter keeps the records of each objective list apart
    converter = TrialConverter()
    assert converter.convert("exp", "loss", trials[1:2])[0].state == COMPLETED
    assert converter.convert("exp", "loss", trials[1:2], ["latency"])[0].state == FAILED
