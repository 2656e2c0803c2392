"""grid, hyperband and pbt over real gRPC: exhaustion, waiting, state round trips, restarts."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from katib_py.proto import api_pb2
from katib_py.suggestion import messages as m
from katib_py.suggestion.algorithm import END_REACHED_SETTING, ServiceOptions
from katib_py.suggestion.client import LocalService

Serve = Callable[..., LocalService]


def rpc_error(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


def with_settings(experiment: api_pb2.Experiment, settings: dict[str, str]) -> api_pb2.Experiment:
    """The experiment with `settings` merged over its algorithm settings (what the operator sends)."""
    out = api_pb2.Experiment()
    out.CopyFrom(experiment)
    merged = {s.name: s.value for s in out.spec.algorithm.algorithm_settings}
    merged.update(settings)
    del out.spec.algorithm.algorithm_settings[:]
    for name, value in merged.items():
        out.spec.algorithm.algorithm_settings.add(name=name, value=value)
    return out


# ---------------------------------------------------------------- grid


def grid_experiment(**kwargs: object) -> api_pb2.Experiment:
    params = [
        m.parameter("lr", "double", min=0.1, max=0.3, step=0.1),
        m.parameter("opt", "categorical", values=["sgd", "adam"]),
    ]
    return m.experiment("grid-e", "grid", params, **kwargs)  # type: ignore[arg-type]


def test_grid_gives_every_combination_once_then_end_reached(serve: Serve) -> None:
    client = serve("grid")
    experiment = grid_experiment(settings={"random_state": "7"})
    client.validate(experiment)
    trials: list[api_pb2.Trial] = []
    first = client.suggest(experiment, trials, 4)
    assert len(first.parameter_assignments) == 4
    assert END_REACHED_SETTING not in m.reply_settings(first)
    trials += [
        m.trial(f"g{i}", a.assignment, "Succeeded", {"loss": i}) for i, a in enumerate(m.assignments(first))
    ]
    second = client.suggest(experiment, trials, 4)
    assert len(second.parameter_assignments) == 2  # fewer than asked: the grid is exhausted
    assert m.reply_settings(second)[END_REACHED_SETTING] == "true"
    trials += [m.trial(f"h{i}", a.assignment, "Running") for i, a in enumerate(m.assignments(second))]
    given = {
        tuple(sorted(t.spec.parameter_assignments.assignments[i].value for i in range(2))) for t in trials
    }
    assert len(given) == 6
    values = {(a.assignment["lr"], a.assignment["opt"]) for a in m.assignments(first) + m.assignments(second)}
    assert values == {(lr, opt) for lr in ("0.1", "0.2", "0.3") for opt in ("sgd", "adam")}
    third = client.suggest(experiment, trials, 3)
    assert len(third.parameter_assignments) == 0
    assert m.reply_settings(third)[END_REACHED_SETTING] == "true"


def test_grid_restart_continues_without_repeats(serve: Serve) -> None:
    experiment = grid_experiment()
    first = serve("grid")
    got = m.assignments(first.suggest(experiment, [], 3))
    trials = [m.trial(f"g{i}", a.assignment, "Running") for i, a in enumerate(got)]
    first.stop()
    second = serve("grid")
    rest = m.assignments(second.suggest(experiment, trials, 5))
    assert len(rest) == 3
    keys = {tuple(sorted(a.assignment.items())) for a in got + rest}
    assert len(keys) == 6


def test_grid_int_and_loguniform_points(serve: Serve) -> None:
    client = serve("grid")
    params = [
        m.parameter("n", "int", min=2, max=8, step=3),
        m.parameter("lr", "double", min=0.001, max=0.1, step=0.033, distribution="logUniform"),
    ]
    got = m.assignments(client.suggest(m.experiment("g2", "grid", params), [], 20))
    assert {a.assignment["n"] for a in got} == {"2", "5", "8"}
    lrs = sorted({float(a.assignment["lr"]) for a in got})
    assert len(lrs) == 4 and math.isclose(lrs[0], 0.001) and math.isclose(lrs[-1], 0.1)
    ratios = [lrs[i + 1] / lrs[i] for i in range(3)]
    assert max(ratios) - min(ratios) < 1e-6  # geometric spacing for logUniform
    assert len(got) == 12


@pytest.mark.parametrize(
    ("params", "kwargs", "message"),
    [
        ([m.parameter("a", "double", min=0, max=1)], {}, "needs feasibleSpace.step"),
        (
            [m.parameter("a", "int", min=0, max=3)],
            {"max_trial_count": 9},
            "greater than the 4 grid combinations",
        ),
        (
            [m.parameter("a", "double", min=0, max=1, step=0.5, distribution="normal")],
            {},
            "distribution normal",
        ),
        ([m.parameter("a", "int", min=0, max=3)], {"settings": {"random_state": "x"}}, "random_state"),
    ],
)
def test_grid_invalid(serve: Serve, params: list[api_pb2.ParameterSpec], kwargs: dict, message: str) -> None:
    client = serve("grid")
    error = rpc_error(lambda: client.validate(m.experiment("g3", "grid", params, **kwargs)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (error.details() or "")


# ---------------------------------------------------------------- hyperband


def hyperband_experiment(**settings: str) -> api_pb2.Experiment:
    params = [
        m.parameter("lr", "double", min=0.01, max=0.1),
        m.parameter("opt", "categorical", values=["sgd", "adam"]),
        m.parameter("epochs", "int", min=1, max=9),
    ]
    base = {"r_l": "9", "resource_name": "epochs", "eta": "3"}
    base.update(settings)
    return m.experiment("hb", "hyperband", params, settings=base, parallel_trial_count=4)


def hb_loss(assignment: dict[str, str]) -> float:
    return (
        abs(float(assignment["lr"]) - 0.05)
        + (0.1 if assignment["opt"] == "sgd" else 0)
        - int(assignment["epochs"]) / 100
    )


def run_hyperband(serve: Serve, restart_every: int = 0) -> tuple[list[api_pb2.Trial], list[int]]:
    """Drive hyperband as the operator would: ask 4, persist settings, finish the oldest live trial."""
    client = serve("hyperband")
    experiment = hyperband_experiment()
    client.validate(experiment)
    stored: dict[str, str] = {}
    trials: list[api_pb2.Trial] = []
    live: list[int] = []
    sizes: list[int] = []
    for step in range(200):
        if restart_every and step and step % restart_every == 0:
            client.stop()
            client = serve("hyperband")
        reply = client.suggest(with_settings(experiment, stored), trials, 4 - len(live))
        stored.update(m.reply_settings(reply))
        sizes.append(len(reply.parameter_assignments))
        for a in m.assignments(reply):
            assert re.fullmatch(r"hb-[a-z0-9]{8}", a.trial_name)
            live.append(len(trials))
            trials.append(m.trial(a.trial_name, a.assignment, "Running", start_time=f"t{len(trials):04d}"))
        if stored.get(END_REACHED_SETTING) == "true" and not live:
            break
        assert live, "hyperband returned nothing while no trial is running"
        index = live.pop(0)
        t = trials[index]
        assignment = {a.name: a.value for a in t.spec.parameter_assignments.assignments}
        trials[index] = m.trial(
            t.name, assignment, "Succeeded", {"loss": hb_loss(assignment)}, start_time=t.status.start_time
        )
    return trials, sizes


def test_hyperband_runs_every_bracket_then_end_reached(serve: Serve) -> None:
    trials, sizes = run_hyperband(serve)
    epochs = [
        int(next(a.value for a in t.spec.parameter_assignments.assignments if a.name == "epochs"))
        for t in trials
    ]
    # r_l=9, eta=3: bracket s=2: 9@1, 3@3, 1@9; s=1: 5@3, 1@9; s=0: 3@9
    assert epochs == [1] * 9 + [3] * 3 + [9] + [3] * 5 + [9] + [9] * 3
    assert 0 in sizes[:-1]  # it waited for a rung (fewer, without the end flag) at least once
    # the 3 promoted configurations of the first rung are its 3 best
    first_rung = trials[:9]

    def config(t: api_pb2.Trial) -> tuple[str, str]:
        values = {a.name: a.value for a in t.spec.parameter_assignments.assignments}
        return values["lr"], values["opt"]

    best = sorted(first_rung, key=lambda t: float(t.status.observation.metrics[0].value))[:3]
    assert {config(t) for t in trials[9:12]} == {config(t) for t in best}
    assert config(trials[12]) == config(
        min(trials[9:12], key=lambda t: float(t.status.observation.metrics[0].value))
    )


def test_hyperband_survives_restarts(serve: Serve) -> None:
    trials, _ = run_hyperband(serve, restart_every=3)
    assert len(trials) == 22


def test_hyperband_finished_state_returns_nothing(serve: Serve) -> None:
    client = serve("hyperband")
    reply = client.suggest(hyperband_experiment(current_s="-1"), [], 3)
    assert len(reply.parameter_assignments) == 0
    assert m.reply_settings(reply)[END_REACHED_SETTING] == "true"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"resource_name": "batch"}, "not a parameter"),
        ({"r_l": "-2"}, "r_l"),
        ({"eta": "1"}, "eta"),
        ({"resource_name": "opt"}, "must be int or double"),
        ({"speed": "2"}, "unknown setting 'speed'"),
    ],
)
def test_hyperband_invalid(serve: Serve, settings: dict[str, str], message: str) -> None:
    client = serve("hyperband")
    error = rpc_error(lambda: client.validate(hyperband_experiment(**settings)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (error.details() or "")


def test_hyperband_requires_its_settings(serve: Serve) -> None:
    client = serve("hyperband")
    params = [m.parameter("epochs", "int", min=1, max=9)]
    error = rpc_error(lambda: client.validate(m.experiment("hb", "hyperband", params)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "requires setting 'r_l'" in (error.details() or "")


# ---------------------------------------------------------------- pbt


def pbt_experiment(**settings: str) -> api_pb2.Experiment:
    params = [
        m.parameter("lr", "double", min=0.01, max=0.1, step=0.01),
        m.parameter("layers", "int", min=1, max=5),
        m.parameter("opt", "categorical", values=["sgd", "adam", "rmsprop"]),
    ]
    base = {
        "suggestion_trial_dir": "/var/log/katib/checkpoints",
        "n_population": "5",
        "truncation_threshold": "0.4",
    }
    base.update(settings)
    return m.experiment("pbt-e", "pbt", params, settings=base, maximize=True, metric="acc")


def test_pbt_generations_labels_and_checkpoints(serve: Serve, tmp_path: Path) -> None:
    client = serve("pbt", ServiceOptions(data_dir=str(tmp_path)))
    experiment = pbt_experiment()
    client.validate(experiment)
    first = m.assignments(client.suggest(experiment, [], 8))
    assert len(first) == 5  # generation 0 is the population; nothing else is ready yet
    assert {a.labels["pbt.suggestion.katib.kubeflow.org/generation"] for a in first} == {"0"}
    assert sorted(a.labels["pbt.suggestion.katib.kubeflow.org/member"] for a in first) == list("01234")
    for a in first:
        assert re.fullmatch(r"pbt-e-[a-z0-9]{8}", a.trial_name)
        folder = tmp_path / "pbt-e" / a.trial_name
        assert folder.is_dir()
        (folder / "ckpt").write_text(a.trial_name)
    trials = []
    for i, a in enumerate(first):
        condition = "Failed" if i == 4 else "Succeeded"
        metrics = {} if i == 4 else {"acc": i / 10}
        trials.append(m.trial(a.trial_name, a.assignment, condition, metrics, labels=a.labels))
    second = m.assignments(client.suggest(experiment, trials, 10))
    # member 4 failed: re-run as it was; members 0-3 completed: their generation-1 successors
    retry = [a for a in second if a.labels["pbt.suggestion.katib.kubeflow.org/generation"] == "0"]
    assert len(retry) == 1 and retry[0].assignment == first[4].assignment
    children = [a for a in second if a.labels["pbt.suggestion.katib.kubeflow.org/generation"] == "1"]
    assert len(children) == 4
    names = {a.trial_name for a in first}
    for child in children:
        parent = child.labels["pbt.suggestion.katib.kubeflow.org/parent"]
        assert parent in names
        copied = tmp_path / "pbt-e" / child.trial_name / "ckpt"
        assert copied.read_text() == parent  # the parent's checkpoint was copied for the child
        assert 0.01 <= float(child.assignment["lr"]) <= 0.1
        assert child.assignment["opt"] in {"sgd", "adam", "rmsprop"}
    # the worst completed member (acc 0.0, member 0) exploits a top member instead of itself
    worst = next(c for c in children if c.labels["pbt.suggestion.katib.kubeflow.org/member"] == "0")
    assert worst.labels["pbt.suggestion.katib.kubeflow.org/parent"] != first[0].trial_name
    # a restarted service sees the same population and hands out nothing twice
    live = trials + [m.trial(a.trial_name, a.assignment, "Running", labels=a.labels) for a in second]
    client.stop()
    again = serve("pbt", ServiceOptions(data_dir=str(tmp_path)))
    assert len(again.suggest(experiment, live, 5).parameter_assignments) == 0


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"n_population": "3"}, "n_population"),
        ({"truncation_threshold": "1.5"}, "truncation_threshold"),
        ({"resample_probability": "2"}, "resample_probability"),
    ],
)
def test_pbt_invalid(serve: Serve, tmp_path: Path, settings: dict[str, str], message: str) -> None:
    client = serve("pbt", ServiceOptions(data_dir=str(tmp_path)))
    error = rpc_error(lambda: client.validate(pbt_experiment(**settings)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (error.details() or "")


def test_pbt_resample_probability(serve: Serve, tmp_path: Path) -> None:
    client = serve("pbt", ServiceOptions(data_dir=str(tmp_path)))
    experiment = pbt_experiment(resample_probability="0")
    first = m.assignments(client.suggest(experiment, [], 5))
    trials = [m.trial(a.trial_name, a.assignment, "Succeeded", {"acc": 0.5}, labels=a.labels) for a in first]
    second = m.assignments(client.suggest(experiment, trials, 5))
    by_name = {a.trial_name: a.assignment for a in first}
    for child in second:  # probability 0: never resampled, all equal scores: nobody exploits
        assert child.assignment == by_name[child.labels["pbt.suggestion.katib.kubeflow.org/parent"]]
    assert os.path.isdir(tmp_path / "pbt-e")
