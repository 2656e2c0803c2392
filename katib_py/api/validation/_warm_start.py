"""`spec.warmStart` (katib-py; no Katib counterpart): points to evaluate first and earlier
experiments whose trials seed the algorithm's history.

A point names every parameter once with a value inside its feasible space (an int on its step
grid, a double within [min, max], a categorical or discrete value from the list), and the points
fit in `maxTrialCount`. A seeding experiment lives in the same namespace, is not the experiment
itself, and has the same objectives (metrics and directions, additional ones included) and the
same parameter names and types:
otherwise its trials would teach the algorithm about a different problem. Algorithms that walk
their own schedule (grid, hyperband, pbt) or search architectures refuse warm starts
(`AlgorithmInfo.no_warm_start`). The webhook looks the experiments up (`ExperimentLookup`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from katib_py.api import algorithms
from katib_py.api.models import Experiment, ParameterSpec, ParameterType
from katib_py.api.validation._errors import Add, FieldError
from katib_py.api.validation._parameters import number_or_none

ExperimentLookup = Callable[[str], Experiment | None]
"""Finds an experiment of the same namespace by name (None: there is none)."""

MAX_POINTS = 1000
_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")


def is_experiment_name(name: str) -> bool:
    """A DNS-1123 subdomain, as every object name (so it is safe to put into a URL)."""
    return bool(_NAME.fullmatch(name))


def validate_warm_start(exp: Experiment, find_experiment: ExperimentLookup | None, add: Add) -> None:
    assert exp.spec is not None
    warm = exp.spec.warm_start
    if warm is None or (not warm.points and not warm.experiments):
        return
    alg_name = (exp.spec.algorithm.algorithm_name if exp.spec.algorithm else None) or ""
    info = algorithms.SUGGESTION_ALGORITHMS.get(alg_name)
    if info is not None and info.no_warm_start:
        add(FieldError("spec.warmStart", f"algorithm {alg_name} takes no warm start: {info.no_warm_start}"))
        return
    params = {p.name: p for p in exp.spec.parameters or [] if p.name}
    points = warm.points or []
    if len(points) > MAX_POINTS:
        add(FieldError("spec.warmStart.points", f"at most {MAX_POINTS} points, got {len(points)}"))
        return
    max_trials = exp.spec.max_trial_count
    if max_trials is not None and len(points) > max_trials:
        add(
            FieldError(
                "spec.warmStart.points",
                f"{len(points)} points do not fit in spec.maxTrialCount ({max_trials})",
            )
        )
    for i, point in enumerate(points):
        _validate_point(point, params, f"spec.warmStart.points[{i}]", add)
    names = warm.experiments or []
    own = exp.metadata.name if exp.metadata else None
    seen: set[str] = set()
    for i, name in enumerate(names):
        path = f"spec.warmStart.experiments[{i}]"
        if name in seen:
            add(FieldError(path, f"experiment {name!r} is listed twice"))
            continue
        seen.add(name)
        if name == own:
            add(FieldError(path, "an experiment cannot seed itself"))
            continue
        if not is_experiment_name(name):
            add(FieldError(path, f"{name!r} is not an experiment name (a DNS-1123 subdomain)"))
            continue
        if find_experiment is None:
            continue  # offline (`katib-py validate`): the cluster is not there to ask
        other = find_experiment(name)
        if other is None:
            add(FieldError(path, f"experiment {name!r} not found in this namespace"))
            continue
        problem = _mismatch(exp, other)
        if problem:
            add(FieldError(path, f"experiment {name!r} cannot seed this one: {problem}"))


def _validate_point(point: dict[str, str], params: dict[str, ParameterSpec], path: str, add: Add) -> None:
    missing = [n for n in params if n not in point]
    unknown = [n for n in point if n not in params]
    if missing:
        add(FieldError(path, f"missing parameter(s): {', '.join(missing)}"))
    if unknown:
        add(FieldError(path, f"unknown parameter(s): {', '.join(unknown)}"))
    for name, value in point.items():
        param = params.get(name)
        if param is not None:
            problem = _outside(param, value)
            if problem:
                add(FieldError(f"{path}.{name}", problem))


def _outside(param: ParameterSpec, value: str) -> str | None:
    """Why `value` is not in the parameter's feasible space (None: it is)."""
    fs = param.feasible_space
    if fs is None:
        return None  # the parameter's own error is reported by the search-space rules
    ptype = param.parameter_type
    if ptype in (ParameterType.CATEGORICAL, ParameterType.DISCRETE):
        choices = fs.list or []
        if ptype == ParameterType.DISCRETE:
            number = number_or_none(value)
            if number is not None and any(number_or_none(c) == number for c in choices):
                return None
        elif value in choices:
            return None
        return f"{value!r} is not one of {', '.join(choices)}"
    low, high, number = number_or_none(fs.min or ""), number_or_none(fs.max or ""), number_or_none(value)
    if number is None or (ptype == ParameterType.INT and not number.is_integer()):
        kind = "an integer" if ptype == ParameterType.INT else "a number"
        return f"{value!r} is not {kind}"
    if low is None or high is None:
        return None
    if not low <= number <= high:
        return f"{value} is outside [{fs.min}, {fs.max}]"
    step = number_or_none(fs.step or "")
    if ptype == ParameterType.INT and step and (number - low) % step:
        return f"{value} is not on the grid {fs.min} + k * {fs.step}"
    return None


def _mismatch(exp: Experiment, other: Experiment) -> str | None:
    """Why `other`'s trials describe a different problem than `exp` (None: the same one)."""
    assert exp.spec is not None
    mine, theirs = exp.spec.objective, other.spec.objective if other.spec else None
    if theirs is None or mine is None:
        return "it has no objective"
    if (mine.objective_metric_name, mine.type) != (theirs.objective_metric_name, theirs.type):
        return (
            f"its objective is to {theirs.type} {theirs.objective_metric_name!r}, "
            f"this one's to {mine.type} {mine.objective_metric_name!r}"
        )
    extra = [(o.objective_metric_name, o.type) for o in mine.additional_objectives or []]
    other_extra = [(o.objective_metric_name, o.type) for o in theirs.additional_objectives or []]
    if extra != other_extra:

        def spell(objectives: list[tuple[str | None, str | None]]) -> str:
            return ", ".join(f"{t} {n!r}" for n, t in objectives) or "none"

        return f"its additional objectives are {spell(other_extra)}, this one's {spell(extra)}"
    types = {p.name: p.parameter_type for p in exp.spec.parameters or []}
    other_types = {p.name: p.parameter_type for p in (other.spec.parameters if other.spec else None) or []}
    if set(types) != set(other_types):
        theirs_names = ", ".join(sorted(map(str, other_types)))
        mine_names = ", ".join(sorted(map(str, types)))
        return f"its parameters are {theirs_names}, not {mine_names}"
    for name, ptype in types.items():
        if other_types[name] != ptype:
            return f"parameter {name} is {other_types[name]} there, {ptype} here"
    return None
