"""Katib's kubeflow.org/v1beta1 API objects as pydantic models.

The types are Katib's `pkg/apis/controller/common/v1beta1/common_types.go`,
`pkg/apis/controller/experiments/v1beta1/experiment_types.go`,
`pkg/apis/controller/suggestions/v1beta1/suggestion_types.go` and
`pkg/apis/controller/trials/v1beta1/trial_types.go`.

Field names are snake_case in Python and camelCase on the wire. Everything is optional
so that any object a cluster holds loads; `dump()` writes back only what was set, so a
load/dump round trip neither loses nor invents a field. Free-form parts (trialSpec,
runSpec, Kubernetes types such as a custom collector container) stay plain dicts.
"""

from __future__ import annotations

import builtins
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

GROUP = "kubeflow.org"
VERSION = "v1beta1"
API_VERSION = f"{GROUP}/{VERSION}"


class KatibModel(BaseModel):
    """Base: camelCase aliases, unknown fields kept (a newer Katib's fields survive a round trip)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        validate_assignment=False,
    )

    def dump(self) -> dict[str, Any]:
        """The wire form: camelCase, only the fields that were set."""
        return self.model_dump(by_alias=True, exclude_unset=True, mode="json")

    @classmethod
    def load(cls, data: dict[str, Any]) -> Self:
        return cls.model_validate(data)


# ---------------------------------------------------------------- enums (wire strings)


class ParameterType(StrEnum):
    INT = "int"
    DOUBLE = "double"
    DISCRETE = "discrete"
    CATEGORICAL = "categorical"
    UNKNOWN = "unknown"


class Distribution(StrEnum):
    UNIFORM = "uniform"
    LOG_UNIFORM = "logUniform"
    NORMAL = "normal"
    LOG_NORMAL = "logNormal"
    UNKNOWN = "unknown"


class ObjectiveType(StrEnum):
    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"


class MetricStrategyType(StrEnum):
    MIN = "min"
    MAX = "max"
    LATEST = "latest"


class ComparisonType(StrEnum):
    EQUAL = "equal"
    LESS = "less"
    GREATER = "greater"


class ResumePolicy(StrEnum):
    NEVER = "Never"
    LONG_RUNNING = "LongRunning"
    FROM_VOLUME = "FromVolume"


class CollectorKind(StrEnum):
    STDOUT = "StdOut"
    FILE = "File"
    TENSORFLOW_EVENT = "TensorFlowEvent"
    PROMETHEUS_METRIC = "PrometheusMetric"
    CUSTOM = "Custom"
    PUSH = "Push"
    NONE = "None"  # Katib's name for Push before v0.18; accepted as an alias


class FileSystemKind(StrEnum):
    DIRECTORY = "Directory"
    FILE = "File"
    INVALID = "Invalid"


class FileFormat(StrEnum):
    TEXT = "TEXT"
    JSON = "JSON"


class ExperimentConditionType(StrEnum):
    CREATED = "Created"
    RUNNING = "Running"
    RESTARTING = "Restarting"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class SuggestionConditionType(StrEnum):
    CREATED = "Created"
    DEPLOYMENT_READY = "DeploymentReady"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class TrialConditionType(StrEnum):
    CREATED = "Created"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    KILLED = "Killed"
    FAILED = "Failed"
    METRICS_UNAVAILABLE = "MetricsUnavailable"
    EARLY_STOPPED = "EarlyStopped"


# Enum-typed fields are declared `str` so that a wrong value loads and validation can
# report it with its path (instead of pydantic refusing the whole object).

# ---------------------------------------------------------------- common types


class AlgorithmSetting(KatibModel):
    name: str | None = None
    value: str | None = None


class AlgorithmSpec(KatibModel):
    algorithm_name: str | None = None
    algorithm_settings: list[AlgorithmSetting] | None = None


class EarlyStoppingSetting(KatibModel):
    name: str | None = None
    value: str | None = None


class EarlyStoppingSpec(KatibModel):
    algorithm_name: str | None = None
    algorithm_settings: list[EarlyStoppingSetting] | None = None


class EarlyStoppingRule(KatibModel):
    name: str | None = None
    value: str | None = None
    comparison: str | None = None
    start_step: int | None = None


class MetricStrategy(KatibModel):
    name: str | None = None
    value: str | None = None


class AdditionalObjective(KatibModel):
    """katib-py addition: one more objective of a multi-objective search (a metric and a direction)."""

    objective_metric_name: str | None = None
    type: str | None = None


class ObjectiveSpec(KatibModel):
    type: str | None = None
    goal: float | None = None
    objective_metric_name: str | None = None
    additional_metric_names: list[str] | None = None
    metric_strategies: list[MetricStrategy] | None = None
    # katib-py: objectives searched jointly with the first one (objectiveMetricName/type); their
    # trade-off is reported in status.paretoFront.
    additional_objectives: list[AdditionalObjective] | None = None


class ParameterAssignment(KatibModel):
    name: str | None = None
    value: str | None = None


class Metric(KatibModel):
    name: str | None = None
    min: str | None = None
    max: str | None = None
    latest: str | None = None


class Observation(KatibModel):
    metrics: list[Metric] | None = None


class FilterSpec(KatibModel):
    metrics_format: list[str] | None = None


class FileSystemPath(KatibModel):
    path: str | None = None
    kind: str | None = None
    format: str | None = None


class SourceSpec(KatibModel):
    http_get: dict[str, Any] | None = None  # corev1.HTTPGetAction
    file_system_path: FileSystemPath | None = None
    filter: FilterSpec | None = None


class CollectorSpec(KatibModel):
    kind: str | None = None
    custom_collector: dict[str, Any] | None = None  # corev1.Container


class MetricsCollectorSpec(KatibModel):
    source: SourceSpec | None = None
    collector: CollectorSpec | None = None


class Condition(KatibModel):
    type: str | None = None
    status: str | None = None
    reason: str | None = None
    message: str | None = None
    last_update_time: str | None = None
    last_transition_time: str | None = None


class ObjectMeta(KatibModel):
    """The parts of metav1.ObjectMeta katib-py reads; the rest is kept as extra fields."""

    name: str | None = None
    generate_name: str | None = None
    namespace: str | None = None
    uid: str | None = None
    resource_version: str | None = None
    generation: int | None = None
    creation_timestamp: str | None = None
    deletion_timestamp: str | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    finalizers: list[str] | None = None
    owner_references: list[dict[str, Any]] | None = None


# ---------------------------------------------------------------- Experiment


class FeasibleSpace(KatibModel):
    max: str | None = None
    min: str | None = None
    list: builtins.list[str] | None = None
    step: str | None = None
    distribution: str | None = None


class ParameterSpec(KatibModel):
    name: str | None = None
    parameter_type: str | None = None
    feasible_space: FeasibleSpace | None = None


class GraphConfig(KatibModel):
    num_layers: int | None = None
    input_sizes: list[int] | None = None
    output_sizes: list[int] | None = None


class Operation(KatibModel):
    operation_type: str | None = None
    parameters: list[ParameterSpec] | None = None


class NasConfig(KatibModel):
    graph_config: GraphConfig | None = None
    operations: list[Operation] | None = None


class ConfigMapSource(KatibModel):
    config_map_name: str | None = None
    config_map_namespace: str | None = None
    template_path: str | None = None


class TrialParameterSpec(KatibModel):
    name: str | None = None
    description: str | None = None
    reference: str | None = None


class TrialTemplate(KatibModel):
    retain: bool | None = None
    trial_spec: dict[str, Any] | None = None
    config_map: ConfigMapSource | None = None
    trial_parameters: list[TrialParameterSpec] | None = None
    primary_pod_labels: dict[str, str] | None = None
    primary_container_name: str | None = None
    success_condition: str | None = None
    failure_condition: str | None = None


class WarmStartSpec(KatibModel):
    """katib-py addition: points evaluated first (`points`, each parameter name -> value) and earlier
    experiments whose trials seed the algorithm's history (`experiments`, names in the namespace)."""

    points: list[dict[str, str]] | None = None
    experiments: list[str] | None = None


class ExperimentSpec(KatibModel):
    parameters: list[ParameterSpec] | None = None
    objective: ObjectiveSpec | None = None
    algorithm: AlgorithmSpec | None = None
    early_stopping: EarlyStoppingSpec | None = None
    trial_template: TrialTemplate | None = None
    parallel_trial_count: int | None = None
    max_trial_count: int | None = None
    max_failed_trial_count: int | None = None
    metrics_collector_spec: MetricsCollectorSpec | None = None
    nas_config: NasConfig | None = None
    resume_policy: str | None = None
    # katib-py additions (README "Differences from Katib"; kubeflow/katib#1151): a wall-clock budget
    # for the experiment from status.startTime, and a timeout each trial gets as spec.timeoutSeconds.
    max_duration_seconds: int | None = None
    trial_timeout_seconds: int | None = None
    # katib-py addition (kubeflow/katib#433, #2452): how many times a trial is retried after an
    # infrastructure failure (eviction, preemption, a container that cannot start); unset or 0: never.
    infra_retry_limit: int | None = None
    warm_start: WarmStartSpec | None = None


class OptimalTrial(KatibModel):
    best_trial_name: str | None = None
    parameter_assignments: list[ParameterAssignment] | None = None
    observation: Observation | None = None


class ParetoValue(KatibModel):
    """One objective's value of a Pareto-optimal trial (the metric string, as in an observation)."""

    name: str | None = None
    value: str | None = None


class ParetoTrial(KatibModel):
    """katib-py addition: a trial no other succeeded trial dominates, with its value per objective."""

    trial_name: str | None = None
    values: list[ParetoValue] | None = None


class ExperimentStatus(KatibModel):
    start_time: str | None = None
    completion_time: str | None = None
    last_reconcile_time: str | None = None
    conditions: list[Condition] | None = None
    current_optimal_trial: OptimalTrial | None = None
    running_trial_list: list[str] | None = None
    pending_trial_list: list[str] | None = None
    failed_trial_list: list[str] | None = None
    succeeded_trial_list: list[str] | None = None
    killed_trial_list: list[str] | None = None
    early_stopped_trial_list: list[str] | None = None
    metrics_unavailable_trial_list: list[str] | None = None
    trials: int | None = None
    trials_succeeded: int | None = None
    trials_failed: int | None = None
    trials_killed: int | None = None
    trials_pending: int | None = None
    trials_running: int | None = None
    trials_early_stopped: int | None = None
    # Katib spells this one without the "s".
    trial_metrics_unavailable: int | None = None
    # katib-py, only with spec.objective.additionalObjectives: the non-dominated succeeded trials
    # and their number (for the -o wide column).
    pareto_front: list[ParetoTrial] | None = None
    pareto_front_size: int | None = None


class Experiment(KatibModel):
    api_version: str | None = Field(default=None, alias="apiVersion")
    kind: str | None = None
    metadata: ObjectMeta | None = None
    spec: ExperimentSpec | None = None
    status: ExperimentStatus | None = None


# ---------------------------------------------------------------- Suggestion


class TrialAssignment(KatibModel):
    parameter_assignments: list[ParameterAssignment] | None = None
    name: str | None = None
    early_stopping_rules: list[EarlyStoppingRule] | None = None
    labels: dict[str, str] | None = None


class SuggestionSpec(KatibModel):
    algorithm: AlgorithmSpec | None = None
    early_stopping: EarlyStoppingSpec | None = None
    requests: int | None = None
    resume_policy: str | None = None


class SuggestionStatus(KatibModel):
    algorithm_settings: list[AlgorithmSetting] | None = None
    suggestion_count: int | None = None
    suggestions: list[TrialAssignment] | None = None
    start_time: str | None = None
    completion_time: str | None = None
    last_reconcile_time: str | None = None
    conditions: list[Condition] | None = None


class Suggestion(KatibModel):
    api_version: str | None = Field(default=None, alias="apiVersion")
    kind: str | None = None
    metadata: ObjectMeta | None = None
    spec: SuggestionSpec | None = None
    status: SuggestionStatus | None = None


# ---------------------------------------------------------------- Trial


class TrialSpec(KatibModel):
    objective: ObjectiveSpec | None = None
    parameter_assignments: list[ParameterAssignment] | None = None
    early_stopping_rules: list[EarlyStoppingRule] | None = None
    run_spec: dict[str, Any] | None = None
    retain_run: bool | None = None
    metrics_collector: MetricsCollectorSpec | None = None
    primary_pod_labels: dict[str, str] | None = None
    primary_container_name: str | None = None
    success_condition: str | None = None
    failure_condition: str | None = None
    labels: dict[str, str] | None = None
    # katib-py addition: from the experiment's spec.trialTimeoutSeconds.
    timeout_seconds: int | None = None
    # katib-py addition: from the experiment's spec.infraRetryLimit.
    infra_retry_limit: int | None = None


class TrialStatus(KatibModel):
    start_time: str | None = None
    completion_time: str | None = None
    last_reconcile_time: str | None = None
    conditions: list[Condition] | None = None
    observation: Observation | None = None
    # katib-py addition: how many times the trial was retried after an infrastructure failure.
    infra_retries: int | None = None


class Trial(KatibModel):
    api_version: str | None = Field(default=None, alias="apiVersion")
    kind: str | None = None
    metadata: ObjectMeta | None = None
    spec: TrialSpec | None = None
    status: TrialStatus | None = None
