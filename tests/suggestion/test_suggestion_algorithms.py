"""Every model-based algorithm over real gRPC: types, distributions, batches, restarts, settings."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping

import grpc
import pytest

from katib_py.proto import api_pb2
from katib_py.suggestion import messages as m
from katib_py.suggestion.client import LocalService

Client = LocalService


def rpc_error(call: Callable[[], object]) -> grpc.RpcError:
    """The gRPC error `call` raises (the test fails if it succeeds)."""
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


def key(assignment: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(assignment.items()))


def mixed_parameters() -> list[api_pb2.ParameterSpec]:
    """One parameter of every type and distribution Katib has."""
    return [
        m.parameter("x", "double", min=-5, max=10),
        m.parameter("lr", "double", min="1e-4", max="1e-1", distribution="logUniform"),
        m.parameter("mom", "double", min=0.5, max=0.9, step=0.1),
        m.parameter("wd", "double", min=0, max=1, distribution="normal"),
        m.parameter("scale", "double", min=1, max=100, distribution="logNormal"),
        m.parameter("layers", "int", min=1, max=8),
        m.parameter("batch", "int", min=16, max=256, distribution="logUniform"),
        m.parameter("units", "int", min=10, max=100, step=10),
        m.parameter("heads", "int", min=1, max=13, distribution="normal"),
        m.parameter("opt", "categorical", values=["sgd", "adam", "rmsprop"]),
        m.parameter("drop", "discrete", values=["0.10", "0.25", "0.5"]),
    ]


SEQUENTIAL = ["random", "tpe", "multivariate-tpe", "cmaes", "sobol", "bayesianoptimization"]
ALL_DISTRIBUTIONS = ["random", "tpe", "multivariate-tpe", "cmaes", "sobol", "bayesianoptimization"]
SMALL_SETTINGS = {
    "bayesianoptimization": {"n_initial_points": "4", "random_state": "1"},
    "tpe": {"n_startup_trials": "4", "random_state": "1"},
    "multivariate-tpe": {"n_startup_trials": "4", "random_state": "1"},
    "cmaes": {"random_state": "1"},
    "random": {"random_state": "1"},
    "sobol": {"random_state": "1"},
}


def assert_in_space(assignment: dict[str, str]) -> None:
    """Each value honours its parameter's type, bounds and step (see mixed_parameters)."""
    assert set(assignment) == {
        "x",
        "lr",
        "mom",
        "wd",
        "scale",
        "layers",
        "batch",
        "units",
        "heads",
        "opt",
        "drop",
    }
    x, lr, mom = float(assignment["x"]), float(assignment["lr"]), float(assignment["mom"])
    assert -5 <= x <= 10
    assert 1e-4 <= lr <= 1e-1
    assert 0.5 <= mom <= 0.9 and math.isclose(round(mom * 10), mom * 10, abs_tol=1e-9)
    assert 0 <= float(assignment["wd"]) <= 1
    assert 1 <= float(assignment["scale"]) <= 100
    for name, low, high in (("layers", 1, 8), ("batch", 16, 256), ("units", 10, 100), ("heads", 1, 13)):
        text = assignment[name]
        assert text.lstrip("-").isdigit(), f"{name}={text} is not an integer"
        assert low <= int(text) <= high
    assert int(assignment["units"]) % 10 == 0
    assert assignment["opt"] in {"sgd", "adam", "rmsprop"}
    assert assignment["drop"] in {"0.10", "0.25", "0.5"}  # discrete values keep their original text


def loss(assignment: dict[str, str]) -> float:
    penalty = {"sgd": 1.0, "adam": 0.0, "rmsprop": 0.5}[assignment["opt"]]
    return (float(assignment["x"]) - 2) ** 2 + abs(math.log10(float(assignment["lr"])) + 2) + penalty


def drive(
    client: LocalService, experiment: api_pb2.Experiment, rounds: int, batch: int
) -> tuple[list[api_pb2.Trial], list[dict[str, str]]]:
    """Ask `batch` at a time, complete them, `rounds` times; returns trials and every assignment."""
    trials: list[api_pb2.Trial] = []
    given: list[dict[str, str]] = []
    for r in range(rounds):
        reply = client.suggest(experiment, trials, batch)
        got = m.assignments(reply)
        assert len(got) == batch
        for j, item in enumerate(got):
            given.append(item.assignment)
            trials.append(m.trial(f"t{r}-{j}", item.assignment, "Succeeded", {"loss": loss(item.assignment)}))
    return trials, given


@pytest.mark.parametrize("algorithm", ALL_DISTRIBUTIONS)
def test_every_type_and_distribution_is_honoured(serve: Callable[..., LocalService], algorithm: str) -> None:
    client = serve(algorithm)
    experiment = m.experiment("mixed", algorithm, mixed_parameters(), settings=SMALL_SETTINGS[algorithm])
    client.validate(experiment)
    _trials, given = drive(client, experiment, rounds=3, batch=4)
    for assignment in given:
        assert_in_space(assignment)
    assert len({key(a) for a in given}) == len(given)


@pytest.mark.parametrize("algorithm", SEQUENTIAL)
def test_batch_is_distinct_and_spread(serve: Callable[..., LocalService], algorithm: str) -> None:
    client = serve(algorithm)
    params = [m.parameter("a", "double", min=0, max=1), m.parameter("b", "double", min=0, max=1)]
    experiment = m.experiment("batch", algorithm, params, settings=SMALL_SETTINGS[algorithm])
    trials = [
        m.trial(f"h{i}", {"a": str(i / 10), "b": str(1 - i / 10)}, "Succeeded", {"loss": (i / 10 - 0.3) ** 2})
        for i in range(10)
    ]
    got = [a.assignment for a in m.assignments(client.suggest(experiment, trials, 6))]
    assert len(got) == 6
    points = [(float(a["a"]), float(a["b"])) for a in got]
    assert len(set(points)) == 6
    closest = min(math.dist(p, q) for i, p in enumerate(points) for q in points[i + 1 :])
    assert closest > 1e-6


@pytest.mark.parametrize("algorithm", SEQUENTIAL)
def test_restart_never_repeats_a_live_assignment(serve: Callable[..., LocalService], algorithm: str) -> None:
    """6 combinations; 4 are held by live trials; a new service instance must give the other 2."""
    params = [
        m.parameter("n", "int", min=1, max=3),
        m.parameter("c", "categorical", values=["u", "v"]),
        m.parameter("d", "double", min=0, max=1, step=1),
    ]
    experiment = m.experiment("restart", algorithm, params, settings=SMALL_SETTINGS[algorithm])
    first = serve(algorithm)
    trials = [m.trial("done", {"n": "1", "c": "u", "d": "0.0"}, "Succeeded", {"loss": 1.0})]
    got = m.assignments(first.suggest(experiment, trials, 3))
    assert len(got) == 3
    trials += [m.trial(f"live{i}", a.assignment, "Running") for i, a in enumerate(got)]
    held = {key(a.assignment) for a in got}
    assert len(held) == 3
    assert (
        key({"n": "1", "c": "u", "d": "0.0"}) not in held
    )  # an evaluated point is avoided while others remain

    first.stop()  # killed mid-experiment
    second = serve(algorithm)
    again = [a.assignment for a in m.assignments(second.suggest(experiment, trials, 2))]
    assert len(again) == 2
    assert not {key(a) for a in again} & held
    assert len({key(a) for a in again}) == 2


@pytest.mark.parametrize("algorithm", SEQUENTIAL)
def test_handed_out_but_not_yet_created_is_not_repeated(
    serve: Callable[..., LocalService], algorithm: str
) -> None:
    """Assignments of the previous reply that are not trials yet still count as taken."""
    params = [
        m.parameter("n", "int", min=1, max=4),
        m.parameter("k", "int", min=0, max=1),
        m.parameter("c", "categorical", values=["u", "v"]),
    ]
    experiment = m.experiment("pending", algorithm, params, settings=SMALL_SETTINGS[algorithm])
    client = serve(algorithm)
    first = {key(a.assignment) for a in m.assignments(client.suggest(experiment, [], 4))}
    second = {key(a.assignment) for a in m.assignments(client.suggest(experiment, [], 4))}
    assert len(first) == 4 and len(second) == 4
    assert not first & second


def test_tpe_learns_on_a_quadratic(serve: Callable[..., LocalService]) -> None:
    client = serve("tpe")
    params = [m.parameter("x", "double", min=-10, max=10)]
    experiment = m.experiment("quad", "tpe", params, settings={"random_state": "3", "n_startup_trials": "5"})
    trials: list[api_pb2.Trial] = []
    for i in range(30):
        a = m.assignments(client.suggest(experiment, trials, 1))[0].assignment
        trials.append(m.trial(f"q{i}", a, "Succeeded", {"loss": (float(a["x"]) - 3) ** 2}))
    distance = [abs(float(t.spec.parameter_assignments.assignments[0].value) - 3) for t in trials]
    assert min(distance) < 0.3
    assert statistics.median(distance[-15:]) < statistics.median(distance[:5])  # model beats its random start


def test_bayesianoptimization_closes_in_on_a_6d_optimum(serve: Callable[..., LocalService]) -> None:
    """40 trials on a 6-D sphere: random search gets to about 16 (median), the GP must get within 0.05."""
    client = serve("bayesianoptimization")
    params = [m.parameter(f"x{j}", "double", min=-5, max=5) for j in range(6)]
    experiment = m.experiment("sphere", "bayesianoptimization", params, settings={"random_state": "1"})
    trials: list[api_pb2.Trial] = []
    losses: list[float] = []
    for i in range(40):
        a = m.assignments(client.suggest(experiment, trials, 1))[0].assignment
        losses.append(sum((float(a[f"x{j}"]) - 1.3) ** 2 for j in range(6)))
        trials.append(m.trial(f"s{i}", a, "Succeeded", {"loss": losses[-1]}))
    assert min(losses[:10]) > 1.0  # the random start alone is nowhere near
    assert min(losses) < 0.05


def test_maximize_is_honoured(serve: Callable[..., LocalService]) -> None:
    client = serve("bayesianoptimization")
    params = [m.parameter("x", "double", min=0, max=1)]
    experiment = m.experiment(
        "max", "bayesianoptimization", params, maximize=True, metric="acc", settings={"random_state": "2"}
    )
    trials = [m.trial(f"h{i}", {"x": str(i / 10)}, "Succeeded", {"acc": i / 10}) for i in range(11)]
    got = float(m.assignments(client.suggest(experiment, trials, 1))[0].assignment["x"])
    assert got > 0.7


def test_random_samples_follow_the_declared_distribution(serve: Callable[..., LocalService]) -> None:
    client = serve("random")
    params = [
        m.parameter("u", "double", min=0, max=6),
        m.parameter("n", "double", min=0, max=6, distribution="normal"),
        m.parameter("lu", "double", min=1, max=10000, distribution="logUniform"),
        m.parameter("ln", "double", min=1, max=10000, distribution="logNormal"),
    ]
    experiment = m.experiment("dist", "random", params, settings={"random_state": "5"})
    got = [a.assignment for a in m.assignments(client.suggest(experiment, [], 400))]
    middle = {n: sum(2 <= float(a[n]) <= 4 for a in got) / len(got) for n in ("u", "n")}
    assert 0.25 < middle["u"] < 0.42  # uniform: a third
    assert middle["n"] > 0.58  # normal with sigma = range/6: about 68% within one sigma
    logs = {n: statistics.median(math.log10(float(a[n])) for a in got) for n in ("lu", "ln")}
    assert 1.6 < logs["lu"] < 2.4 and 1.6 < logs["ln"] < 2.4  # median at the geometric centre (100)
    spread = {n: sum(1.0 <= math.log10(float(a[n])) <= 3.0 for a in got) / len(got) for n in ("lu", "ln")}
    assert spread["ln"] > spread["lu"] + 0.1


def test_failed_and_unknown_trials_are_accepted(serve: Callable[..., LocalService]) -> None:
    client = serve("tpe")
    params = [m.parameter("x", "double", min=0, max=1)]
    experiment = m.experiment("fail", "tpe", params)
    trials = [
        m.trial("f", {"x": "0.5"}, "Failed"),
        m.trial("k", {"x": "0.6"}, "Killed"),
        m.trial("s-no-metric", {"x": "0.7"}, "Succeeded"),
        m.trial("outside", {"x": "7"}, "Succeeded", {"loss": 1}),
        m.trial("es", {"x": "0.2"}, "EarlyStopped", {"loss": 0.5}),
        m.trial("nan", {"x": "0.3"}, "Succeeded", {"loss": "nan"}),
    ]
    got = m.assignments(client.suggest(experiment, trials, 2))
    assert len(got) == 2


INVALID = [
    ("tpe", {"gamma": "1.5"}, "setting gamma"),
    ("tpe", {"n_EI_candidates": "0"}, "n_EI_candidates"),
    ("tpe", {"bogus": "1"}, "unknown setting 'bogus'"),
    ("tpe", {"n_EI_candidates": "3", "n_ei_candidates": "3"}, "not both"),
    ("random", {"random_state": "-1"}, "random_state"),
    ("multivariate-tpe", {"n_startup_trials": "x"}, "n_startup_trials"),
    ("cmaes", {"restart_strategy": "sometimes"}, "restart_strategy"),
    ("cmaes", {"sigma": "-1"}, "sigma"),
    ("sobol", {"scramble": "true"}, "unknown setting 'scramble'"),
    ("bayesianoptimization", {"base_estimator": "GBRT"}, "must be one of GP, RF, ET"),
    ("bayesianoptimization", {"acq_func": "EIps"}, "EIps"),
    ("bayesianoptimization", {"acq_optimizer": "adam"}, "acq_optimizer"),
    ("bayesianoptimization", {"n_initial_points": "-3"}, "n_initial_points"),
]


@pytest.mark.parametrize(("algorithm", "settings", "message"), INVALID)
def test_invalid_settings_are_invalid_argument(
    serve: Callable[..., LocalService], algorithm: str, settings: dict[str, str], message: str
) -> None:
    client = serve(algorithm)
    params = [m.parameter("a", "double", min=0, max=1), m.parameter("b", "int", min=0, max=5)]
    experiment = m.experiment("bad", algorithm, params, settings=settings)
    error = rpc_error(lambda: client.validate(experiment))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (error.details() or "")
    error = rpc_error(lambda: client.suggest(experiment, [], 1))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


VALID = [
    ("tpe", {"gamma": "0.3", "prior_weight": "2", "n_EI_candidates": "10", "random_state": "4"}),
    ("tpe", {"n_startup_trials": "2", "n_ei_candidates": "8"}),
    ("multivariate-tpe", {"n_startup_trials": "2", "n_ei_candidates": "8", "random_state": "1"}),
    ("cmaes", {"restart_strategy": "ipop", "sigma": "0.5", "random_state": "3"}),
    ("cmaes", {"restart_strategy": "None"}),
    ("sobol", {}),
    ("random", {"random_state": "0"}),
    ("bayesianoptimization", {"base_estimator": "ET", "acq_func": "LCB", "n_initial_points": "2"}),
    ("bayesianoptimization", {"base_estimator": "RF", "acq_func": "PI", "acq_optimizer": "sampling"}),
    ("bayesianoptimization", {"acq_func": "EI", "acq_optimizer": "lbfgs", "n_initial_points": "2"}),
]


@pytest.mark.parametrize(("algorithm", "settings"), VALID)
def test_valid_settings_run(
    serve: Callable[..., LocalService], algorithm: str, settings: dict[str, str]
) -> None:
    client = serve(algorithm)
    params = [m.parameter("a", "double", min=0, max=1), m.parameter("b", "int", min=0, max=5)]
    experiment = m.experiment("good", algorithm, params, settings=settings)
    client.validate(experiment)
    trials = [
        m.trial(f"h{i}", {"a": str(i / 6), "b": str(i % 6)}, "Succeeded", {"loss": (i / 6 - 0.4) ** 2})
        for i in range(6)
    ]
    got = m.assignments(client.suggest(experiment, trials, 3))
    assert len(got) == 3


def test_cmaes_needs_two_numeric_parameters(serve: Callable[..., LocalService]) -> None:
    client = serve("cmaes")
    params = [m.parameter("a", "double", min=0, max=1), m.parameter("c", "categorical", values=["p", "q"])]
    error = rpc_error(lambda: client.validate(m.experiment("one", "cmaes", params)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "at least 2 int or double parameters" in (error.details() or "")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (m.parameter("a", "double", min=2, max=1), "greater than max"),
        (m.parameter("a", "double", min=0, max=1, distribution="logUniform"), "needs min > 0"),
        (m.parameter("a", "int", min=0.5, max=3), "must be integers"),
        (m.parameter("a", "double", min=0, max=1, step=-1), "step must be > 0"),
        (m.parameter("a", "categorical"), "non-empty"),
        (m.parameter("a", "double", min="x", max=1), "not a number"),
    ],
)
def test_invalid_parameter_specs(
    serve: Callable[..., LocalService], spec: api_pb2.ParameterSpec, message: str
) -> None:
    client = serve("random")
    error = rpc_error(lambda: client.validate(m.experiment("space", "random", [spec])))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (error.details() or "")


def test_wrong_algorithm_name_is_rejected(serve: Callable[..., LocalService]) -> None:
    client = serve("random")
    error = rpc_error(
        lambda: client.validate(m.experiment("e", "tpe", [m.parameter("a", "double", min=0, max=1)]))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "runs algorithm 'random'" in (error.details() or "")


def test_bayesianoptimization_history_cap_keeps_best_and_recent() -> None:
    import numpy as np

    from katib_py.suggestion.algorithms.bayesianoptimization import BEST_KEPT, HISTORY_CAP, cap_history
    from katib_py.suggestion.history import COMPLETED, TrialRecord

    trials = [
        TrialRecord(
            f"t{i}", {}, COMPLETED, 2, float(i), completion_time=f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z"
        )
        for i in range(1000)
    ]
    losses = np.array([t.value for t in trials], dtype=float)
    keep = cap_history(trials, losses)
    assert len(keep) == HISTORY_CAP
    assert set(range(BEST_KEPT)) <= set(keep)  # the best (lowest) losses
    assert set(range(1000 - (HISTORY_CAP - BEST_KEPT), 1000)) <= set(keep)  # the most recent


def test_bayesianoptimization_serves_a_long_history(serve: Callable[..., LocalService]) -> None:
    client = serve("bayesianoptimization")
    params = [m.parameter("a", "double", min=0, max=1), m.parameter("b", "double", min=0, max=1)]
    experiment = m.experiment("long", "bayesianoptimization", params, settings={"random_state": "0"})
    trials = [
        m.trial(
            f"h{i}", {"a": str((i * 0.618) % 1), "b": str((i * 0.382) % 1)}, "Succeeded", {"loss": i % 17}
        )
        for i in range(350)
    ]
    got = m.assignments(client.suggest(experiment, trials, 2))
    assert len(got) == 2


def test_bayesianoptimization_gp_hedge_is_served_by_expected_improvement(
    serve: Callable[..., LocalService],
) -> None:
    client = serve("bayesianoptimization")
    params = [m.parameter("a", "double", min=0, max=1), m.parameter("b", "double", min=-2, max=2)]
    trials = [
        m.trial(
            f"h{i}",
            {"a": str((i * 0.618) % 1), "b": str(4 * ((i * 0.382) % 1) - 2)},
            "Succeeded",
            {"loss": ((i * 0.618) % 1 - 0.3) ** 2},
        )
        for i in range(12)
    ]
    got = {}
    for acq in ("gp_hedge", "EI"):
        experiment = m.experiment(
            f"hedge-{acq.lower()}",
            "bayesianoptimization",
            params,
            settings={"random_state": "5", "acq_func": acq},
        )
        got[acq] = m.assignments(client.suggest(experiment, trials, 1))[0].assignment
    assert got["gp_hedge"] == got["EI"]
