"""The experiment's optimal trial: the best trial by the objective, and whether the goal is reached.

Katib chooses it in `updateTrialsSummary`, reading each trial's value with
`getObjectiveMetricValue` (both in `pkg/controller.v1beta1/experiment/util/status_util.go`):

- A trial's value is its objective metric as the objective's metric strategy picks it: `min` takes
  the metric's min and `max` its max (each falls back to latest while it is "unavailable"),
  `latest` (and no strategy) the latest value. A trial with no such value ("unavailable") is
  skipped. Trials are not filtered by state: in practice only Succeeded and EarlyStopped trials
  carry an observation (the trial controller reads it when the job succeeded or the trial was
  early stopped).
- Trials are compared in list order: the first number starts the best, minimize takes a strictly
  lower value and maximize a strictly higher one, so a tie keeps the first trial.
- A value that is not a number (a string metric) becomes the best ("for string metrics the best
  is the latest").
- The goal is reached once the best so far is at or below it (minimize) or at or above it
  (maximize), that is when any trial's value is.

Differences from Katib: `nan` and `±inf` are reported but never chosen as the best, nor reach the
goal; after a string value the next number starts the comparison again (Katib compares it with the
number before the string, or with 0); the strategy comes from the Experiment's objective (which
each trial copies; Katib reads the trial's copy).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from katib_py.api.models import (
    Metric,
    MetricStrategyType,
    ObjectiveSpec,
    ObjectiveType,
    Observation,
    OptimalTrial,
    Trial,
)
from katib_py.core.observation import UNAVAILABLE, parse_metric_value

T = TypeVar("T")


def strategy_value(metric: Metric, strategy: str) -> str:
    """The value a metric strategy picks: min/max fall back to latest when unavailable."""
    latest = metric.latest or UNAVAILABLE
    if strategy == MetricStrategyType.MIN:
        return metric.min if metric.min not in (None, UNAVAILABLE) else latest
    if strategy == MetricStrategyType.MAX:
        return metric.max if metric.max not in (None, UNAVAILABLE) else latest
    return latest


def objective_value(trial: Trial, metric_name: str, strategy: str) -> str:
    """The trial's objective value by strategy, or "unavailable"."""
    observation = trial.status.observation if trial.status else None
    for metric in (observation.metrics if observation else None) or []:
        if metric.name == metric_name:
            return strategy_value(metric, strategy)
    return UNAVAILABLE


def objective_strategy(objective: ObjectiveSpec | None) -> str:
    """The objective metric's strategy from metricStrategies (the last entry for it), else latest."""
    if objective is None:
        return MetricStrategyType.LATEST.value
    strategy = MetricStrategyType.LATEST.value
    for ms in objective.metric_strategies or []:
        if ms.name == objective.objective_metric_name and ms.value:
            strategy = ms.value
    return strategy


@dataclass(frozen=True, slots=True)
class Score:
    """A trial's usable objective value: a finite number, or None for a string metric."""

    value: float | None


def trial_score(objective: ObjectiveSpec | None, trial: Trial) -> Score | None:
    """The trial's objective value as the best-trial choice reads it; None when it has none
    ("unavailable", no such metric) or it is nan/inf (reported, never chosen as the best)."""
    name = (objective.objective_metric_name if objective else None) or ""
    raw = objective_value(trial, name, objective_strategy(objective))
    if raw == UNAVAILABLE:
        return None
    value = parse_metric_value(raw)
    if value is not None and not math.isfinite(value):
        return None
    return Score(value)


def best_of(objective: ObjectiveSpec | None, scored: Iterable[tuple[T, Score | None]]) -> T | None:
    """The best of the (item, score) pairs in order, or None when none has a score."""
    direction = objective.type if objective else None
    best: T | None = None
    best_value: float | None = None
    for item, score in scored:
        if score is None:
            continue
        value = score.value
        if value is None:
            best, best_value = item, None  # for string metrics the best is the latest
        elif (
            best_value is None
            or (direction == ObjectiveType.MINIMIZE and value < best_value)
            or (direction == ObjectiveType.MAXIMIZE and value > best_value)
        ):
            best, best_value = item, value
    return best


def reaches_goal(objective: ObjectiveSpec | None, scores: Iterable[Score | None]) -> bool:
    """Whether some score reaches the objective's goal (never without a goal)."""
    goal = objective.goal if objective else None
    if objective is None or goal is None:
        return False
    for score in scores:
        value = None if score is None else score.value
        if value is None:
            continue
        if (objective.type == ObjectiveType.MINIMIZE and value <= goal) or (
            objective.type == ObjectiveType.MAXIMIZE and value >= goal
        ):
            return True
    return False


def best_trial(objective: ObjectiveSpec | None, trials: Iterable[Trial]) -> Trial | None:
    """The optimal trial of `trials` (in list order) by `objective`, or None when none has a value."""
    return best_of(objective, ((t, trial_score(objective, t)) for t in trials))


def goal_reached(objective: ObjectiveSpec | None, trials: Iterable[Trial]) -> bool:
    """Whether some trial's value reaches the objective's goal (never without a goal)."""
    return reaches_goal(objective, (trial_score(objective, t) for t in trials))


def optimal_trial_status(objective: ObjectiveSpec | None, trial: Trial) -> OptimalTrial:
    """`status.currentOptimalTrial` for `trial`: its name, assignments and the metrics with a strategy."""
    strategies = (objective.metric_strategies if objective else None) or []
    observation = trial.status.observation if trial.status else None
    by_name = {m.name: m for m in (observation.metrics if observation else None) or []}
    metrics = [by_name[s.name].model_copy() for s in strategies if s.name in by_name]
    if not metrics and observation is not None:
        metrics = [m.model_copy() for m in observation.metrics or []]
    return OptimalTrial(
        best_trial_name=trial.metadata.name if trial.metadata else None,
        parameter_assignments=[
            p.model_copy() for p in (trial.spec.parameter_assignments if trial.spec else None) or []
        ],
        observation=Observation(metrics=metrics),
    )
