"""Katib's Experiment defaulting, as a pure function.

Katib's mutating webhook (`pkg/webhook/v1beta1/experiment/mutate_webhook.go`) calls
`Experiment.SetDefault` (`pkg/apis/controller/experiments/v1beta1/experiment_defaults.go`):
parallelTrialCount, resumePolicy, the objective's metric strategies, the trial template's
conditions and primary pod labels by the trialSpec's kind, the metrics collector, and each
parameter's distribution.

`apply_defaults` returns a new Experiment; `default_patch` gives the JSON patch the mutating
admission webhook answers with (against the raw object the API server sent).
"""

from __future__ import annotations

from typing import Any

import jsonpatch
import jsonpointer

from katib_py.api.models import (
    CollectorKind,
    CollectorSpec,
    Distribution,
    Experiment,
    FileFormat,
    FileSystemKind,
    FileSystemPath,
    MetricsCollectorSpec,
    MetricStrategy,
    MetricStrategyType,
    ObjectiveSpec,
    ObjectiveType,
    ResumePolicy,
    SourceSpec,
    TrialTemplate,
)

DEFAULT_PARALLEL_TRIAL_COUNT = 3
DEFAULT_FILE_METRICS_PATH = "/var/log/katib/metrics.log"
DEFAULT_TFEVENT_DIR = "/var/log/katib/tfevent/"
DEFAULT_PROMETHEUS_PATH = "/metrics"
DEFAULT_PROMETHEUS_PORT = 8080

_JOB_CONDITIONS = (
    'status.conditions.#(type=="Complete")#|#(status=="True")#',
    'status.conditions.#(type=="Failed")#|#(status=="True")#',
)
_KUBEFLOW_JOB_CONDITIONS = (
    'status.conditions.#(type=="Succeeded")#|#(status=="True")#',
    'status.conditions.#(type=="Failed")#|#(status=="True")#',
)
# Keyed on kind only, as Katib does: kind -> (success, failure, primaryPodLabels or None)
TRIAL_KIND_DEFAULTS: dict[str, tuple[str, str, dict[str, str] | None]] = {
    "Job": (*_JOB_CONDITIONS, None),
    **{
        kind: (*_KUBEFLOW_JOB_CONDITIONS, {"training.kubeflow.org/job-role": "master"})
        for kind in ("TFJob", "PyTorchJob", "XGBoostJob", "MPIJob")
    },
    "TrainJob": (
        *_JOB_CONDITIONS,
        {"jobset.sigs.k8s.io/replicatedjob-name": "node", "batch.kubernetes.io/job-completion-index": "0"},
    ),
}


def apply_defaults(exp: Experiment) -> Experiment:
    """A defaulted copy of `exp`; `exp` itself is left unchanged."""
    out = exp.model_copy(deep=True)
    spec = out.spec
    if spec is None:
        return out
    if spec.parallel_trial_count is None:
        spec.parallel_trial_count = DEFAULT_PARALLEL_TRIAL_COUNT
    if not spec.resume_policy:
        spec.resume_policy = ResumePolicy.NEVER.value
    if spec.objective is not None:
        _default_objective(spec.objective)
    if spec.trial_template is not None:
        _default_trial_template(spec.trial_template)
    if spec.metrics_collector_spec is None:
        spec.metrics_collector_spec = MetricsCollectorSpec()
    _default_metrics_collector(spec.metrics_collector_spec)
    for param in spec.parameters or []:
        if param.feasible_space is None:
            continue
        if not param.feasible_space.distribution:
            param.feasible_space.distribution = Distribution.UNIFORM.value
    return out


def _strategy_for(objective_type: str | None) -> str:
    if objective_type == ObjectiveType.MINIMIZE:
        return MetricStrategyType.MIN.value
    if objective_type == ObjectiveType.MAXIMIZE:
        return MetricStrategyType.MAX.value
    return MetricStrategyType.LATEST.value


def _default_objective(obj: ObjectiveSpec) -> None:
    strategies = list(obj.metric_strategies or [])
    have = {s.name for s in strategies}
    # katib-py: an additional objective's metric must be collected like any additional metric, so it
    # joins additionalMetricNames, with a strategy by its own direction (Katib's rule for the first
    # objective) rather than the first objective's. Without additionalObjectives nothing changes.
    for extra in obj.additional_objectives or []:
        name = extra.objective_metric_name
        if not name or name == obj.objective_metric_name:
            continue  # refused at admission
        if name not in (obj.additional_metric_names or []):
            obj.additional_metric_names = [*(obj.additional_metric_names or []), name]
        if name not in have:
            strategies.append(MetricStrategy(name=name, value=_strategy_for(extra.type)))
            have.add(name)
    wanted = [obj.objective_metric_name or "", *(obj.additional_metric_names or [])]
    # Katib adds a strategy for the objective metric and every additional metric that lacks one,
    # all following the objective direction (the code, not its comment).
    for name in wanted:
        if name not in have:
            strategies.append(MetricStrategy(name=name, value=_strategy_for(obj.type)))
            have.add(name)
    obj.metric_strategies = strategies


def _default_trial_template(tt: TrialTemplate) -> None:
    if tt.trial_spec is None:
        return  # never for the configMap source
    kind = tt.trial_spec.get("kind")
    defaults = TRIAL_KIND_DEFAULTS.get(kind) if isinstance(kind, str) else None
    if defaults is None:
        return
    success, failure, labels = defaults
    if not tt.success_condition:
        tt.success_condition = success
    if not tt.failure_condition:
        tt.failure_condition = failure
    if labels is not None and not tt.primary_pod_labels:
        tt.primary_pod_labels = dict(labels)


def _default_metrics_collector(mc: MetricsCollectorSpec) -> None:
    if mc.collector is None:
        mc.collector = CollectorSpec(kind=CollectorKind.STDOUT.value)
    kind = mc.collector.kind
    if kind == CollectorKind.PROMETHEUS_METRIC:
        source = mc.source = mc.source or SourceSpec()
        http_get = dict(source.http_get or {})
        if not http_get.get("path"):
            http_get["path"] = DEFAULT_PROMETHEUS_PATH
        if http_get.get("port") in (None, 0, "0", ""):
            http_get["port"] = DEFAULT_PROMETHEUS_PORT
        source.http_get = http_get
    elif kind == CollectorKind.FILE:
        fsp = _file_system_path(mc)
        fsp.kind = fsp.kind or FileSystemKind.FILE.value
        fsp.path = fsp.path or DEFAULT_FILE_METRICS_PATH
        fsp.format = fsp.format or FileFormat.TEXT.value
    elif kind == CollectorKind.TENSORFLOW_EVENT:
        fsp = _file_system_path(mc)
        fsp.kind = fsp.kind or FileSystemKind.DIRECTORY.value
        fsp.path = fsp.path or DEFAULT_TFEVENT_DIR


def _file_system_path(mc: MetricsCollectorSpec) -> FileSystemPath:
    source = mc.source = mc.source or SourceSpec()
    if source.file_system_path is None:
        source.file_system_path = FileSystemPath()
    return source.file_system_path


def default_patch(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """JSON patch ops turning the raw Experiment into its defaulted form (for /mutate-experiment)."""
    defaulted = apply_defaults(Experiment.load(raw)).dump()
    ops: list[dict[str, Any]] = jsonpatch.make_patch(raw, defaulted).patch
    # A number the model re-types (goal: 1 -> 1.0) is not a change: leave it as the user wrote it.
    return [op for op in ops if not (op["op"] == "replace" and _same_number(raw, op["path"], op["value"]))]


def _same_number(raw: dict[str, Any], path: str, value: Any) -> bool:
    try:
        current = jsonpointer.resolve_pointer(raw, path)
    except jsonpointer.JsonPointerException:
        return False
    numbers = (int, float)
    return isinstance(current, numbers) and isinstance(value, numbers) and current == value
