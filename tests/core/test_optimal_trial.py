"""The optimal trial as Katib chooses it (updateTrialsSummary), with nan/inf never best."""

from __future__ import annotations

from core_factories import trial

from katib_py.api.models import Metric, ObjectiveSpec, Observation, Trial
from katib_py.core.optimal_trial import (
    best_trial,
    goal_reached,
    objective_strategy,
    objective_value,
    optimal_trial_status,
    strategy_value,
)


def objective(
    direction: str = "minimize", strategy: str | None = "min", goal: float | None = None
) -> ObjectiveSpec:
    return ObjectiveSpec.load(
        {
            "type": direction,
            "goal": goal,
            "objectiveMetricName": "loss",
            "additionalMetricNames": ["acc"],
            "metricStrategies": ([{"name": "loss", "value": strategy}] if strategy else [])
            + [{"name": "acc", "value": "max"}],
        }
    )


def measured(name: str, low: str, high: str, latest: str, state: str = "succeeded") -> Trial:
    """A trial whose loss went down to `low`, up to `high` and ended at `latest`."""
    t = trial(name, state, params={"lr": name})
    assert t.status is not None
    t.status.observation = Observation(
        metrics=[
            Metric(name="acc", min="0.1", max="0.9", latest="0.5"),
            Metric(name="loss", min=low, max=high, latest=latest),
        ]
    )
    return t


def name_of(t: Trial | None) -> str | None:
    return t.metadata.name if t is not None and t.metadata is not None else None


def test_minimize_takes_the_lowest_and_maximize_the_highest() -> None:
    trials = [
        measured("a", "0.5", "0.5", "0.5"),
        measured("b", "0.2", "0.2", "0.2"),
        measured("c", "0.9", "0.9", "0.9"),
    ]
    assert name_of(best_trial(objective("minimize", "min"), trials)) == "b"
    assert name_of(best_trial(objective("maximize", "max"), trials)) == "c"


def test_the_objective_strategy_picks_the_value_compared() -> None:
    # a: went as low as 0.1 but ended at 0.8; b: never below 0.3, ended at 0.3; c: peaked at 0.95
    trials = [
        measured("a", "0.1", "0.8", "0.8"),
        measured("b", "0.3", "0.4", "0.3"),
        measured("c", "0.2", "0.95", "0.5"),
    ]
    assert name_of(best_trial(objective("minimize", "min"), trials)) == "a"
    assert name_of(best_trial(objective("minimize", "latest"), trials)) == "b"
    assert name_of(best_trial(objective("maximize", "max"), trials)) == "c"
    assert name_of(best_trial(objective("maximize", "latest"), trials)) == "a"
    # no strategy for the objective metric: its latest value
    assert name_of(best_trial(objective("minimize", None), trials)) == "b"


def test_ties_keep_the_first_in_list_order() -> None:
    trials = [
        measured("a", "0.4", "0.4", "0.4"),
        measured("b", "0.2", "0.2", "0.2"),
        measured("c", "0.2", "0.2", "0.2"),
    ]
    assert name_of(best_trial(objective("minimize"), trials)) == "b"
    assert name_of(best_trial(objective("minimize"), list(reversed(trials)))) == "c"
    assert name_of(best_trial(objective("maximize", "max"), trials)) == "a"


def test_nan_and_inf_are_never_best() -> None:
    trials = [
        measured("nan", "nan", "nan", "nan"),
        measured("low", "-inf", "-inf", "-inf"),
        measured("a", "0.5", "0.5", "0.5"),
        measured("high", "+Inf", "+Inf", "+Inf"),
    ]
    assert name_of(best_trial(objective("minimize"), trials)) == "a"
    assert name_of(best_trial(objective("maximize", "max"), trials)) == "a"
    assert best_trial(objective("minimize"), trials[:2]) is None


def test_no_candidate_gives_none() -> None:
    assert best_trial(objective(), []) is None
    no_observation = [trial("p", "pending"), trial("r", "running"), trial("f", "failed")]
    assert best_trial(objective(), no_observation) is None
    unavailable = measured("m", "unavailable", "unavailable", "unavailable", state="metricsunavailable")
    assert best_trial(objective(), [unavailable]) is None
    other_metric_only = trial("o", "succeeded")
    assert other_metric_only.status is not None
    other_metric_only.status.observation = Observation(metrics=[Metric(name="acc", latest="0.9")])
    assert best_trial(objective(), [other_metric_only]) is None
    assert best_trial(None, [measured("a", "0.1", "0.1", "0.1")]) is None


def test_any_trial_with_a_value_counts_early_stopped_included() -> None:
    # As in Katib, the state is not looked at: an early-stopped trial's observation competes.
    trials = [measured("s", "0.5", "0.5", "0.5"), measured("e", "0.3", "0.3", "0.3", state="earlystopped")]
    assert name_of(best_trial(objective(), trials)) == "e"


def test_a_string_metric_becomes_best_and_the_next_number_starts_again() -> None:
    trials = [measured("a", "0.1", "0.1", "0.1"), measured("s", "blue", "blue", "blue")]
    assert name_of(best_trial(objective(), trials)) == "s"
    assert name_of(best_trial(objective(), [*trials, measured("b", "0.7", "0.7", "0.7")])) == "b"


def test_goal_is_reached_by_any_value_at_or_beyond_it() -> None:
    trials = [measured("a", "0.5", "0.5", "0.5"), measured("b", "0.2", "0.2", "0.2")]
    assert goal_reached(objective("minimize", goal=0.2), trials)
    assert not goal_reached(objective("minimize", goal=0.1), trials)
    assert goal_reached(objective("maximize", "max", goal=0.5), trials)
    assert not goal_reached(objective("maximize", "max", goal=0.6), trials)
    assert not goal_reached(objective("minimize"), trials)  # no goal
    # reached earlier, then a string metric became best: the goal stays reached
    assert goal_reached(objective("minimize", goal=0.2), [*trials, measured("s", "x", "x", "x")])
    assert not goal_reached(objective("maximize", "max", goal=1.0), [measured("i", "inf", "inf", "inf")])


def test_strategy_values_fall_back_to_latest() -> None:
    m = Metric(name="loss", min="unavailable", max=None, latest="0.4")
    assert strategy_value(m, "min") == "0.4"
    assert strategy_value(m, "max") == "0.4"
    assert strategy_value(Metric(name="loss", min="0.1", max="0.9", latest="0.4"), "max") == "0.9"
    assert strategy_value(Metric(name="loss"), "latest") == "unavailable"
    assert objective_value(measured("a", "unavailable", "0.6", "0.4"), "loss", "min") == "0.4"
    assert objective_value(trial("b", "running"), "loss", "min") == "unavailable"


def test_objective_strategy_defaults_to_latest() -> None:
    assert objective_strategy(objective(strategy="max")) == "max"
    assert objective_strategy(objective(strategy=None)) == "latest"
    assert objective_strategy(None) == "latest"


def test_optimal_trial_status_copies_name_assignments_and_strategy_metrics() -> None:
    best = measured("b", "0.2", "0.6", "0.3")
    status = optimal_trial_status(objective(), best)
    assert status.best_trial_name == "b"
    assert [(p.name, p.value) for p in status.parameter_assignments or []] == [("lr", "b")]
    assert status.observation is not None
    # in the order of the objective's metricStrategies
    assert [(m.name, m.min, m.max, m.latest) for m in status.observation.metrics or []] == [
        ("loss", "0.2", "0.6", "0.3"),
        ("acc", "0.1", "0.9", "0.5"),
    ]
