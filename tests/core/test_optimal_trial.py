"""The optimal trial as Katib chooses it (updateTrialsSummary), with nan/inf never best."""

from __future__ import annotations

from katib_py.api.models import Metric, ObjectiveSpec, Observation, Trial
from katib_py.core.optimal_trial import (
    best_trial,
    goal_reached,
    objective_strategy,
    objective_value,
    optimal_trial_status,
    strategy_value,
)

from .core_factories import trial


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


def steady(name: str, value: str, state: str = "succeeded") -> Trial:
    """A trial whose loss was `value` throughout."""
    return measured(name, value, value, value, state)


def best_of(spec: ObjectiveSpec | None, trials: list[Trial]) -> str | None:
    """The name of the best trial."""
    t = best_trial(spec, trials)
    return t.metadata.name if t is not None and t.metadata is not None else None


def test_minimize_takes_the_lowest_and_maximize_the_highest() -> None:
    trials = [steady("a", "0.5"), steady("b", "0.2"), steady("c", "0.9")]
    assert best_of(objective("minimize", "min"), trials) == "b"
    assert best_of(objective("maximize", "max"), trials) == "c"


def test_the_objective_strategy_picks_the_value_compared() -> None:
    # a: went as low as 0.1 but ended at 0.8; b: never below 0.3, ended at 0.3; c: peaked at 0.95
    trials = [
        measured("a", "0.1", "0.8", "0.8"),
        measured("b", "0.3", "0.4", "0.3"),
        measured("c", "0.2", "0.95", "0.5"),
    ]
    assert best_of(objective("minimize", "min"), trials) == "a"
    assert best_of(objective("minimize", "latest"), trials) == "b"
    assert best_of(objective("maximize", "max"), trials) == "c"
    assert best_of(objective("maximize", "latest"), trials) == "a"
    # no strategy for the objective metric: its latest value
    assert best_of(objective("minimize", None), trials) == "b"


def test_ties_keep_the_first_in_list_order() -> None:
    trials = [steady("a", "0.4"), steady("b", "0.2"), steady("c", "0.2")]
    assert best_of(objective("minimize"), trials) == "b"
    assert best_of(objective("minimize"), list(reversed(trials))) == "c"
    assert best_of(objective("maximize", "max"), trials) == "a"


def test_nan_and_inf_are_never_best() -> None:
    trials = [steady("nan", "nan"), steady("low", "-inf"), steady("a", "0.5"), steady("high", "+Inf")]
    assert best_of(objective("minimize"), trials) == "a"
    assert best_of(objective("maximize", "max"), trials) == "a"
    assert best_trial(objective("minimize"), trials[:2]) is None


def test_no_candidate_gives_none() -> None:
    assert best_trial(objective(), []) is None
    no_observation = [trial("p", "pending"), trial("r", "running"), trial("f", "failed")]
    assert best_trial(objective(), no_observation) is None
    unavailable = steady("m", "unavailable", state="metricsunavailable")
    assert best_trial(objective(), [unavailable]) is None
    other_metric_only = trial("o", "succeeded")
    assert other_metric_only.status is not None
    other_metric_only.status.observation = Observation(metrics=[Metric(name="acc", latest="0.9")])
    assert best_trial(objective(), [other_metric_only]) is None
    assert best_trial(None, [steady("a", "0.1")]) is None


def test_any_trial_with_a_value_counts_early_stopped_included() -> None:
    # As in Katib, the state is not looked at: an early-stopped trial's observation competes.
    trials = [steady("s", "0.5"), steady("e", "0.3", state="earlystopped")]
    assert best_of(objective(), trials) == "e"


def test_a_string_metric_becomes_best_and_the_next_number_starts_again() -> None:
    trials = [steady("a", "0.1"), steady("s", "blue")]
    assert best_of(objective(), trials) == "s"
    assert best_of(objective(), [*trials, steady("b", "0.7")]) == "b"


def test_goal_is_reached_by_any_value_at_or_beyond_it() -> None:
    trials = [steady("a", "0.5"), steady("b", "0.2")]
    assert goal_reached(objective("minimize", goal=0.2), trials)
    assert not goal_reached(objective("minimize", goal=0.1), trials)
    assert goal_reached(objective("maximize", "max", goal=0.5), trials)
    assert not goal_reached(objective("maximize", "max", goal=0.6), trials)
    assert not goal_reached(objective("minimize"), trials)  # no goal
    # reached earlier, then a string metric became best: the goal stays reached
    assert goal_reached(objective("minimize", goal=0.2), [*trials, steady("s", "x")])
    assert not goal_reached(objective("maximize", "max", goal=1.0), [steady("i", "inf")])


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
