"""The Pareto front of a multi-objective experiment (katib-py; Katib has one objective only).

An experiment's objectives are its first objective (`objectiveMetricName`/`type`, Katib's) followed
by `spec.objective.additionalObjectives`. A trial's value for each is read as `optimal_trial` reads
the first one: the metric's strategy from `metricStrategies` picks min, max or latest. Trial `a`
dominates `b` when it is no worse on every objective and better on one (minimize: lower, maximize:
higher); the front is the succeeded trials no other succeeded trial dominates, as Optuna's
`Study.best_trials` (`optuna/study/_multi_objective.py`) defines it. Trials with equal values do
not dominate each other: all of them are on the front.

Only succeeded trials count: an early-stopped trial's metrics come from an unfinished run. A trial
with any objective unavailable, not a number, `nan` or `±inf` is never on the front.

Cost: the candidates are sorted lexicographically (a dominating trial always sorts first), then each
is compared with the front found so far, so O(n log n + n·f·m) for n trials, front size f and m
objectives; n² only when every trial is on the front.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from katib_py.api.models import (
    MetricStrategyType,
    ObjectiveSpec,
    ObjectiveType,
    ParetoTrial,
    ParetoValue,
    Trial,
)
from katib_py.core import trial_status as ts
from katib_py.core.observation import UNAVAILABLE, parse_metric_value
from katib_py.core.optimal_trial import objective_value


def objectives(objective: ObjectiveSpec | None) -> list[tuple[str, str]]:
    """(metric name, type) of every objective, the first (Katib's) one first."""
    if objective is None:
        return []
    out = [(objective.objective_metric_name or "", objective.type or "")]
    out.extend((o.objective_metric_name or "", o.type or "") for o in objective.additional_objectives or [])
    return out


def is_multi_objective(objective: ObjectiveSpec | None) -> bool:
    return objective is not None and bool(objective.additional_objectives)


def metric_strategy(objective: ObjectiveSpec, name: str) -> str:
    """The strategy `metricStrategies` gives `name` (its last entry), else latest."""
    strategy = MetricStrategyType.LATEST.value
    for ms in objective.metric_strategies or []:
        if ms.name == name and ms.value:
            strategy = ms.value
    return strategy


def dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Whether `a` dominates `b`, both in minimize form (lower is better on every axis)."""
    return all(x <= y for x, y in zip(a, b, strict=True)) and a != b


def pareto_front(objective: ObjectiveSpec | None, trials: Iterable[Trial]) -> list[ParetoTrial]:
    """The non-dominated succeeded trials, in the order of `trials`, each with its raw values."""
    goals = objectives(objective)
    if objective is None or not goals:
        return []
    strategies = [metric_strategy(objective, name) for name, _ in goals]
    candidates: list[tuple[tuple[float, ...], int, Trial, list[str]]] = []
    for index, trial in enumerate(trials):
        if not ts.is_succeeded(trial):
            continue
        raws = [objective_value(trial, name, s) for (name, _), s in zip(goals, strategies, strict=True)]
        point: list[float] = []
        for raw, (_, kind) in zip(raws, goals, strict=True):
            value = parse_metric_value(raw) if raw != UNAVAILABLE else None
            if value is None or not math.isfinite(value):
                break
            point.append(-value if kind == ObjectiveType.MAXIMIZE else value)
        else:
            candidates.append((tuple(point), index, trial, raws))
    candidates.sort(key=lambda c: (c[0], c[1]))
    front: list[tuple[tuple[float, ...], int, Trial, list[str]]] = []
    for cand in candidates:
        if not any(dominates(kept[0], cand[0]) for kept in front):
            front.append(cand)
    front.sort(key=lambda c: c[1])
    return [
        ParetoTrial(
            trial_name=trial.metadata.name if trial.metadata else None,
            values=[ParetoValue(name=name, value=raw) for (name, _), raw in zip(goals, raws, strict=True)],
        )
        for _, _, trial, raws in front
    ]
