"""Multi-objective search through the suggestion services over gRPC (katib-py's additionalObjectives)."""

from __future__ import annotations

import statistics
from collections.abc import Callable

import grpc
import pytest

from katib_py.proto import api_pb2
from katib_py.suggestion import messages as m
from katib_py.suggestion.client import LocalService

Serve = Callable[..., LocalService]
MULTI = ["nsga2", "tpe", "multivariate-tpe", "random"]
SINGLE = ["cmaes", "sobol", "bayesianoptimization", "grid"]
PARAMS = [
    m.parameter("x", "double", min=-10, max=10),
    m.parameter("opt", "categorical", values=["sgd", "adam"]),
]


def experiment(algorithm: str, **settings: str) -> api_pb2.Experiment:
    """Minimize f1 = x² and maximize -f2 = -(x-2)² (x shifted by 1 for sgd): the Pareto set is x in
    [0, 2] with adam and [-1, 1] with sgd."""
    return m.experiment(
        f"mo-{algorithm}",
        algorithm,
        PARAMS,
        settings=settings,
        metric="f1",
        additional_objectives=[("neg_f2", True)],
    )


def shifted(assignment: dict[str, str]) -> float:
    return float(assignment["x"]) + (0.0 if assignment["opt"] == "adam" else 1.0)


def metrics(assignment: dict[str, str]) -> dict[str, float]:
    x = shifted(assignment)
    return {"f1": x**2, "neg_f2": -((x - 2) ** 2)}


def run(client: LocalService, exp: api_pb2.Experiment, rounds: int, batch: int) -> list[dict[str, str]]:
    trials: list[api_pb2.Trial] = []
    given: list[dict[str, str]] = []
    for r in range(rounds):
        got = m.assignments(client.suggest(exp, trials, batch))
        assert len(got) == batch
        assert len({(g.assignment["x"], g.assignment["opt"]) for g in got}) == batch  # never a live one
        for j, item in enumerate(got):
            a = item.assignment
            assert -10 <= float(a["x"]) <= 10 and a["opt"] in {"sgd", "adam"}
            given.append(a)
            trials.append(m.trial(f"t{r}-{j}", a, "Succeeded", metrics(a)))
    return given


def on_front(a: dict[str, str]) -> bool:
    return 0 <= shifted(a) <= 2


SETTINGS = {
    "nsga2": {"population_size": "8", "random_state": "1"},
    "tpe": {"n_startup_trials": "8", "random_state": "1"},
    "multivariate-tpe": {"n_startup_trials": "8", "random_state": "1"},
    "random": {"random_state": "1"},
}


@pytest.mark.parametrize("algorithm", MULTI)
def test_multi_objective_algorithms_propose_valid_assignments(serve: Serve, algorithm: str) -> None:
    client = serve(algorithm)
    exp = experiment(algorithm, **SETTINGS[algorithm])
    client.validate(exp)
    assert len(run(client, exp, rounds=6, batch=4)) == 24


@pytest.mark.parametrize("algorithm", ["nsga2", "tpe"])
def test_the_learning_algorithms_close_in_on_the_pareto_set(serve: Serve, algorithm: str) -> None:
    """Random search lands on the Pareto set 10% of the time (2 of x's 20), and its median distance
    to it is about 4 (with these seeds: 1 of the last 16 on it, median distance 5.1)."""
    client = serve(algorithm)
    given = run(client, experiment(algorithm, **SETTINGS[algorithm]), rounds=12, batch=4)
    late = given[-16:]
    distance = [max(0.0, -shifted(a), shifted(a) - 2) for a in late]
    assert sum(on_front(a) for a in late) >= 4, distance
    assert statistics.median(distance) < 1.5, distance


def test_a_trial_without_every_objective_is_not_history(serve: Serve) -> None:
    """A succeeded trial missing the second metric is told as failed: the service still answers."""
    client = serve("tpe")
    exp = experiment("tpe", n_startup_trials="1", random_state="2")
    trials = [m.trial("only-f1", {"x": "1", "opt": "adam"}, "Succeeded", {"f1": 1.0})]
    trials += [m.trial("nan", {"x": "2", "opt": "adam"}, "Succeeded", {"f1": 4.0, "neg_f2": "nan"})]
    assert len(m.assignments(client.suggest(exp, trials, 2))) == 2


@pytest.mark.parametrize("algorithm", SINGLE)
def test_single_objective_algorithms_refuse_additional_objectives(serve: Serve, algorithm: str) -> None:
    client = serve(algorithm)
    params = [m.parameter("x", "double", min=-10, max=10, step=1), m.parameter("y", "int", min=0, max=3)]
    exp = m.experiment("mo", algorithm, params, metric="f1", additional_objectives=[("f2", False)])
    with pytest.raises(grpc.RpcError) as info:
        client.validate(exp)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"algorithm {algorithm} cannot search additional objectives: it optimizes one objective" in str(
        info.value.details()
    )
