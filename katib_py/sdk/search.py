"""Search-space helpers of `kubeflow.katib.search`: `double`, `int`, `categorical`.

They return katib-py `ParameterSpec` models; tune() names them after their key in `parameters`.
Katib's `categorical` passes the list as FeasibleSpace's first positional argument, which is
`distribution`; here the values go to `feasibleSpace.list`, where the API expects them.
"""

from __future__ import annotations

import builtins
from typing import Any

from katib_py.api.models import FeasibleSpace, ParameterSpec


def double(min: float, max: float, step: float | None = None) -> ParameterSpec:
    """A float sampled between `min` and `max` (optionally on a `step` grid)."""
    space = FeasibleSpace(min=str(min), max=str(max))
    if step is not None:
        space.step = str(step)
    return ParameterSpec(parameter_type="double", feasible_space=space)


def int(min: builtins.int, max: builtins.int, step: builtins.int | None = None) -> ParameterSpec:
    """An integer sampled between `min` and `max` (optionally on a `step` grid)."""
    space = FeasibleSpace(min=str(min), max=str(max))
    if step is not None:
        space.step = str(step)
    return ParameterSpec(parameter_type="int", feasible_space=space)


def categorical(list: builtins.list[Any]) -> ParameterSpec:
    """One of the values of `list` (sent as strings, as the API stores them)."""
    return ParameterSpec(
        parameter_type="categorical", feasible_space=FeasibleSpace(list=[str(v) for v in list])
    )
