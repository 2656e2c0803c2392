"""Multi-objective search benchmark: hypervolume on ZDT1 and ZDT2 (issue 22, item 2).

    .venv/bin/python -m bench.multiobjective_bench                     # 5 seeds, 6 and 30 dims
    .venv/bin/python -m bench.multiobjective_bench --seeds 3 --dims 6  # quick

ZDT1 and ZDT2 (Zitzler, Deb and Thiele 2000) have two objectives to minimize over [0, 1]^d:
f1 = x0, g = 1 + 9 * mean(x1..x(d-1)), and f2 = g * (1 - sqrt(f1 / g)) (ZDT1, a convex front
f2 = 1 - sqrt(f1)) or f2 = g * (1 - (f1 / g)^2) (ZDT2, a concave front f2 = 1 - f1^2), at g = 1.
The score is the hypervolume the trials' non-dominated points dominate up to the reference point
(1.1, 11), which every point dominates (f1 <= 1, f2 <= g <= 10); the true fronts' are
12.1 - 1/3 = 11.767 (ZDT1) and 12.1 - 2/3 = 11.433 (ZDT2).

Our services run over gRPC, one assignment per GetSuggestions with the whole history, as the
operator drives them (the experiment's first objective f1, `additionalObjectives` f2); the
baselines are Optuna's samplers in-process on the same function and seeds. Table: median, min and
max hypervolume over the seeds after `--trials` trials, and seconds per run.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
import warnings
from collections.abc import Callable

import optuna
from threadpoolctl import threadpool_limits

from katib_py.proto import api_pb2
from katib_py.suggestion import messages as m
from katib_py.suggestion.client import LocalService

REFERENCE = (1.1, 11.0)
Point = tuple[float, float]
Function = Callable[[list[float]], Point]
# (function, dims, trials, seed) -> objective values in order
Runner = Callable[[Function, int, int, int], list[Point]]

# ours: (algorithm, settings); baselines: the Optuna sampler for a seed
OURS: dict[str, tuple[str, dict[str, str]]] = {
    "nsga2": ("nsga2", {}),
    "nsga2 (population 20)": ("nsga2", {"population_size": "20"}),
    "tpe": ("tpe", {}),
    "random": ("random", {}),
}
BASELINES: dict[str, Callable[[int], optuna.samplers.BaseSampler]] = {
    "optuna NSGAIISampler": lambda s: optuna.samplers.NSGAIISampler(seed=s),
    "optuna NSGAIISampler (population 20)": lambda s: optuna.samplers.NSGAIISampler(
        population_size=20, seed=s
    ),
    "optuna TPESampler": lambda s: optuna.samplers.TPESampler(seed=s),
    "optuna RandomSampler": lambda s: optuna.samplers.RandomSampler(seed=s),
}


def zdt1(x: list[float]) -> Point:
    f1 = x[0]
    g = 1 + 9 * sum(x[1:]) / (len(x) - 1)
    return f1, g * (1 - math.sqrt(f1 / g))


def zdt2(x: list[float]) -> Point:
    f1 = x[0]
    g = 1 + 9 * sum(x[1:]) / (len(x) - 1)
    return f1, g * (1 - (f1 / g) ** 2)


# name -> (function, the true front's hypervolume)
FUNCTIONS: dict[str, tuple[Function, float]] = {
    "zdt1": (zdt1, REFERENCE[0] * REFERENCE[1] - 1 / 3),
    "zdt2": (zdt2, REFERENCE[0] * REFERENCE[1] - 2 / 3),
}


def hypervolume(points: list[Point], reference: Point = REFERENCE) -> float:
    """The area two-objective (minimize) points dominate up to `reference`.

    Sorted by f1, the non-dominated points are those lowering f2; each owns the slab from its f1 to
    the next one's, from its f2 up to the reference.
    """
    inside = sorted(p for p in points if p[0] < reference[0] and p[1] < reference[1])
    front: list[Point] = []
    for p in inside:
        if not front or p[1] < front[-1][1]:
            front.append(p)
    area = 0.0
    for i, (f1, f2) in enumerate(front):
        right = front[i + 1][0] if i + 1 < len(front) else reference[0]
        area += (right - f1) * (reference[1] - f2)
    return area


def service_runner(client: LocalService, algorithm: str, settings: dict[str, str]) -> Runner:
    def run(function: Function, dims: int, trials: int, seed: int) -> list[Point]:
        params = [m.parameter(f"x{i}", "double", min=0, max=1) for i in range(dims)]
        experiment = m.experiment(
            f"{function.__name__}-{algorithm}-{dims}-{seed}-{len(settings)}",
            algorithm,
            params,
            settings={"random_state": str(seed), **settings},
            metric="f1",
            additional_objectives=[("f2", False)],
        )
        history: list[api_pb2.Trial] = []
        out: list[Point] = []
        for i in range(trials):
            assignment = m.assignments(client.suggest(experiment, history, 1))[0].assignment
            point = function([float(assignment[f"x{j}"]) for j in range(dims)])
            out.append(point)
            history.append(m.trial(f"t{i}", assignment, "Succeeded", {"f1": point[0], "f2": point[1]}))
        return out

    return run


def optuna_runner(make_sampler: Callable[[int], optuna.samplers.BaseSampler]) -> Runner:
    def run(function: Function, dims: int, trials: int, seed: int) -> list[Point]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study = optuna.create_study(directions=["minimize", "minimize"], sampler=make_sampler(seed))
            out: list[Point] = []

            def objective(trial: optuna.Trial) -> tuple[float, float]:
                point = function([trial.suggest_float(f"x{j}", 0, 1) for j in range(dims)])
                out.append(point)
                return point

            study.optimize(objective, n_trials=trials)
        return out

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--dims", default="6,30", help="comma-separated dimensions")
    parser.add_argument("--functions", default="zdt1,zdt2", help=f"comma list of {', '.join(FUNCTIONS)}")
    opts = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dims_list = [int(d) for d in opts.dims.split(",")]
    services: dict[str, LocalService] = {}
    runners: dict[str, Runner] = {}
    try:
        for label, (algorithm, settings) in OURS.items():
            if algorithm not in services:
                services[algorithm] = LocalService.start(algorithm)
            runners[label] = service_runner(services[algorithm], algorithm, settings)
        runners.update({label: optuna_runner(make) for label, make in BASELINES.items()})
        for name in opts.functions.split(","):
            function, best = FUNCTIONS[name]
            print(
                f"\n## {name.upper()} hypervolume after {opts.trials} trials, {opts.seeds} seeds "
                f"(reference {REFERENCE}, true front {best:.3f}; ours over gRPC)\n"
            )
            print("| method | dims | median HV | min | max | s/run |")
            print("|---|---:|---:|---:|---:|---:|")
            with threadpool_limits(1):
                for dims in dims_list:
                    for label, run in runners.items():
                        scores: list[float] = []
                        started = time.perf_counter()
                        for seed in range(opts.seeds):
                            scores.append(hypervolume(run(function, dims, opts.trials, seed)))
                        per_run = (time.perf_counter() - started) / opts.seeds
                        print(
                            f"| {label} | {dims} | {statistics.median(scores):.3f} | {min(scores):.3f} "
                            f"| {max(scores):.3f} | {per_run:.1f} |",
                            flush=True,
                        )
    finally:
        for service in services.values():
            service.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
