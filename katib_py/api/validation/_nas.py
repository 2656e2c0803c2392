"""`spec.nasConfig`: the graph and the operations a NAS algorithm searches.

Katib's webhook does not look inside nasConfig; its NAS services do, in `ValidateAlgorithmSettings`:
`pkg/suggestion/v1beta1/nas/common/validation.py` (every operation has an operationType and
parameters; each parameter a name and a type; categorical and discrete a list; int and double a
min or max; double a step > 0) and, for enas, `pkg/suggestion/v1beta1/nas/enas/service.py`
(graphConfig numLayers, inputSizes and outputSizes). katib-py checks the same at admission, and
what those services would crash on later: int and double need both min and max, numbers must
parse with min <= max, an int step must be a positive integer (it defaults to 1; Katib's
`Operation.py` fails without one), and the operations must expand to a bounded number of
choices. darts reads one list per operation (the filter sizes, `nas/darts/service.py`), so its
operations need a first parameter with a list, except `skip_connection` and `none`, which take none
(Katib's own darts-gpu example lists `skip_connection` without parameters).
"""

from __future__ import annotations

import math

from katib_py.api.algorithms import AlgorithmInfo
from katib_py.api.models import NasConfig, Operation, ParameterSpec, ParameterType
from katib_py.api.validation._errors import Add, FieldError

MAX_OPERATIONS = 100_000
DARTS_PARAMETERLESS = ("skip_connection", "none")
_NUMERIC = (ParameterType.INT.value, ParameterType.DOUBLE.value)
_LISTS = (ParameterType.CATEGORICAL.value, ParameterType.DISCRETE.value)


def validate_nas_config(nas: NasConfig, info: AlgorithmInfo, add: Add) -> None:
    base = "spec.nasConfig"
    graph = nas.graph_config
    layers = graph.num_layers if graph else None
    if layers is None or layers < 1:
        add(FieldError(f"{base}.graphConfig.numLayers", f"algorithm {info.name} needs numLayers >= 1"))
    if info.name == "enas":
        for field in ("inputSizes", "outputSizes"):
            sizes = getattr(graph, "input_sizes" if field == "inputSizes" else "output_sizes", None)
            if not sizes:
                add(
                    FieldError(
                        f"{base}.graphConfig.{field}",
                        "algorithm enas needs it (the trial builds its network from it)",
                    )
                )
            elif any(s < 1 for s in sizes):
                add(FieldError(f"{base}.graphConfig.{field}", f"sizes must be >= 1, got {sizes}"))
    operations = nas.operations or []
    if not operations:
        add(FieldError(f"{base}.operations", "must list at least one operation"))
    total = 0
    for i, op in enumerate(operations):
        total += _validate_operation(op, f"{base}.operations[{i}]", info, add)
    if total > MAX_OPERATIONS:
        add(
            FieldError(
                f"{base}.operations",
                f"the operations expand to {total} choices (every combination of their parameters); "
                f"at most {MAX_OPERATIONS} are supported",
            )
        )


def _validate_operation(op: Operation, path: str, info: AlgorithmInfo, add: Add) -> int:
    """Check one operation; return how many choices it expands to (enas numbers every combination)."""
    if not op.operation_type:
        add(FieldError(f"{path}.operationType", "must be specified"))
    params = op.parameters or []
    if info.name == "darts" and op.operation_type in DARTS_PARAMETERLESS:
        return 1
    if not params:
        add(FieldError(f"{path}.parameters", "must list at least one parameter"))
        return 1
    count = 1
    for j, param in enumerate(params):
        count *= _validate_parameter(param, f"{path}.parameters[{j}]", add)
    if info.name == "darts" and params[0].parameter_type not in _LISTS:
        add(
            FieldError(
                f"{path}.parameters[0].parameterType",
                "algorithm darts reads the first parameter's list (the filter sizes): it must be "
                f"categorical or discrete, got {params[0].parameter_type!r}",
            )
        )
    return count


def _number(raw: str | None, as_int: bool) -> float | None:
    try:
        value = float(int(raw or "")) if as_int else float(raw or "")
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _validate_parameter(param: ParameterSpec, path: str, add: Add) -> int:
    """Check one operation parameter; return how many values it has (0 when invalid)."""
    if not param.name:
        add(FieldError(f"{path}.name", "must be specified"))
    ptype = param.parameter_type
    fs = param.feasible_space
    if ptype in _LISTS:
        items = (fs.list if fs else None) or []
        if not items:
            add(
                FieldError(
                    f"{path}.feasibleSpace.list", f"must list at least one value for parameterType {ptype}"
                )
            )
        elif len(set(items)) != len(items):
            add(FieldError(f"{path}.feasibleSpace.list", "values must be unique"))
        return len(items)
    if ptype not in _NUMERIC:
        add(
            FieldError(
                f"{path}.parameterType",
                f"must be int, double, categorical or discrete, got {ptype!r}",
            )
        )
        return 0
    as_int = ptype == ParameterType.INT
    kind = "an integer" if as_int else "a number"
    low = _number(fs.min if fs else None, as_int)
    high = _number(fs.max if fs else None, as_int)
    for field, value in (("min", low), ("max", high)):
        if value is None:
            add(FieldError(f"{path}.feasibleSpace.{field}", f"must be {kind} for parameterType {ptype}"))
    raw_step = fs.step if fs else None
    step = _number(raw_step, as_int) if raw_step else (1.0 if as_int else None)
    if step is None or step <= 0:
        add(
            FieldError(
                f"{path}.feasibleSpace.step", f"must be {kind} greater than 0 for parameterType {ptype}"
            )
        )
        return 0
    if low is None or high is None:
        return 0
    if low > high:
        add(FieldError(f"{path}.feasibleSpace.min", f"must not be greater than feasibleSpace.max ({high:g})"))
        return 0
    return math.floor((high - low) / step + 1e-9) + 1
