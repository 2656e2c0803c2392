"""The search space: `spec.parameters` (or `spec.nasConfig`, see `_nas.py`) and each feasible space.

Katib's `ValidateExperiment` and `validateParameters`
(`pkg/webhook/v1beta1/experiment/validator/validator.go`) require parameters or a nasConfig (not
both), a known parameterType and distribution, a feasible space, min and max (no list) for int and
double, and a list (no min, max or step) for categorical and discrete. What Katib leaves to fail
later in a suggestion service is checked here too: names unique, numbers that parse, min < max, step
> 0, logUniform/logNormal with min > 0, lists non-empty and unique, discrete values numeric,
`unknown` refused, and the distributions the chosen algorithm honours (`katib_py.api.algorithms`).
A built-in algorithm must get the search space it reads: nasConfig for enas and darts, parameters
for the others (Katib admits either and fails in the service).
"""

from __future__ import annotations

import math

from katib_py.api import algorithms
from katib_py.api.models import Distribution, Experiment, FeasibleSpace, ParameterSpec, ParameterType
from katib_py.api.validation._errors import Add, FieldError
from katib_py.api.validation._nas import validate_nas_config

NUMERIC_TYPES = (ParameterType.INT.value, ParameterType.DOUBLE.value)


def validate_search_space(exp: Experiment, add: Add) -> None:
    assert exp.spec is not None
    spec = exp.spec
    if not spec.parameters and spec.nas_config is None:
        add(FieldError("spec", "spec.parameters or spec.nasConfig must be specified"))
        return
    if spec.parameters and spec.nas_config is not None:
        add(FieldError("spec", "only one of spec.parameters and spec.nasConfig can be specified"))
        return
    alg_name = (spec.algorithm.algorithm_name if spec.algorithm else None) or ""
    info = algorithms.SUGGESTION_ALGORITHMS.get(alg_name)
    if info is not None and info.nas and spec.nas_config is None:
        add(
            FieldError(
                "spec.nasConfig", f"algorithm {alg_name} searches architectures: it needs spec.nasConfig"
            )
        )
    elif info is not None and not info.nas and spec.nas_config is not None:
        nas_names = ", ".join(sorted(n for n, a in algorithms.SUGGESTION_ALGORITHMS.items() if a.nas))
        add(
            FieldError(
                "spec.nasConfig",
                f"algorithm {alg_name} searches spec.parameters; spec.nasConfig needs a NAS algorithm "
                f"({nas_names})",
            )
        )
    elif spec.parameters:
        _validate_parameters(exp, add)
    elif spec.nas_config is not None and info is not None:
        validate_nas_config(spec.nas_config, info, add)


def number_or_none(raw: str, as_int: bool = False) -> float | None:
    """The finite number `raw` spells (an integer if `as_int`), else None."""
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
    fs: FeasibleSpace,
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
        low = number_or_none(fs.min, as_int)
        if low is None:
            add(FieldError(f"{fpath}.min", f"must be {kind} for parameterType {ptype}, got {fs.min!r}"))
    if fs.max:
        high = number_or_none(fs.max, as_int)
        if high is None:
            add(FieldError(f"{fpath}.max", f"must be {kind} for parameterType {ptype}, got {fs.max!r}"))
    if low is not None and high is not None and (low > high or (low == high and not fixed_ok)):
        add(FieldError(f"{fpath}.min", f"must be less than feasibleSpace.max ({fs.max}), got {fs.min}"))
    if fs.step:
        step = number_or_none(fs.step, as_int)
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


def _validate_list(fs: FeasibleSpace, fpath: str, ptype: str, dist: str, add: Add) -> None:
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
        if ptype == ParameterType.DISCRETE and number_or_none(item, as_int=False) is None:
            add(
                FieldError(f"{fpath}.list[{j}]", f"must be a number for parameterType discrete, got {item!r}")
            )
    if dist and dist != Distribution.UNIFORM:
        add(
            FieldError(
                f"{fpath}.distribution", f"distribution {dist} applies only to int and double parameters"
            )
        )
