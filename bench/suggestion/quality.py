"""Optimiser quality: our services over gRPC against the libraries called directly."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from bench.suggestion.functions import TestFunction
from katib_py.proto import api_pb2
from katib_py.suggestion import messages as m
from katib_py.suggestion.client import AlgorithmClient

Runner = Callable[[TestFunction, int, int], list[float]]  # (function, trials, seed) -> values in order


def experiment_for(
    fn: TestFunction, algorithm: str, name: str, settings: dict[str, str]
) -> api_pb2.Experiment:
    params = [m.parameter(f"x{i}", "double", min=lo, max=hi) for i, (lo, hi) in enumerate(fn.bounds)]
    return m.experiment(name, algorithm, params, settings=settings)


def service_runner(client: AlgorithmClient, algorithm: str, settings: dict[str, str] | None = None) -> Runner:
    """Drive a running service sequentially, one assignment per GetSuggestions, as the operator would."""

    def run(fn: TestFunction, trials: int, seed: int) -> list[float]:
        experiment = experiment_for(
            fn,
            algorithm,
            f"q-{algorithm}-{fn.name.lower()}-{seed}",
            {"random_state": str(seed), **(settings or {})},
        )
        history: list[api_pb2.Trial] = []
        values: list[float] = []
        for i in range(trials):
            reply = client.suggest(experiment, history, 1)
            assignment = m.assignments(reply)[0].assignment
            x = [float(assignment[f"x{j}"]) for j in range(fn.dims)]
            y = fn(x)
            values.append(y)
            history.append(m.trial(f"t{i}", assignment, "Succeeded", {"loss": y}))
        return values

    return run


def optuna_runner(make_sampler: Callable[[int], object]) -> Runner:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def run(fn: TestFunction, trials: int, seed: int) -> list[float]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study = optuna.create_study(sampler=make_sampler(seed))  # type: ignore[arg-type]
            values: list[float] = []

            def objective(trial: optuna.Trial) -> float:
                x = [trial.suggest_float(f"x{i}", lo, hi) for i, (lo, hi) in enumerate(fn.bounds)]
                y = fn(x)
                values.append(y)
                return y

            study.optimize(objective, n_trials=trials)
        return values

    return run


def hyperopt_runner() -> Runner:
    from hyperopt import STATUS_OK, Trials, fmin, hp, tpe

    def run(fn: TestFunction, trials: int, seed: int) -> list[float]:
        space = {f"x{i}": hp.uniform(f"x{i}", lo, hi) for i, (lo, hi) in enumerate(fn.bounds)}
        values: list[float] = []

        def objective(params: dict[str, float]) -> dict[str, object]:
            y = fn([params[f"x{i}"] for i in range(fn.dims)])
            values.append(y)
            return {"loss": y, "status": STATUS_OK}

        fmin(
            objective,
            space,
            algo=tpe.suggest,
            max_evals=trials,
            trials=Trials(),
            rstate=np.random.default_rng(seed),
            show_progressbar=False,
        )
        return values

    return run


def skopt_runner() -> Runner:
    from skopt import gp_minimize

    def run(fn: TestFunction, trials: int, seed: int) -> list[float]:
        values: list[float] = []

        def objective(x: list[float]) -> float:
            y = fn(x)
            values.append(y)
            return y

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gp_minimize(objective, list(fn.bounds), n_calls=trials, random_state=seed)
        return values

    return run


def best_so_far(values: list[float]) -> np.ndarray:
    return np.minimum.accumulate(np.asarray(values, dtype=float))
