"""The objective and its metric strategies.

Katib's `validateObjective` (`pkg/webhook/v1beta1/experiment/validator/validator.go`) requires the
objective, a type of minimize or maximize, an objectiveMetricName, and additionalMetricNames
without the objective metric; on any of these errors validation stops at once. katib-py also
checks what Katib leaves to fail later: a finite goal, additional metric names non-empty and
unique, and `metricStrategies` (defaulted by `pkg/apis/controller/experiments/v1beta1/experiment_defaults.go`,
typed in `pkg/apis/controller/common/v1beta1/common_types.go`) naming a known metric with min, max
or latest.

katib-py's `additionalObjectives` (a multi-objective search): at most
`MAX_ADDITIONAL_OBJECTIVES`, each with a non-empty metric name that is not the first objective's
and not repeated, a type of minimize or maximize, and its metric in additionalMetricNames (the
defaulting adds it there, so only an undefaulted object can miss it).
"""

from __future__ import annotations

import math

from katib_py.api.models import Experiment, MetricStrategyType, ObjectiveSpec, ObjectiveType
from katib_py.api.validation._errors import FieldError

# Beyond a handful of objectives nearly every trial is non-dominated and the front says little
# (Optuna's NSGA-II docs note the same); 10 leaves room without inviting that.
MAX_ADDITIONAL_OBJECTIVES = 10


def validate_objective(exp: Experiment) -> list[FieldError]:
    assert exp.spec is not None
    obj = exp.spec.objective
    if obj is None:
        return [FieldError("spec.objective", "must be specified")]
    errors: list[FieldError] = []
    if obj.type not in (ObjectiveType.MINIMIZE, ObjectiveType.MAXIMIZE):
        errors.append(FieldError("spec.objective.type", f"must be minimize or maximize, got {obj.type!r}"))
    if obj.goal is not None and not math.isfinite(obj.goal):
        errors.append(FieldError("spec.objective.goal", f"must be a finite number, got {obj.goal!r}"))
    if not obj.objective_metric_name:
        errors.append(FieldError("spec.objective.objectiveMetricName", "must be specified"))
    additional = obj.additional_metric_names or []
    if obj.objective_metric_name and obj.objective_metric_name in additional:
        errors.append(
            FieldError(
                "spec.objective.additionalMetricNames",
                f"should not contain spec.objective.objectiveMetricName ({obj.objective_metric_name})",
            )
        )
    seen: set[str] = set()
    for i, name in enumerate(additional):
        if not name:
            errors.append(FieldError(f"spec.objective.additionalMetricNames[{i}]", "must not be empty"))
        elif name in seen:
            errors.append(
                FieldError(f"spec.objective.additionalMetricNames[{i}]", f"duplicate metric name {name!r}")
            )
        seen.add(name)
    metrics = {obj.objective_metric_name, *additional}
    strategy_names: set[str] = set()
    for i, strat in enumerate(obj.metric_strategies or []):
        path = f"spec.objective.metricStrategies[{i}]"
        if strat.name not in metrics:
            errors.append(
                FieldError(
                    f"{path}.name", f"{strat.name!r} is neither the objective nor an additional metric"
                )
            )
        elif strat.name in strategy_names:
            errors.append(FieldError(f"{path}.name", f"duplicate strategy for metric {strat.name!r}"))
        strategy_names.add(strat.name or "")
        if strat.value not in [s.value for s in MetricStrategyType]:
            errors.append(FieldError(f"{path}.value", f"must be min, max or latest, got {strat.value!r}"))
    errors.extend(_additional_objectives(obj))
    return errors


def _additional_objectives(obj: ObjectiveSpec) -> list[FieldError]:
    extras = obj.additional_objectives
    if extras is None:
        return []
    base = "spec.objective.additionalObjectives"
    if len(extras) > MAX_ADDITIONAL_OBJECTIVES:
        return [
            FieldError(base, f"at most {MAX_ADDITIONAL_OBJECTIVES} additional objectives, got {len(extras)}")
        ]
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, extra in enumerate(extras):
        path = f"{base}[{i}]"
        name = extra.objective_metric_name
        if not name:
            errors.append(FieldError(f"{path}.objectiveMetricName", "must be specified"))
        elif name == obj.objective_metric_name:
            errors.append(
                FieldError(
                    f"{path}.objectiveMetricName",
                    f"{name!r} is already the first objective (spec.objective.objectiveMetricName)",
                )
            )
        elif name in seen:
            errors.append(FieldError(f"{path}.objectiveMetricName", f"duplicate objective {name!r}"))
        elif name not in (obj.additional_metric_names or []):
            errors.append(
                FieldError(
                    f"{path}.objectiveMetricName",
                    f"{name!r} must be in spec.objective.additionalMetricNames to be collected",
                )
            )
        seen.add(name or "")
        if extra.type not in (ObjectiveType.MINIMIZE, ObjectiveType.MAXIMIZE):
            errors.append(FieldError(f"{path}.type", f"must be minimize or maximize, got {extra.type!r}"))
    return errors
