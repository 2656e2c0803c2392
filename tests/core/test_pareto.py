"""The Pareto front of a multi-objective experiment (katib_py.core.pareto)."""

from __future__ import annotations

from typing import Any

from katib_py.api.models import ObjectiveSpec, Trial
from katib_py.core import experiment_status as es
from katib_py.core.pareto import dominates, objectives, pareto_front

from .core_factories import STATES, experiment


def objective(*extras: tuple[str, str], first: tuple[str, str] = ("acc", "maximize")) -> ObjectiveSpec:
    names = [first[0], *(n for n, _ in extras)]
    return ObjectiveSpec.load(
        {
            "type": first[1],
            "objectiveMetricName": first[0],
            "additionalMetricNames": names[1:],
            "metricStrategies": [{"name": n, "value": "latest"} for n in names],
            "additionalObjectives": [{"objectiveMetricName": n, "type": t} for n, t in extras],
        }
    )


def trial(name: str, state: str = "succeeded", **metrics: str | tuple[str, str, str]) -> Trial:
    """A trial whose metrics are latest=min=max=value, or (min, max, latest)."""
    observed: list[dict[str, Any]] = []
    for metric, value in metrics.items():
        low, high, latest = value if isinstance(value, tuple) else (value, value, value)
        observed.append({"name": metric, "min": low, "max": high, "latest": latest})
    return Trial.load(
        {
            "metadata": {"name": name},
            "status": {"conditions": STATES[state], "observation": {"metrics": observed}},
        }
    )


def names(obj: ObjectiveSpec, trials: list[Trial]) -> list[str | None]:
    return [p.trial_name for p in pareto_front(obj, trials)]


def test_dominance_needs_no_worse_everywhere_and_better_somewhere() -> None:
    assert dominates((1.0, 1.0), (1.0, 2.0))
    assert dominates((0.0, 0.0), (1.0, 1.0))
    assert not dominates((1.0, 1.0), (1.0, 1.0))  # equal: neither dominates
    assert not dominates((0.0, 2.0), (1.0, 1.0))  # a trade-off
    assert not dominates((1.0, 2.0), (1.0, 1.0))


def test_objectives_lists_the_first_then_the_additional_ones() -> None:
    assert objectives(objective(("lat", "minimize"))) == [("acc", "maximize"), ("lat", "minimize")]
    assert objectives(None) == []


def test_maximize_minimize_mix_keeps_the_trade_offs_in_trial_order() -> None:
    obj = objective(("lat", "minimize"))
    trials = [
        trial("slow-good", acc="0.9", lat="9"),
        trial("dominated", acc="0.7", lat="5"),  # fast-ok is better on both
        trial("fast-ok", acc="0.8", lat="3"),
        trial("fastest-bad", acc="0.5", lat="1"),
        trial("worst", acc="0.1", lat="10"),
    ]
    front = pareto_front(obj, trials)
    assert [p.trial_name for p in front] == ["slow-good", "fast-ok", "fastest-bad"]
    assert [(v.name, v.value) for v in front[1].values or []] == [("acc", "0.8"), ("lat", "3")]


def test_directions_decide_dominance() -> None:
    trials = [trial("a", acc="1", lat="1"), trial("b", acc="2", lat="2")]
    assert names(objective(("lat", "minimize"), first=("acc", "minimize")), trials) == ["a"]
    assert names(objective(("lat", "maximize"), first=("acc", "maximize")), trials) == ["b"]
    assert names(objective(("lat", "minimize"), first=("acc", "maximize")), trials) == ["a", "b"]


def test_equal_values_are_all_on_the_front() -> None:
    obj = objective(("lat", "minimize"))
    trials = [trial("a", acc="0.8", lat="3"), trial("b", acc="0.8", lat="3"), trial("c", acc="0.8", lat="4")]
    assert names(obj, trials) == ["a", "b"]


def test_nan_inf_strings_and_missing_metrics_are_never_on_the_front() -> None:
    obj = objective(("lat", "minimize"))
    trials = [
        trial("nan", acc="nan", lat="0"),
        trial("inf", acc="0.1", lat="-inf"),
        trial("plus-inf", acc="+Inf", lat="5"),
        trial("text", acc="high", lat="0"),
        trial("missing", acc="0.99"),
        trial("unavailable", acc="0.99", lat="unavailable"),
        trial("ok", acc="0.5", lat="5"),
    ]
    assert names(obj, trials) == ["ok"]


def test_only_succeeded_trials_count() -> None:
    obj = objective(("lat", "minimize"))
    trials = [
        trial("early", "earlystopped", acc="0.99", lat="0"),
        trial("running", "running", acc="0.99", lat="0"),
        trial("failed", "failed", acc="0.99", lat="0"),
        trial("done", acc="0.5", lat="5"),
    ]
    assert names(obj, trials) == ["done"]
    assert pareto_front(obj, []) == []


def test_each_objective_reads_its_metric_strategy() -> None:
    obj = objective(("lat", "minimize"))
    strategies = obj.metric_strategies or []
    strategies[1].value = "min"
    # (min, max, latest): by its min "b" has the lower latency; by latest it would be dominated
    trials = [trial("a", acc="0.8", lat=("3", "3", "3")), trial("b", acc="0.8", lat=("1", "9", "9"))]
    front = pareto_front(obj, trials)
    assert [p.trial_name for p in front] == ["b"]
    assert [v.value for v in front[0].values or []] == ["0.8", "1"]


def test_three_objectives() -> None:
    obj = objective(("lat", "minimize"), ("mem", "minimize"))
    trials = [
        trial("a", acc="0.8", lat="3", mem="100"),
        trial("b", acc="0.8", lat="3", mem="50"),  # dominates a
        trial("c", acc="0.9", lat="4", mem="200"),
        trial("d", acc="0.7", lat="1", mem="300"),
        trial("e", acc="0.7", lat="5", mem="300"),  # dominated by d and b
    ]
    assert names(obj, trials) == ["b", "c", "d"]


def test_many_trials_on_a_line_are_all_on_the_front() -> None:
    obj = objective(("lat", "minimize"))
    trials = [trial(f"t{i}", acc=str(i), lat=str(i)) for i in range(300)]
    trials += [trial(f"d{i}", acc=str(i), lat=str(i + 1)) for i in range(300)]  # each dominated by t{i}
    assert names(obj, trials) == [f"t{i}" for i in range(300)]


def test_summary_writes_the_front_only_for_multi_objective_experiments() -> None:
    trials = [trial("a", acc="0.8", lat="3", loss="1"), trial("b", acc="0.9", lat="4", loss="2")]
    single = es.summarize_trials(experiment(), trials).status
    assert single.pareto_front is None and single.pareto_front_size is None
    assert "paretoFront" not in single.dump() and "paretoFrontSize" not in single.dump()

    multi = experiment(objective=objective(("lat", "minimize")).dump())
    status = es.summarize_trials(multi, trials).status
    assert [p.trial_name for p in status.pareto_front or []] == ["a", "b"]
    assert status.pareto_front_size == 2
    # currentOptimalTrial stays the best on the first objective, as in Katib
    assert status.current_optimal_trial is not None
    assert status.current_optimal_trial.best_trial_name == "b"
