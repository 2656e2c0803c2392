"""Standard test functions for optimiser quality (minimisation), with their domains and optima."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TestFunction:
    name: str
    bounds: tuple[tuple[float, float], ...]
    optimum: float
    f: Callable[[np.ndarray], float]

    @property
    def dims(self) -> int:
        return len(self.bounds)

    def __call__(self, x: Sequence[float]) -> float:
        return float(self.f(np.asarray(x, dtype=float)))


def branin(x: np.ndarray) -> float:
    a, b, c = 1.0, 5.1 / (4 * math.pi**2), 5 / math.pi
    r, s, t = 6.0, 10.0, 1 / (8 * math.pi)
    return float(a * (x[1] - b * x[0] ** 2 + c * x[0] - r) ** 2 + s * (1 - t) * math.cos(x[0]) + s)


_H_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


def hartmann6(x: np.ndarray) -> float:
    inner = np.sum(_H_A * (x - _H_P) ** 2, axis=1)
    return float(-np.sum(_H_ALPHA * np.exp(-inner)))


def rosenbrock(x: np.ndarray) -> float:
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def ackley(x: np.ndarray) -> float:
    d = len(x)
    return float(
        -20 * math.exp(-0.2 * math.sqrt(np.sum(x**2) / d))
        - math.exp(np.sum(np.cos(2 * math.pi * x)) / d)
        + 20
        + math.e
    )


def levy(x: np.ndarray) -> float:
    w = 1 + (x - 1) / 4
    head = math.sin(math.pi * w[0]) ** 2
    mid = np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(math.pi * w[:-1] + 1) ** 2))
    tail = (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)
    return float(head + mid + tail)


FUNCTIONS: dict[str, TestFunction] = {
    f.name: f
    for f in [
        TestFunction("Branin", ((-5.0, 10.0), (0.0, 15.0)), 0.397887, branin),
        TestFunction("Hartmann6", ((0.0, 1.0),) * 6, -3.32237, hartmann6),
        TestFunction("Rosenbrock-4D", ((-5.0, 10.0),) * 4, 0.0, rosenbrock),
        TestFunction("Ackley-5D", ((-32.768, 32.768),) * 5, 0.0, ackley),
        TestFunction("Levy-6D", ((-10.0, 10.0),) * 6, 0.0, levy),
    ]
}


def hartmann6_curve(x: np.ndarray, epoch: int, seed: int) -> float:
    """Multi-fidelity Hartmann6: a learning curve from 0 that reaches f(x) as epochs grow, plus noise.

    Slow learners (large time constant) are decided by x too, so early values are informative but
    not perfect: the setting where early stopping pays off or misleads.
    """
    final = hartmann6(x)
    tau = 2.0 + 6.0 * float(x[5])  # some configurations learn slower
    noise = np.random.default_rng([seed, epoch, int(1e6 * x[0])]).normal(0.0, 0.02)
    return float(final * (1.0 - math.exp(-epoch / tau)) + noise)
