"""The search space of an Experiment, as the algorithms see it.

Every int/double parameter gets a bijection between its values and a *unit* coordinate u in [0, 1]
that already accounts for its distribution: linear for uniform, logarithmic for logUniform, and
the CDF of a normal truncated to [min, max] (mu = (min+max)/2, sigma = (max-min)/6, as hyperopt
uses for Katib) for normal, and the same on ln(min)..ln(max) for logNormal. Sampling u uniformly
therefore samples the parameter from its declared distribution, and model-based algorithms work
in u. Steps quantise the value after the transform (min + k*step, never above max).
Discrete and categorical parameters are lists of strings, returned in their original form.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np

from katib_py.api.algorithms import grid_points
from katib_py.proto import api_pb2

if TYPE_CHECKING:
    from katib_py.suggestion.history import TrialRecord

NUMERIC = "numeric"
CHOICE = "choice"

DISTRIBUTION_NAMES = {
    api_pb2.DISTRIBUTION_UNSPECIFIED: "uniform",
    api_pb2.UNIFORM: "uniform",
    api_pb2.LOG_UNIFORM: "logUniform",
    api_pb2.NORMAL: "normal",
    api_pb2.LOG_NORMAL: "logNormal",
}
TYPE_NAMES = {
    api_pb2.DOUBLE: "double",
    api_pb2.INT: "int",
    api_pb2.DISCRETE: "discrete",
    api_pb2.CATEGORICAL: "categorical",
}
# the standard normal from the standard library: importing scipy.special for these two functions
# was a third of every suggestion service's start (bench.operator_bench, first trial Running)
_NORMAL = NormalDist()
_TRUNC = 3.0  # (max - min) spans +-3 sigma around the centre


class SpaceError(ValueError):
    """A parameter specification the algorithms cannot use (reported as INVALID_ARGUMENT)."""


def format_double(x: float) -> str:
    """A short exact-enough text for a double: 12 significant digits, no float noise."""
    return repr(float(f"{x:.12g}"))


@dataclass(frozen=True)
class Param:
    """One parameter: its type, bounds/step/distribution for numbers, choices otherwise."""

    name: str
    type: str  # double | int | discrete | categorical
    distribution: str = "uniform"
    low: float = 0.0
    high: float = 0.0
    step: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return NUMERIC if self.type in ("double", "int") else CHOICE

    @property
    def is_int(self) -> bool:
        return self.type == "int"

    @property
    def log(self) -> bool:
        return self.distribution in ("logUniform", "logNormal")

    @property
    def gaussian(self) -> bool:
        return self.distribution in ("normal", "logNormal")

    @property
    def effective_step(self) -> float | None:
        """The quantisation step: ints default to 1 (Katib's search_space.py)."""
        if self.is_int:
            return self.step if self.step else 1.0
        return self.step

    @property
    def top(self) -> float:
        """The largest reachable value: max, or the last step point not above it."""
        step = self.effective_step
        if step is None:
            return self.high
        return self.low + (grid_points(self.low, self.high, step) - 1) * step

    def grid(self) -> list[str]:
        """All values of a stepped or finite parameter, as strings (ints step 1 by default)."""
        if self.kind == CHOICE:
            return list(self.choices)
        step = self.effective_step
        if step is None:
            raise SpaceError(f"parameter {self.name}: a double parameter needs a step to be enumerated")
        count = grid_points(self.low, self.high, step)
        if self.distribution == "logUniform" and count > 1:
            # Honour logUniform on a grid: as many points as the linear grid, spaced geometrically.
            raw = np.geomspace(self.low, self.top, count)
            values = [self.format(v) for v in raw]
            return list(dict.fromkeys(values))
        return [self.format(self.low + k * step) for k in range(count)]

    def _t(self, x: float) -> float:
        return math.log(x) if self.log else x

    def _t_inv(self, t: float) -> float:
        return math.exp(t) if self.log else t

    def to_unit(self, value: float) -> float:
        """The unit coordinate of a numeric value (clipped into [0, 1])."""
        lo, hi = self._t(self.low), self._t(self.high)
        if hi <= lo:
            return 0.5
        t = self._t(min(max(value, self.low), self.high))
        if not self.gaussian:
            return min(max((t - lo) / (hi - lo), 0.0), 1.0)
        mu, sigma = (lo + hi) / 2, (hi - lo) / (2 * _TRUNC)
        a, b = float(_NORMAL.cdf(-_TRUNC)), float(_NORMAL.cdf(_TRUNC))
        return min(max((float(_NORMAL.cdf((t - mu) / sigma)) - a) / (b - a), 0.0), 1.0)

    def from_unit(self, u: float) -> float:
        """The numeric value at unit coordinate u, quantised to the step and kept in bounds."""
        u = min(max(float(u), 0.0), 1.0)
        lo, hi = self._t(self.low), self._t(self.high)
        if not self.gaussian:
            t = lo + u * (hi - lo)
        else:
            mu, sigma = (lo + hi) / 2, (hi - lo) / (2 * _TRUNC)
            a, b = float(_NORMAL.cdf(-_TRUNC)), float(_NORMAL.cdf(_TRUNC))
            p = min(max(a + u * (b - a), 1e-300), 1 - 1e-16)
            t = mu + sigma * _NORMAL.inv_cdf(p)
        return self.quantise(self._t_inv(t))

    def quantise(self, x: float) -> float:
        """Snap to min + k*step (ints: to whole numbers) within [min, top]."""
        x = min(max(x, self.low), self.high)
        step = self.effective_step
        if step is not None:
            k = round((x - self.low) / step)
            x = self.low + k * step
            if x > self.top + 1e-12 * max(1.0, abs(self.top)):
                x -= step
            x = max(x, self.low)
        if self.is_int:
            x = float(round(x))
        return x

    def format(self, x: float) -> str:
        """The assignment text of a numeric value."""
        return str(round(x)) if self.is_int else format_double(x)

    def parse(self, text: str) -> float:
        """The number in an assignment text (ValueError if it is not one)."""
        return float(text)

    def contains(self, text: str) -> bool:
        """Whether an assignment text is a value of this parameter."""
        if self.kind == CHOICE:
            return text in self.choices
        try:
            x = float(text)
        except ValueError:
            return False
        return math.isfinite(x) and self.low - 1e-9 <= x <= self.high + 1e-9


def _num(spec_name: str, field: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SpaceError(f"parameter {spec_name}: {field} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise SpaceError(f"parameter {spec_name}: {field} {text!r} is not finite")
    return value


def param_from_proto(spec: api_pb2.ParameterSpec) -> Param:
    """Validate and convert one ParameterSpec."""
    name = spec.name
    ptype = TYPE_NAMES.get(spec.parameter_type)
    if ptype is None:
        raise SpaceError(f"parameter {name}: unknown parameter type {spec.parameter_type}")
    fs = spec.feasible_space
    dist = DISTRIBUTION_NAMES.get(fs.distribution)
    if dist is None:
        raise SpaceError(f"parameter {name}: unknown distribution {fs.distribution}")
    if ptype in ("discrete", "categorical"):
        choices = tuple(fs.list)
        if not choices:
            raise SpaceError(f"parameter {name}: a {ptype} parameter needs a non-empty feasibleSpace.list")
        if len(set(choices)) != len(choices):
            raise SpaceError(f"parameter {name}: feasibleSpace.list has duplicate values")
        return Param(name, ptype, "uniform", choices=choices)
    if not fs.min or not fs.max:
        raise SpaceError(f"parameter {name}: a {ptype} parameter needs feasibleSpace.min and max")
    low, high = _num(name, "min", fs.min), _num(name, "max", fs.max)
    if ptype == "int" and (not low.is_integer() or not high.is_integer()):
        raise SpaceError(f"parameter {name}: int min/max must be integers")
    if low > high:
        raise SpaceError(f"parameter {name}: min {fs.min} is greater than max {fs.max}")
    step: float | None = None
    if fs.step:
        step = _num(name, "step", fs.step)
        if step <= 0:
            raise SpaceError(f"parameter {name}: step must be > 0, got {fs.step}")
        if ptype == "int" and not step.is_integer():
            raise SpaceError(f"parameter {name}: int step must be an integer, got {fs.step}")
    if dist in ("logUniform", "logNormal") and low <= 0:
        raise SpaceError(f"parameter {name}: {dist} needs min > 0, got {fs.min}")
    return Param(name, ptype, dist, low, high, step)


@dataclass(frozen=True)
class SearchSpace:
    """The ordered parameters of an experiment."""

    params: tuple[Param, ...]

    @classmethod
    def from_proto(cls, specs: Iterable[api_pb2.ParameterSpec]) -> SearchSpace:
        params = tuple(param_from_proto(s) for s in specs)
        if not params:
            raise SpaceError("the experiment has no parameters")
        names = [p.name for p in params]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise SpaceError(f"duplicate parameter names: {', '.join(dupes)}")
        return cls(params)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def by_name(self) -> dict[str, Param]:
        return {p.name: p for p in self.params}

    def fingerprint(self) -> str:
        return repr(self.params)

    def require_distributions(self, allowed: Iterable[str], algorithm: str) -> None:
        """Reject an int/double distribution the algorithm does not honour."""
        allowed_set = set(allowed)
        for p in self.params:
            if p.kind == NUMERIC and p.distribution not in allowed_set:
                order = [d for d in ("uniform", "logUniform", "normal", "logNormal") if d in allowed_set]
                raise SpaceError(
                    f"parameter {p.name}: algorithm {algorithm} does not support distribution "
                    f"{p.distribution} (supported: {', '.join(order)})"
                )

    def key(self, assignment: Mapping[str, str]) -> str:
        """A canonical identity of an assignment (parameter order, exact texts)."""
        return "\x1f".join(f"{n}={assignment.get(n, '')}" for n in self.names)

    def trial_key(self, trial: TrialRecord) -> str:
        """key() of a trial's assignment, remembered on the record."""
        return trial.key(self._name_tuple)

    @cached_property
    def _name_tuple(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def sample(self, rng: np.random.Generator) -> dict[str, str]:
        """One assignment drawn from the declared distributions."""
        out: dict[str, str] = {}
        for p in self.params:
            if p.kind == CHOICE:
                out[p.name] = p.choices[int(rng.integers(len(p.choices)))]
            else:
                out[p.name] = p.format(p.from_unit(float(rng.random())))
        return out

    def finite_size(self) -> int | None:
        """How many distinct assignments exist, if finite (every number has a step or is int)."""
        total = 1
        for p in self.params:
            if p.kind == CHOICE:
                total *= len(p.choices)
            elif p.effective_step is None:
                return None
            else:
                total *= grid_points(p.low, p.high, p.effective_step)
        return total

    def unit_dims(self) -> int:
        """Dimensions of the model encoding: 1 per number, 1 per choice (one-hot)."""
        return sum(1 if p.kind == NUMERIC else len(p.choices) for p in self.params)

    def encode(self, assignment: Mapping[str, str]) -> np.ndarray:
        """The unit-cube vector of an assignment (one-hot for choices)."""
        parts: list[float] = []
        for p in self.params:
            text = assignment[p.name]
            if p.kind == NUMERIC:
                parts.append(p.to_unit(p.parse(text)))
            else:
                parts.extend(1.0 if c == text else 0.0 for c in p.choices)
        return np.asarray(parts, dtype=float)

    def decode(self, x: Sequence[float] | np.ndarray) -> dict[str, str]:
        """The assignment nearest to a unit-cube vector (argmax for one-hot blocks)."""
        out: dict[str, str] = {}
        i = 0
        for p in self.params:
            if p.kind == NUMERIC:
                out[p.name] = p.format(p.from_unit(float(x[i])))
                i += 1
            else:
                block = np.asarray(x[i : i + len(p.choices)], dtype=float)
                out[p.name] = p.choices[int(np.argmax(block))]
                i += len(p.choices)
        return out
