"""The example plug-in (examples/custom-algorithm), installed with pip, served over real gRPC.

Found through its entry point only: without the install `katib-py suggestion serve` does not know
it, with it the same command serves it. Then the algorithm itself: compass search that starts at
the centre, polls, halves its step, converges and says so, and carries on after a restart.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2

from katib_py.proto import api_pb2
from katib_py.suggestion import messages as m
from katib_py.suggestion.client import LocalService, ServiceProcess

KATIB_PY = Path(sys.executable).parent / "katib-py"
NAME = "coordinate-search"
LEVEL = "coordinate-search.katib-py.io/level"
XY = [m.parameter("x", "double", min=0, max=1), m.parameter("y", "double", min=0, max=1)]


@pytest.fixture
def serve(plugin_site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], LocalService]]:
    """serve() -> the plug-in served in this process on 127.0.0.1 (the plug-in's site on sys.path)."""
    monkeypatch.syspath_prepend(str(plugin_site))
    started: list[LocalService] = []

    def start() -> LocalService:
        started.append(LocalService.start(NAME))
        return started[-1]

    try:
        yield start
    finally:
        for local in started:
            local.stop()


def experiment(params: list[api_pb2.ParameterSpec] = XY, **settings: str) -> api_pb2.Experiment:
    return m.experiment("cs", NAME, params, settings=settings, metric="loss", parallel_trial_count=2)


def ask(
    service: LocalService, exp: api_pb2.Experiment, trials: list[api_pb2.Trial], count: int
) -> list[m.Assigned]:
    return m.assignments(service.suggest(exp, trials, count))


def test_the_cli_serves_the_plugin_once_it_is_installed(plugin_site: Path, free_port: int) -> None:
    argv = [str(KATIB_PY), "suggestion", "serve", "--algorithm", NAME, "--listen", f"127.0.0.1:{free_port}"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    before = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
    assert before.returncode == 2
    known = "asha, bayesianoptimization, cmaes, darts, enas, grid,"
    assert f"unknown algorithm '{NAME}' (known: {known}" in before.stderr

    env["PYTHONPATH"] = str(plugin_site)
    listed = subprocess.run(
        [str(KATIB_PY), "suggestion", "list", "--check"], capture_output=True, text=True, timeout=120, env=env
    )
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert (
        f"{NAME}\tkatib_coordinate_search:CoordinateSearch (katib-py-coordinate-search 0.1.0)\tsuggestion"
        in listed.stdout.splitlines()
    )

    served = ServiceProcess.start(argv, f"127.0.0.1:{free_port}", env=env)
    try:
        assert (
            served.client.health_status("manager.v1beta1.Suggestion")
            == health_pb2.HealthCheckResponse.SERVING
        )
        served.client.validate(experiment())
        [centre] = m.assignments(served.client.suggest(experiment(), [], 1))
        assert centre.assignment == {"x": "0.5", "y": "0.5"}
    finally:
        assert served.stop() == 0


def test_starts_at_the_centre_and_polls_around_it(serve: Callable[[], LocalService]) -> None:
    service = serve()
    got = ask(service, experiment(), [], 6)
    assert [a.assignment for a in got] == [
        {"x": "0.5", "y": "0.5"},
        {"x": "0.75", "y": "0.5"},
        {"x": "0.25", "y": "0.5"},
        {"x": "0.5", "y": "0.75"},
        {"x": "0.5", "y": "0.25"},
    ]  # five, not six: the rest waits for this poll's outcome
    assert all(a.labels == {LEVEL: "0"} for a in got)


def test_every_parameter_kind_and_a_log_scale(serve: Callable[[], LocalService]) -> None:
    params = [
        m.parameter("lr", "double", min=0.001, max=0.1, distribution="logUniform"),
        m.parameter("hidden", "int", min=16, max=64),
        m.parameter("optimizer", "categorical", values=["sgd", "adam"]),
    ]
    got = [a.assignment for a in ask(serve(), experiment(params), [], 10)]
    centre = {"lr": "0.01", "hidden": "40", "optimizer": "sgd"}
    assert got == [
        centre,
        {**centre, "lr": "0.0316227766017"},  # a quarter of the log range up: 10 ** -1.5
        {**centre, "lr": "0.00316227766017"},
        {**centre, "hidden": "52"},
        {**centre, "hidden": "28"},
        {**centre, "optimizer": "adam"},  # one way only: the other rounds back onto sgd
    ]


def trial(name: str, assigned: m.Assigned, condition: str, loss: float | None = None) -> api_pb2.Trial:
    metrics = {} if loss is None else {"loss": loss}
    return m.trial(name, assigned.assignment, condition, metrics, assigned.labels)


def test_waits_for_its_poll_then_halves_the_step(serve: Callable[[], LocalService]) -> None:
    service = serve()
    exp = experiment()
    first = ask(service, exp, [], 5)
    # The centre is best so far; its poll is still running: nothing to add yet, and not the end.
    running = [trial("t0", first[0], "Succeeded", 1.0)] + [
        trial(f"t{i}", a, "Running") for i, a in enumerate(first[1:], 1)
    ]
    reply = service.suggest(exp, running, 2)
    assert m.assignments(reply) == [] and m.reply_settings(reply) == {}
    # The poll finished without an improvement (one trial failed): poll again at half the step.
    done = [running[0]] + [trial(f"t{i}", a, "Succeeded", 2.0) for i, a in enumerate(first[1:4], 1)]
    done.append(trial("t4", first[4], "Failed"))
    got = ask(service, exp, done, 2)
    assert [a.assignment for a in got] == [{"x": "0.625", "y": "0.5"}, {"x": "0.375", "y": "0.5"}]
    assert all(a.labels == {LEVEL: "1"} for a in got)


def loss(assignment: dict[str, str]) -> float:
    return (float(assignment["x"]) - 0.3) ** 2 + 2 * (float(assignment["y"]) - 0.65) ** 2


def run_search(
    service: LocalService, exp: api_pb2.Experiment, parallel: int, limit: int
) -> list[api_pb2.Trial]:
    """Drive the service as the operator does: ask for `parallel` more, run them, until the end."""
    trials: list[api_pb2.Trial] = []
    while len(trials) < limit:
        reply = service.suggest(exp, trials, parallel)
        got = m.assignments(reply)
        if m.reply_settings(reply).get("suggestion_end_reached") == "true":
            assert got == []
            return trials
        assert 0 < len(got) <= parallel
        trials += [
            trial(f"t{len(trials) + i}", a, "Succeeded", loss(a.assignment)) for i, a in enumerate(got)
        ]
    raise AssertionError(f"no end after {limit} trials")


def test_converges_on_a_quadratic_then_says_it_is_done(serve: Callable[[], LocalService]) -> None:
    exp = experiment(initial_step="0.25", min_step="0.01")
    trials = run_search(serve(), exp, parallel=2, limit=120)
    assignments = [{a.name: a.value for a in t.spec.parameter_assignments.assignments} for t in trials]
    keys = [tuple(sorted(a.items())) for a in assignments]
    assert len(keys) == len(set(keys)), "an assignment was proposed twice"
    best = min(assignments, key=loss)
    # The finest step is 0.25 / 16 = 0.015625 (the next, 0.0078125, is below min_step).
    assert abs(float(best["x"]) - 0.3) <= 0.0079 and abs(float(best["y"]) - 0.65) <= 0.0079, best
    assert len(trials) < 60


def test_a_restarted_service_carries_on_with_the_same_search(serve: Callable[[], LocalService]) -> None:
    exp = experiment()
    first = serve()
    trials: list[api_pb2.Trial] = []
    for _ in range(4):  # four rounds of three, each finished before the next is asked for
        got = ask(first, exp, trials, 3)
        trials += [
            trial(f"t{len(trials) + i}", a, "Succeeded", loss(a.assignment)) for i, a in enumerate(got)
        ]
    expected = ask(first, exp, trials, 3)
    assert expected
    restarted = serve()  # knows nothing but what the request carries (trials and their labels)
    assert ask(restarted, exp, trials, 3) == expected


@pytest.mark.parametrize(
    ("params", "settings", "message"),
    [
        (
            XY,
            {"min_step": "0.3", "initial_step": "0.2"},
            "min_step 0.3 must not be greater than initial_step 0.2",
        ),
        (XY, {"initial_step": "0.9"}, "setting initial_step: must be a number > 0 and <= 0.5, got '0.9'"),
        (
            XY,
            {"seed": "1"},
            "unknown setting 'seed' for algorithm coordinate-search (known settings: initial_step, min_step)",
        ),
        (
            [m.parameter("x", "double", min=0, max=1, distribution="normal")],
            {},
            "parameter x: algorithm coordinate-search does not support distribution normal "
            "(supported: uniform, logUniform)",
        ),
    ],
)
def test_its_own_validate_hook_checks_the_settings(
    serve: Callable[[], LocalService],
    params: list[api_pb2.ParameterSpec],
    settings: dict[str, str],
    message: str,
) -> None:
    service = serve()
    with pytest.raises(grpc.RpcError) as info:
        service.validate(experiment(params, **settings))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details() == message
