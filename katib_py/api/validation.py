"""Katib's Experiment validation (spec 1.7) with the fixes of spec section 0 (items 5, 6, 9).

`validate_experiment` is pure: the admission webhook, `katib-py validate` and tests share it. It
returns every error with its field path, in Katib's rule order. As in Katib, an objective error
returns at once (later rules need a usable objective), and so do trial-template errors that leave
nothing to check further. Cluster-dependent checks (namespace label, PV existence) belong to the
webhook; loading a configMap trial template is a hook (`load_template`) the webhook plugs in.

Beyond Katib, it checks what Katib forgets (see README "Differences from Katib validation"):
parameter names unique, numbers parse, min < max, step > 0, lists non-empty and unique,
logUniform/logNormal need min > 0, distributions and settings the chosen algorithm supports,
metric strategies, and every metrics filter (StdOut included).
"""

from __future__ import annotations

import json
import math
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from katib_py.api import algorithms
from katib_py.api.config import KatibConfig, default_katib_config
from katib_py.api.models import (
    CollectorKind,
    Distribution,
    Experiment,
    FileFormat,
    FileSystemKind,
    MetricsCollectorSpec,
    MetricStrategyType,
    ObjectiveType,
    ParameterSpec,
    ParameterType,
    ResumePolicy,
)
from katib_py.api.trialjob import job_problems

MAX_NAME_LENGTH = 40
NAME_PATTERN = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")  # used with fullmatch
TRIAL_PARAM_FORMAT = "${{trialParameters.{}}}"
TRIAL_PARAM_LEFTOVER = re.compile(r"\$\{trialParameters\..+?\}")
META_REF = re.compile(r"\$\{trialSpec\.(.+?)\}")
META_INDEXED = re.compile(r"(.+)\[(.+)]")
META_KEYS = ("Name", "Namespace", "Kind", "APIVersion", "Annotations", "Labels")
AUTO_INJECT_KINDS = ("StdOut", "TensorFlowEvent", "File", "PrometheusMetric")
NUMERIC_TYPES = (ParameterType.INT.value, ParameterType.DOUBLE.value)
LIST_TYPES = (ParameterType.CATEGORICAL.value, ParameterType.DISCRETE.value)

# (namespace, configMapName, templatePath) -> template text, or None when not found
TemplateLoader = Callable[[str, str, str], str | None]


@dataclass(frozen=True)
class FieldError:
    """One rejected field: `path` like `spec.parameters[2].feasibleSpace.min`, and why."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


# ---------------------------------------------------------------- loading


def load_experiment(raw: Any) -> tuple[Experiment | None, list[FieldError]]:
    """Parse a raw object; wrongly typed fields become FieldErrors instead of an exception."""
    if not isinstance(raw, dict):
        return None, [
            FieldError("<root>", "an Experiment must be a mapping (apiVersion, kind, metadata, spec)")
        ]
    errors: list[FieldError] = []
    if raw.get("apiVersion") != "kubeflow.org/v1beta1":
        errors.append(
            FieldError("apiVersion", f"must be kubeflow.org/v1beta1, got {raw.get('apiVersion')!r}")
        )
    if raw.get("kind") != "Experiment":
        errors.append(FieldError("kind", f"must be Experiment, got {raw.get('kind')!r}"))
    try:
        exp = Experiment.load(raw)
    except ValidationError as exc:
        for err in exc.errors():
            errors.append(FieldError(_loc_path(err["loc"]), _type_message(err)))
        return None, errors
    return (None if errors else exp), errors


def _loc_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "[" in part:
            continue  # pydantic's type labels, e.g. list[str]
        else:
            out += f".{part}" if out else str(part)
    return out or "<root>"


def _type_message(err: Any) -> str:
    kind = err.get("type", "")
    got = err.get("input")
    wants = {
        "int_parsing": "an integer",
        "int_type": "an integer",
        "int_from_float": "an integer",
        "float_parsing": "a number",
        "float_type": "a number",
        "string_type": "a string",
        "bool_type": "true or false",
        "bool_parsing": "true or false",
        "list_type": "a list",
        "dict_type": "a mapping",
        "model_type": "a mapping",
        "model_attributes_type": "a mapping",
    }
    if kind in wants:
        return f"must be {wants[kind]}, got {got!r}"
    return str(err.get("msg", "invalid value"))


# ---------------------------------------------------------------- entry point


def validate_experiment(
    exp: Experiment,
    *,
    old: Experiment | None = None,
    config: KatibConfig | None = None,
    load_template: TemplateLoader | None = None,
) -> list[FieldError]:
    """Every error of `exp` (already defaulted, as the webhook sees it), in Katib's rule order.

    `old` is the stored object on UPDATE. `config` defaults to the packaged katib-config.
    `load_template` resolves configMap trial templates; without it that source is not loaded.
    """
    cfg = config if config is not None else default_katib_config()
    errors: list[FieldError] = []
    add = errors.append
    meta_name = exp.metadata.name if exp.metadata else None
    _validate_name(meta_name, exp.metadata.generate_name if exp.metadata else None, add)
    spec = exp.spec
    if spec is None:
        add(FieldError("spec", "must be specified"))
        return errors
    _validate_counts(exp, add)
    if old is not None:
        _validate_update(exp, old, add)
    objective_errors = _validate_objective(exp)
    if objective_errors:
        return errors + objective_errors  # Katib returns at once: later rules need the objective
    _validate_algorithm(exp, cfg, add)
    _validate_early_stopping(exp, cfg, add)
    if spec.resume_policy not in (None, "", *[p.value for p in ResumePolicy]):
        add(
            FieldError(
                "spec.resumePolicy",
                f"invalid ResumePolicyType {spec.resume_policy!r}: must be Never, LongRunning or FromVolume",
            )
        )
    errors.extend(_validate_trial_template(exp, load_template))
    if not spec.parameters and spec.nas_config is None:
        add(FieldError("spec", "spec.parameters or spec.nasConfig must be specified"))
    if spec.parameters and spec.nas_config is not None:
        add(FieldError("spec", "only one of spec.parameters and spec.nasConfig can be specified"))
    if spec.parameters:
        _validate_parameters(exp, add)
    _validate_metrics_collector(spec.metrics_collector_spec, cfg, add)
    return errors


Add = Callable[[FieldError], None]


# ---------------------------------------------------------------- rules 1-4


def _validate_name(name: str | None, generate_name: str | None, add: Add) -> None:
    if not name:
        if not generate_name:
            add(FieldError("metadata.name", "must be specified"))
        return
    if not NAME_PATTERN.fullmatch(name):
        add(
            FieldError(
                "metadata.name",
                f"invalid name {name!r}: must consist of lower case alphanumeric characters or '-', start "
                "with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name', or "
                "'abc-123', regex used for validation is '^[a-z]([-a-z0-9]*[a-z0-9])?$')",
            )
        )
    if len(name) > MAX_NAME_LENGTH:
        add(
            FieldError("metadata.name", f"must be no more than {MAX_NAME_LENGTH} characters, got {len(name)}")
        )


def _validate_counts(exp: Experiment, add: Add) -> None:
    assert exp.spec is not None
    failed, max_t, parallel = (
        exp.spec.max_failed_trial_count,
        exp.spec.max_trial_count,
        exp.spec.parallel_trial_count,
    )
    if failed is not None and failed < 0:
        add(FieldError("spec.maxFailedTrialCount", f"should not be less than 0, got {failed}"))
    if max_t is not None and max_t <= 0:
        add(FieldError("spec.maxTrialCount", f"must be greater than 0, got {max_t}"))
    if parallel is not None and parallel <= 0:
        add(FieldError("spec.parallelTrialCount", f"must be greater than 0, got {parallel}"))
    if failed is not None and max_t is not None and failed > max_t:
        add(
            FieldError(
                "spec.maxFailedTrialCount", f"should be less than or equal to spec.maxTrialCount ({max_t})"
            )
        )
    if parallel is not None and max_t is not None and parallel > max_t:
        add(
            FieldError(
                "spec.parallelTrialCount", f"should be less than or equal to spec.maxTrialCount ({max_t})"
            )
        )


def _normalized(value: Any) -> Any:
    """Kubernetes semantic equality: nil and empty lists/maps are equal."""
    if isinstance(value, dict):
        return {k: _normalized(v) for k, v in value.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    return value


def _condition_true(exp: Experiment, ctype: str) -> Any:
    for cond in (exp.status.conditions if exp.status else None) or []:
        if cond.type == ctype and cond.status == "True":
            return cond
    return None


def _validate_update(exp: Experiment, old: Experiment, add: Add) -> None:
    assert exp.spec is not None
    new_spec = _normalized(exp.spec.dump())
    old_spec = _normalized(old.spec.dump()) if old.spec else {}
    if new_spec == old_spec:
        return
    succeeded = _condition_true(old, "Succeeded")
    completed = succeeded is not None or _condition_true(old, "Failed") is not None
    old_policy = old.spec.resume_policy if old.spec else None
    restartable = (
        succeeded is not None
        and succeeded.reason == "ExperimentMaxTrialsReached"
        and old_policy in (ResumePolicy.LONG_RUNNING, ResumePolicy.FROM_VOLUME)
    )
    if completed and not restartable:
        add(
            FieldError(
                "spec.resumePolicy",
                "Experiment can be restarted if it is in succeeded state by reaching max trials and "
                "spec.resumePolicy = LongRunning or spec.resumePolicy = FromVolume, when experiment "
                "is completed",
            )
        )
    old_trials = (old.status.trials if old.status else None) or 0
    if exp.spec.max_trial_count is not None and exp.spec.max_trial_count <= old_trials:
        add(
            FieldError(
                "spec.maxTrialCount",
                f"must be greater than status.trials count ({old_trials}), got {exp.spec.max_trial_count}",
            )
        )
    editable = ("parallelTrialCount", "maxTrialCount", "maxFailedTrialCount")
    rest_new = {k: v for k, v in new_spec.items() if k not in editable}
    rest_old = {k: v for k, v in old_spec.items() if k not in editable}
    if rest_new != rest_old:
        changed = sorted(k for k in set(rest_new) | set(rest_old) if rest_new.get(k) != rest_old.get(k))
        add(
            FieldError(
                "spec",
                "Forbidden: only spec.parallelTrialCount, spec.maxTrialCount and "
                "spec.maxFailedTrialCount are "
                f"editable (changed: {', '.join('spec.' + k for k in changed)})",
            )
        )


# ---------------------------------------------------------------- rules 5-7


def _validate_objective(exp: Experiment) -> list[FieldError]:
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
    return errors


def _settings_errors(
    info: algorithms.AlgorithmInfo, settings: list[Any], base: str, add: Add
) -> dict[str, algorithms.SettingValue] | None:
    pairs = [(s.name or "", s.value or "") for s in settings]
    try:
        return algorithms.parse_settings(info, pairs)
    except algorithms.SettingsError as exc:
        for index, message in exc.problems:
            add(FieldError(f"{base}[{index}]" if index is not None else base, message))
        return None


def _validate_algorithm(exp: Experiment, cfg: KatibConfig, add: Add) -> None:
    assert exp.spec is not None
    alg = exp.spec.algorithm
    if alg is None:
        add(FieldError("spec.algorithm", "must be specified"))
        return
    name = alg.algorithm_name
    if not name:
        add(FieldError("spec.algorithm.algorithmName", "must be specified"))
        return
    if cfg.suggestion(name) is None:
        known = sorted(s.algorithm_name for s in cfg.runtime.suggestions if s.image)
        add(
            FieldError(
                "spec.algorithm.algorithmName",
                f"unable to get Suggestion config data for algorithm {name}: katib-config has no "
                f"runtime.suggestions entry with an image for it (known: {', '.join(known) or 'none'})",
            )
        )
        return
    info = algorithms.SUGGESTION_ALGORITHMS.get(name)
    if info is None:
        return  # served by a service katib-py does not know: it validates its own settings
    values = _settings_errors(info, alg.algorithm_settings or [], "spec.algorithm.algorithmSettings", add)
    if values is not None:
        _validate_algorithm_needs(exp, name, values, add)


def _validate_algorithm_needs(
    exp: Experiment, name: str, values: dict[str, algorithms.SettingValue], add: Add
) -> None:
    """Experiment-level requirements of an algorithm (what its ValidateAlgorithmSettings checks)."""
    assert exp.spec is not None
    params = exp.spec.parameters or []
    base = "spec.algorithm.algorithmSettings"
    if name == "hyperband":
        resource = values["resource_name"]
        if resource not in {p.name for p in params}:
            add(
                FieldError(
                    base, f"hyperband resource_name {resource!r} must be the name of a spec.parameters entry"
                )
            )
        eta = int(values["eta"])
        if eta == 1:
            add(FieldError(base, "hyperband eta must be at least 2 (or <= 0 for the default 3)"))
            return
        need = algorithms.hyperband_min_parallel(float(values["r_l"]), eta)
        parallel = exp.spec.parallel_trial_count or 0
        if parallel < need:
            add(
                FieldError(
                    "spec.parallelTrialCount",
                    f"hyperband with r_l={values['r_l']} and eta={eta if eta > 0 else 3} needs "
                    f"parallelTrialCount >= {need}, got {parallel}",
                )
            )
    elif name == "pbt":
        if exp.spec.resume_policy != ResumePolicy.FROM_VOLUME:
            add(
                FieldError(
                    "spec.resumePolicy",
                    "algorithm pbt requires resumePolicy FromVolume (it keeps checkpoints)",
                )
            )
        for i, p in enumerate(params):
            if p.parameter_type in NUMERIC_TYPES and p.feasible_space and not p.feasible_space.step:
                add(
                    FieldError(
                        f"spec.parameters[{i}].feasibleSpace.step",
                        "algorithm pbt needs a step for int and double",
                    )
                )
    elif name == "cmaes":
        numeric = [p for p in params if p.parameter_type in NUMERIC_TYPES]
        if len(numeric) < 2:
            add(FieldError("spec.parameters", "algorithm cmaes needs at least 2 int or double parameters"))
    elif name == "grid":
        for i, p in enumerate(params):
            if p.parameter_type == ParameterType.DOUBLE and p.feasible_space and not p.feasible_space.step:
                add(
                    FieldError(
                        f"spec.parameters[{i}].feasibleSpace.step", "algorithm grid needs a step for double"
                    )
                )


def _validate_early_stopping(exp: Experiment, cfg: KatibConfig, add: Add) -> None:
    assert exp.spec is not None
    es = exp.spec.early_stopping
    if es is None:
        return
    if not es.algorithm_name:
        add(FieldError("spec.earlyStopping.algorithmName", "must be specified"))
        return
    if cfg.early_stopping(es.algorithm_name) is None:
        known = sorted(e.algorithm_name for e in cfg.runtime.early_stoppings if e.image)
        add(
            FieldError(
                "spec.earlyStopping.algorithmName",
                f"unable to get EarlyStopping config data for algorithm {es.algorithm_name}: "
                "katib-config has no "
                f"runtime.earlyStoppings entry with an image for it (known: {', '.join(known) or 'none'})",
            )
        )
        return
    info = algorithms.EARLY_STOPPING_ALGORITHMS.get(es.algorithm_name)
    if info is not None:
        _settings_errors(info, es.algorithm_settings or [], "spec.earlyStopping.algorithmSettings", add)


# ---------------------------------------------------------------- rule 9: trial template


def _is_meta_key(reference: str) -> bool:
    m = META_REF.search(reference)
    if not m:
        return False
    key = m.group(1)
    if key in META_KEYS:
        return True
    sub = META_INDEXED.match(key)
    return bool(sub and sub.group(1) in META_KEYS)


def _validate_trial_template(exp: Experiment, load_template: TemplateLoader | None) -> list[FieldError]:
    assert exp.spec is not None
    base = "spec.trialTemplate"
    tt = exp.spec.trial_template
    if tt is None:
        return [FieldError(base, "must be specified")]
    errors: list[FieldError] = []
    if not tt.primary_container_name:
        errors.append(FieldError(f"{base}.primaryContainerName", "must be specified"))
    if not tt.success_condition or not tt.failure_condition:
        errors.append(
            FieldError(
                base,
                "successCondition and failureCondition must be specified (they are defaulted only for a "
                "trialSpec of kind Job, TFJob, PyTorchJob, XGBoostJob, MPIJob or TrainJob)",
            )
        )
    if tt.trial_parameters is None:
        return [*errors, FieldError(f"{base}.trialParameters", "must be specified")]
    if tt.trial_spec is None and tt.config_map is None:
        return [
            *errors,
            FieldError(
                base, "spec.trialTemplate.trialSpec or spec.trialTemplate.configMap must be specified"
            ),
        ]
    if tt.trial_spec is not None and tt.config_map is not None:
        return [
            *errors,
            FieldError(
                base,
                "only one of spec.trialTemplate.trialSpec or spec.trialTemplate.configMap can be specified",
            ),
        ]
    cm = tt.config_map
    if cm is not None and not (cm.config_map_name and cm.config_map_namespace and cm.template_path):
        return [
            *errors,
            FieldError(
                f"{base}.configMap", "configMapName, configMapNamespace and templatePath must be specified"
            ),
        ]

    if tt.trial_spec is not None:
        text = json.dumps(tt.trial_spec)
    else:
        assert cm is not None and cm.config_map_namespace and cm.config_map_name and cm.template_path
        if load_template is None:
            return errors  # the template lives in the cluster: only the webhook can load it
        loaded = load_template(cm.config_map_namespace, cm.config_map_name, cm.template_path)
        if loaded is None:
            return [
                *errors,
                FieldError(
                    base,
                    "unable to parse spec.trialTemplate: ConfigMap "
                    f"{cm.config_map_namespace}/{cm.config_map_name} "
                    f"not found or has no key {cm.template_path!r}",
                ),
            ]
        text = loaded

    param_names = {p.name for p in exp.spec.parameters or []}
    names: set[str] = set()
    refs: set[str] = set()
    for i, tp in enumerate(tt.trial_parameters):
        path = f"{base}.trialParameters[{i}]"
        if not tp.name or not tp.reference or "{" in tp.name or "}" in tp.name:
            errors.append(
                FieldError(path, "name and reference must be specified and name must not contain '{' or '}'")
            )
            continue
        if tp.name in names:
            errors.append(
                FieldError(
                    f"{path}.name",
                    f"parameter name {tp.name} can't be duplicated in spec.trialTemplate.trialParameters",
                )
            )
            continue
        if tp.reference in refs:
            errors.append(
                FieldError(
                    f"{path}.reference",
                    f"parameter reference {tp.reference} can't be duplicated in "
                    "spec.trialTemplate.trialParameters",
                )
            )
            continue
        names.add(tp.name)
        refs.add(tp.reference)
        if param_names and not _is_meta_key(tp.reference) and tp.reference not in param_names:
            errors.append(
                FieldError(
                    f"{path}.reference",
                    f"parameter reference {tp.reference} does not exist in spec.parameters "
                    f"(names: {', '.join(sorted(n for n in param_names if n))})",
                )
            )
        placeholder = TRIAL_PARAM_FORMAT.format(tp.name)
        if placeholder not in text:
            errors.append(
                FieldError(
                    f"{path}.name",
                    f"parameter name: {tp.name} in spec.trialParameters not found in "
                    f"spec.trialTemplate (no {placeholder} in it)",
                )
            )
            return errors
        text = text.replace(placeholder, "test-value")

    leftover = TRIAL_PARAM_LEFTOVER.findall(text)
    if leftover:
        errors.append(
            FieldError(
                base,
                f"parameters: {', '.join(leftover)} in spec.trialTemplate not found in spec.trialParameters",
            )
        )
    try:
        run_spec = yaml.safe_load(text) if tt.trial_spec is None else json.loads(text)
    except (yaml.YAMLError, ValueError) as exc:
        errors.append(FieldError(base, f"unable to convert spec.trialTemplate to an object: {exc}"))
        return errors
    if not isinstance(run_spec, dict):
        errors.append(
            FieldError(base, "unable to convert spec.trialTemplate to an object: it is not a mapping")
        )
        return errors
    metadata = run_spec.get("metadata") or {}
    if isinstance(metadata, dict) and (metadata.get("name") or metadata.get("namespace")):
        errors.append(
            FieldError(base, "metadata.name and metadata.namespace in spec.trialTemplate must be omitted")
        )
    if not run_spec.get("apiVersion") or not run_spec.get("kind"):
        errors.append(FieldError(base, "APIVersion and Kind in spec.trialTemplate must be specified"))
    if run_spec.get("apiVersion") == "batch/v1" and run_spec.get("kind") == "Job":
        where = f"{base}.trialSpec" if tt.trial_spec is not None else base
        for suffix, message in job_problems(run_spec):
            errors.append(FieldError(f"{where}.{suffix}", f"invalid batch/v1 Job: {message}"))
    return errors


# ---------------------------------------------------------------- rules 10-11: parameters


def _number(raw: str, as_int: bool) -> float | None:
    try:
        value = float(int(raw)) if as_int else float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _validate_parameters(exp: Experiment, add: Add) -> None:
    assert exp.spec is not None
    alg_name = exp.spec.algorithm.algorithm_name if exp.spec.algorithm else None
    info = algorithms.SUGGESTION_ALGORITHMS.get(alg_name or "")
    resource = None
    if alg_name == "hyperband" and exp.spec.algorithm:
        resource = next(
            (s.value for s in exp.spec.algorithm.algorithm_settings or [] if s.name == "resource_name"), None
        )
    seen: set[str] = set()
    for i, param in enumerate(exp.spec.parameters or []):
        path = f"spec.parameters[{i}]"
        if not param.name:
            add(FieldError(f"{path}.name", "must be specified"))
        elif param.name in seen:
            add(FieldError(f"{path}.name", f"duplicate parameter name {param.name!r}"))
        seen.add(param.name or "")
        _validate_parameter(param, path, info, resource is not None and param.name == resource, add)


def _validate_parameter(
    param: ParameterSpec, path: str, info: algorithms.AlgorithmInfo | None, fixed_ok: bool, add: Add
) -> None:
    ptype = param.parameter_type
    if ptype not in [t.value for t in ParameterType]:
        add(
            FieldError(
                f"{path}.parameterType",
                f"parameterType: {ptype!r} is not supported: must be int, double, categorical or discrete",
            )
        )
        return
    if ptype == ParameterType.UNKNOWN:
        add(
            FieldError(
                f"{path}.parameterType",
                "parameterType: unknown is not supported by any algorithm: use int, double, "
                "categorical or discrete",
            )
        )
        return
    fs = param.feasible_space
    fpath = f"{path}.feasibleSpace"
    if fs is None or not fs.dump():
        add(FieldError(fpath, "feasibleSpace must be specified"))
        return
    dist = fs.distribution or ""
    if dist and dist not in [d.value for d in Distribution]:
        add(
            FieldError(
                f"{fpath}.distribution",
                f"distribution: {dist!r} is not supported: must be uniform, logUniform, normal or logNormal",
            )
        )
        return
    effective = "" if dist in ("", Distribution.UNKNOWN) else dist
    if ptype in NUMERIC_TYPES:
        _validate_numeric(fs, fpath, ptype, effective, info, fixed_ok, add)
    else:
        _validate_list(fs, fpath, ptype, effective, add)


def _validate_numeric(
    fs: Any,
    fpath: str,
    ptype: str,
    dist: str,
    info: algorithms.AlgorithmInfo | None,
    fixed_ok: bool,
    add: Add,
) -> None:
    """int/double ranges. `fixed_ok`: min == max is allowed (hyperband's resource, which it sets itself)."""
    as_int = ptype == ParameterType.INT
    kind = "an integer" if as_int else "a number"
    if fs.list:
        add(FieldError(f"{fpath}.list", f"feasibleSpace.list is not supported for parameterType: {ptype}"))
    if not fs.max or not fs.min:
        add(
            FieldError(
                f"{fpath}.max",
                f"feasibleSpace.max or feasibleSpace.min must be specified for parameterType: {ptype}",
            )
        )
    low = high = None
    if fs.min:
        low = _number(fs.min, as_int)
        if low is None:
            add(FieldError(f"{fpath}.min", f"must be {kind} for parameterType {ptype}, got {fs.min!r}"))
    if fs.max:
        high = _number(fs.max, as_int)
        if high is None:
            add(FieldError(f"{fpath}.max", f"must be {kind} for parameterType {ptype}, got {fs.max!r}"))
    if low is not None and high is not None and (low > high or (low == high and not fixed_ok)):
        add(FieldError(f"{fpath}.min", f"must be less than feasibleSpace.max ({fs.max}), got {fs.min}"))
    if fs.step:
        step = _number(fs.step, as_int)
        if step is None:
            add(FieldError(f"{fpath}.step", f"must be {kind} for parameterType {ptype}, got {fs.step!r}"))
        elif step <= 0:
            add(FieldError(f"{fpath}.step", f"must be greater than 0, got {fs.step}"))
    if dist in (Distribution.LOG_UNIFORM, Distribution.LOG_NORMAL) and low is not None and low <= 0:
        add(FieldError(f"{fpath}.min", f"must be greater than 0 for distribution {dist}, got {fs.min}"))
    if dist and info is not None and dist not in info.distributions:
        add(
            FieldError(
                f"{fpath}.distribution",
                f"distribution {dist} is not supported by algorithm {info.name} "
                f"(supported for int and double: {', '.join(info.supported_distributions())})",
            )
        )


def _validate_list(fs: Any, fpath: str, ptype: str, dist: str, add: Add) -> None:
    if fs.max or fs.min or fs.step:
        add(
            FieldError(
                fpath, f"feasibleSpace .max, .min and .step is not supported for parameterType: {ptype}"
            )
        )
    items = fs.list or []
    if not items:
        add(FieldError(f"{fpath}.list", f"must list at least one value for parameterType {ptype}"))
    seen: set[str] = set()
    for j, item in enumerate(items):
        if item in seen:
            add(FieldError(f"{fpath}.list[{j}]", f"duplicate value {item!r}"))
        seen.add(item)
        if ptype == ParameterType.DISCRETE and _number(item, as_int=False) is None:
            add(
                FieldError(f"{fpath}.list[{j}]", f"must be a number for parameterType discrete, got {item!r}")
            )
    if dist and dist != Distribution.UNIFORM:
        add(
            FieldError(
                f"{fpath}.distribution", f"distribution {dist} applies only to int and double parameters"
            )
        )


# ---------------------------------------------------------------- rule 12: metrics collector


def _validate_metrics_collector(mc: MetricsCollectorSpec | None, cfg: KatibConfig, add: Add) -> None:
    base = "spec.metricsCollectorSpec"
    kind = mc.collector.kind if mc and mc.collector else None
    if kind is None or mc is None:
        add(FieldError(f"{base}.collector.kind", "must be specified"))
        return
    if kind in AUTO_INJECT_KINDS and cfg.metrics_collector(kind) is None:
        add(
            FieldError(
                f"{base}.collector.kind",
                "GetMetricsCollectorConfigData failed: katib-config has no runtime.metricsCollectors "
                f"entry with an image for kind {kind}",
            )
        )
    source = mc.source
    fsp = source.file_system_path if source else None
    spath = f"{base}.source"
    if kind in (CollectorKind.PUSH, CollectorKind.NONE, CollectorKind.STDOUT):
        pass
    elif kind == CollectorKind.FILE:
        if fsp is None or fsp.kind != FileSystemKind.FILE or not posixpath.isabs(fsp.path or ""):
            add(
                FieldError(
                    f"{spath}.fileSystemPath.path",
                    "file path where metrics file exists is required (kind File, absolute path)",
                )
            )
        fmt = fsp.format if fsp else None
        if fmt not in (FileFormat.TEXT, FileFormat.JSON):
            add(
                FieldError(
                    f"{spath}.fileSystemPath.format",
                    f"format of metrics file is required for metrics collector: TEXT or JSON, got {fmt!r}",
                )
            )
        if fmt == FileFormat.JSON and source is not None and source.filter is not None:
            add(FieldError(f"{spath}.filter", "filter must be nil when format of metrics file is json"))
    elif kind == CollectorKind.TENSORFLOW_EVENT:
        if fsp is None or fsp.kind != FileSystemKind.DIRECTORY or not posixpath.isabs(fsp.path or ""):
            add(
                FieldError(
                    spath,
                    "directory path where tensorflow event files exist is required by "
                    ".spec.metricsCollectorSpec.source.fileSystemPath.path",
                )
            )
        if fsp is not None and fsp.format:
            add(FieldError(f"{spath}.fileSystemPath.format", f"must be empty, got {fsp.format!r}"))
    elif kind == CollectorKind.PROMETHEUS_METRIC:
        http_get = (source.http_get if source else None) or {}
        port = http_get.get("port")
        try:
            port_ok = int(str(port)) > 0
        except ValueError:
            port_ok = False
        if not port_ok:
            add(
                FieldError(
                    f"{spath}.httpGet.port",
                    f"must be a positive integer value for metrics collector kind: {kind}, got {port!r}",
                )
            )
        if not str(http_get.get("path") or "").startswith("/"):
            add(
                FieldError(
                    f"{spath}.httpGet.path",
                    f"path is invalid for metrics collector kind: {kind}: must start with '/'",
                )
            )
    elif kind == CollectorKind.CUSTOM:
        if mc.collector and mc.collector.custom_collector is None:
            add(
                FieldError(f"{base}.collector.customCollector", f"metrics collector kind: {kind} is required")
            )
        if fsp is not None and (
            not posixpath.isabs(fsp.path or "")
            or fsp.kind not in (FileSystemKind.DIRECTORY, FileSystemKind.FILE)
        ):
            add(
                FieldError(
                    f"{spath}.fileSystemPath",
                    ".spec.metricsCollectorSpec.source is invalid: needs an absolute path and kind "
                    "Directory or File",
                )
            )
    else:
        valid = ", ".join(k.value for k in CollectorKind)
        add(
            FieldError(f"{base}.collector.kind", f"invalid metrics collector kind: {kind!r} (valid: {valid})")
        )
    # Every kind's filters are checked, StdOut included (section 0, item 6).
    for j, flt in enumerate((source.filter.metrics_format if source and source.filter else None) or []):
        fpath = f"{spath}.filter.metricsFormat[{j}]"
        try:
            compiled = re.compile(flt)
        except re.error as exc:
            add(FieldError(fpath, f"invalid filter {flt!r}: {exc}"))
            continue
        if compiled.groups < 2:
            add(
                FieldError(
                    fpath,
                    f"two top subexpressions are required (metric name, then value); {flt!r} has "
                    f"{compiled.groups}",
                )
            )
