"""Build api.v1.beta1 request messages from plain Python values (for clients, tests and benchmarks)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from katib_py.proto import api_pb2

_TYPES = {
    "double": api_pb2.DOUBLE,
    "int": api_pb2.INT,
    "discrete": api_pb2.DISCRETE,
    "categorical": api_pb2.CATEGORICAL,
}
_DISTRIBUTIONS = {
    "": api_pb2.DISTRIBUTION_UNSPECIFIED,
    "uniform": api_pb2.UNIFORM,
    "logUniform": api_pb2.LOG_UNIFORM,
    "normal": api_pb2.NORMAL,
    "logNormal": api_pb2.LOG_NORMAL,
}
CONDITIONS = {
    "Created": api_pb2.TrialStatus.CREATED,
    "Running": api_pb2.TrialStatus.RUNNING,
    "Succeeded": api_pb2.TrialStatus.SUCCEEDED,
    "Killed": api_pb2.TrialStatus.KILLED,
    "Failed": api_pb2.TrialStatus.FAILED,
    "MetricsUnavailable": api_pb2.TrialStatus.METRICSUNAVAILABLE,
    "EarlyStopped": api_pb2.TrialStatus.EARLYSTOPPED,
}


def parameter(
    name: str,
    type: str,
    *,
    min: str | float | None = None,
    max: str | float | None = None,
    step: str | float | None = None,
    values: Iterable[str] = (),
    distribution: str = "",
) -> api_pb2.ParameterSpec:
    """One ParameterSpec; numbers are written as Katib's strings."""
    space = api_pb2.FeasibleSpace(
        min="" if min is None else str(min),
        max="" if max is None else str(max),
        step="" if step is None else str(step),
        list=list(values),
        distribution=_DISTRIBUTIONS[distribution],
    )
    return api_pb2.ParameterSpec(name=name, parameter_type=_TYPES[type], feasible_space=space)


def experiment(
    name: str,
    algorithm: str,
    parameters: Iterable[api_pb2.ParameterSpec],
    *,
    settings: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    metric: str = "loss",
    maximize: bool = False,
    parallel_trial_count: int = 3,
    max_trial_count: int = 0,
    early_stopping: str = "",
    early_stopping_settings: Mapping[str, str] = {},
    additional_objectives: Iterable[tuple[str, bool]] = (),
) -> api_pb2.Experiment:
    """`additional_objectives` are katib-py's, as (metric name, maximize)."""
    items = settings.items() if isinstance(settings, Mapping) else settings
    spec = api_pb2.ExperimentSpec(
        parameter_specs=api_pb2.ExperimentSpec.ParameterSpecs(parameters=list(parameters)),
        objective=api_pb2.ObjectiveSpec(
            type=api_pb2.MAXIMIZE if maximize else api_pb2.MINIMIZE, objective_metric_name=metric
        ),
        algorithm=api_pb2.AlgorithmSpec(
            algorithm_name=algorithm,
            algorithm_settings=[api_pb2.AlgorithmSetting(name=k, value=str(v)) for k, v in items],
        ),
        parallel_trial_count=parallel_trial_count,
        max_trial_count=max_trial_count,
    )
    for name, up in additional_objectives:
        spec.objective.additional_objectives.add(
            objective_metric_name=name, type=api_pb2.MAXIMIZE if up else api_pb2.MINIMIZE
        )
    if early_stopping:
        spec.early_stopping.algorithm_name = early_stopping
        for k, v in early_stopping_settings.items():
            spec.early_stopping.algorithm_settings.add(name=k, value=str(v))
    return api_pb2.Experiment(name=name, spec=spec)


def trial(
    name: str,
    assignment: Mapping[str, str],
    condition: str = "Running",
    metrics: Mapping[str, float | str] = {},
    labels: Mapping[str, str] = {},
    start_time: str = "",
    completion_time: str = "",
) -> api_pb2.Trial:
    message = api_pb2.Trial(name=name)
    for k, v in assignment.items():
        message.spec.parameter_assignments.assignments.add(name=k, value=str(v))
    message.spec.labels.update(labels)
    message.status.condition = CONDITIONS[condition]
    message.status.start_time = start_time
    message.status.completion_time = completion_time
    for k, mv in metrics.items():
        message.status.observation.metrics.add(name=k, value=str(mv))
    return message


@dataclass
class Assigned:
    """One assignment from a GetSuggestionsReply, as plain values."""

    assignment: dict[str, str]
    trial_name: str = ""
    labels: dict[str, str] = field(default_factory=dict)


def assignments(reply: api_pb2.GetSuggestionsReply) -> list[Assigned]:
    return [
        Assigned({a.name: a.value for a in item.assignments}, item.trial_name, dict(item.labels))
        for item in reply.parameter_assignments
    ]


def reply_settings(reply: api_pb2.GetSuggestionsReply) -> dict[str, str]:
    return {s.name: s.value for s in reply.algorithm.algorithm_settings}
