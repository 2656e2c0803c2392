"""The algorithm and early-stopping specs, their settings, and what each algorithm needs.

Katib's `validateAlgorithm` and `validateEarlyStopping`
(`pkg/webhook/v1beta1/experiment/validator/validator.go`) require a name with a katib-config entry
that has an image (`GetSuggestionConfigData` and `GetEarlyStoppingConfigData` in
`pkg/util/v1beta1/katibconfig/config.go`). Katib checks the settings only later, in each service's
`ValidateAlgorithmSettings` (for instance `pkg/suggestion/v1beta1/hyperband/service.py`,
`pkg/suggestion/v1beta1/optuna/service.py`) and medianstop's `validate_early_stopping_spec`
(`pkg/earlystopping/v1beta1/medianstop/service.py`), which fails the Suggestion; katib-py checks
them at admission for the algorithms it serves, from the table in `katib_py.api.algorithms`,
together with what an algorithm needs of the Experiment (hyperband's resource parameter and
parallelism, pbt's resume policy and steps, cmaes's two numeric parameters, grid's steps for
doubles).
"""

from __future__ import annotations

from collections.abc import Sequence

from katib_py.api import algorithms
from katib_py.api.config import KatibConfig
from katib_py.api.models import (
    AlgorithmSetting,
    EarlyStoppingSetting,
    Experiment,
    ParameterSpec,
    ParameterType,
    ResumePolicy,
)
from katib_py.api.validation._errors import Add, FieldError
from katib_py.api.validation._parameters import NUMERIC_TYPES


def _settings_errors(
    info: algorithms.AlgorithmInfo,
    settings: Sequence[AlgorithmSetting | EarlyStoppingSetting],
    base: str,
    add: Add,
) -> dict[str, algorithms.SettingValue] | None:
    pairs = [(s.name or "", s.value or "") for s in settings]
    try:
        return algorithms.parse_settings(info, pairs)
    except algorithms.SettingsError as exc:
        for index, message in exc.problems:
            add(FieldError(f"{base}[{index}]" if index is not None else base, message))
        return None


def validate_algorithm(exp: Experiment, cfg: KatibConfig, add: Add) -> None:
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
    objective = exp.spec.objective
    if objective is not None and objective.additional_objectives and info.no_multi_objective:
        add(
            FieldError(
                "spec.objective.additionalObjectives",
                f"algorithm {name} cannot search additional objectives: {info.no_multi_objective}",
            )
        )
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
        total = _grid_size(params)
        max_trials = exp.spec.max_trial_count
        if total is not None and max_trials is not None and max_trials > total:
            # the grid service refuses it (its ValidateAlgorithmSettings); say so before it runs
            add(
                FieldError(
                    "spec.maxTrialCount",
                    f"maxTrialCount {max_trials} is greater than the {total} grid combinations",
                )
            )


def _grid_size(params: Sequence[ParameterSpec]) -> int | None:
    """The number of grid combinations, or None when a parameter does not parse (reported elsewhere)."""
    total = 1
    for p in params:
        space = p.feasible_space
        if space is None:
            return None
        if p.parameter_type in NUMERIC_TYPES:
            try:
                low, high = float(space.min or ""), float(space.max or "")
                step = (
                    float(space.step)
                    if space.step
                    else (1.0 if p.parameter_type == ParameterType.INT else 0.0)
                )
            except ValueError:
                return None
            if step <= 0 or high < low:
                return None
            total *= algorithms.grid_points(low, high, step)
        else:
            total *= len(space.list or [])
    return total


def validate_early_stopping(exp: Experiment, cfg: KatibConfig, add: Add) -> None:
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
        path = "spec.earlyStopping.algorithmSettings"
        parsed = _settings_errors(info, es.algorithm_settings or [], path, add)
        problem = algorithms.asha_problem(parsed) if parsed is not None and info.name == "asha" else None
        if problem:
            add(FieldError(path, problem))
