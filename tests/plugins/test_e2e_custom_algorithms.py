"""Both ways to bring an algorithm, end to end on `katib-py up` with real kubectl.

The katib-config gets the two entries shipped beside the examples: the pip-installed plug-in
(served by `katib-py suggestion serve --algorithm coordinate-search`, the built-ins' command) and the
foreign service (`python3 halton_service.py` in its workingDir, bound to 0.0.0.0:6789 as Katib's
images are). Their example Experiments are applied as shipped and run to Succeeded; two more with
settings only the services know to be wrong are admitted (admission has no table for these
algorithms) and fail at the service's ValidateAlgorithmSettings, as in Katib.

All four run side by side on one stack; each test waits for its own. Two more halton Experiments
with parameters of their own run beside the first: three copies of the foreign service on
0.0.0.0:6789 at once, each in its Pod's network namespace, each Experiment receiving only its own
assignments. The stack starts while a host process listens on *:6789 (the db-manager then serves
in a network namespace of its own).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ..operator.operator_e2e import STARTUP_SECONDS, Stack, _experiment, condition, start_stack, stop_stack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "examples" / "custom-algorithm"
FOREIGN = ROOT / "examples" / "foreign-suggestion"
LEVEL = "coordinate-search.katib-py.io/level"


def load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(path.read_text())
    return doc


# Halton Experiments beside the example's, each with parameters no other one has: a suggestion
# reply reaching the wrong Experiment would name parameters it does not have.
OWN_PARAMETERS = {
    "halton-b": [
        {"name": "b1", "parameterType": "double", "feasibleSpace": {"min": "0", "max": "1"}},
    ],
    "halton-c": [
        {"name": "c1", "parameterType": "int", "feasibleSpace": {"min": "1", "max": "9"}},
        {"name": "c2", "parameterType": "categorical", "feasibleSpace": {"list": ["u", "v"]}},
    ],
}


def halton_experiment(name: str, script: Path, start_index: int) -> dict[str, Any]:
    parameters = OWN_PARAMETERS[name]
    command = ["/bin/sh", str(script), *(f"${{trialParameters.{p['name']}}}" for p in parameters)]
    return _experiment(
        name,
        command,
        parameters,
        algorithm={
            "algorithmName": "halton",
            "algorithmSettings": [{"name": "start_index", "value": str(start_index)}],
        },
        maxTrialCount=4,
    )


def invalid(path: Path, name: str, settings: list[dict[str, str]]) -> dict[str, Any]:
    doc = load(path)
    doc["metadata"]["name"] = name
    doc["spec"]["algorithm"]["algorithmSettings"] = settings
    return doc


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, plugin_site: Path, foreign_app: Path) -> Iterator[Stack]:
    def configure(config: dict[str, Any]) -> None:
        plugin = load(PLUGIN / "katib-config-entry.yaml")
        # Installed beside katib-py rather than into its virtualenv (which these tests leave alone).
        plugin["env"].append({"name": "PYTHONPATH", "value": str(plugin_site)})
        foreign = load(FOREIGN / "katib-config-entry.yaml")
        foreign["workingDir"] = str(foreign_app)  # what the image has in /app
        config["runtime"]["suggestions"] += [plugin, foreign]

    # Another host process on *:6789 (gRPC's SO_REUSEPORT, so that other stacks on this machine keep
    # theirs), held while the stack starts: before, `katib-py up` found no address for its db-manager.
    with socket.socket() as host_process:
        host_process.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        host_process.bind(("0.0.0.0", 6789))
        host_process.listen()
        running = start_stack(tmp_path_factory.mktemp("katib-up-plugins"), configure=configure)
    script = tmp_path_factory.mktemp("halton-trials") / "report.sh"  # not in the data dir: Pods don't see it
    script.write_text(f"sleep {STARTUP_SECONDS}\necho accuracy=0.5 loss=0.5\n")
    try:
        for doc in [
            halton_experiment("halton-b", script, 3),
            halton_experiment("halton-c", script, 11),
            load(PLUGIN / "experiment.yaml"),
            load(FOREIGN / "experiment.yaml"),
            invalid(
                PLUGIN / "experiment.yaml",
                "coordinate-search-invalid",
                [{"name": "initial_step", "value": "0.9"}],
            ),
            invalid(FOREIGN / "experiment.yaml", "halton-invalid", [{"name": "start_index", "value": "-1"}]),
        ]:
            running.apply(doc)  # admitted: katib-config names both algorithms
        yield running
    finally:
        stop_stack(running)


def succeeded_trials(stack: Stack, name: str) -> list[dict[str, Any]]:
    exp = stack.wait_finished(name, timeout=300)
    done = condition(exp, "Succeeded")
    assert done is not None, f"{name} did not succeed: {exp['status']}"
    assert done["reason"] == "ExperimentMaxTrialsReached"
    trials = stack.trials(name)
    assert len(trials) == 6
    assert all(condition(t, "Succeeded") for t in trials)
    return trials


def assignment(trial: dict[str, Any]) -> dict[str, str]:
    return {a["name"]: a["value"] for a in trial["spec"]["parameterAssignments"]}


def test_plugin_installed_with_pip_runs_its_experiment(stack: Stack) -> None:
    trials = succeeded_trials(stack, "coordinate-search")
    points = [assignment(t) for t in trials]
    assert {"lr": "0.01", "hidden": "40", "optimizer": "sgd"} in points  # the centre, where it starts
    assert len({tuple(sorted(p.items())) for p in points}) == 6
    # Every other point is a poll move: one parameter away from an earlier point (its incumbent).
    for p in points:
        assert any(sum(p[k] != q[k] for k in p) == 1 for q in points if q is not p), p
    assert all(LEVEL in (t["spec"].get("labels") or {}) for t in trials)


# The first six Halton points (bases 2, 3, 5) on the example's space: lr logUniform on
# [0.001, 0.1], hidden one of the 49 ints 16..64, optimizer one of [sgd, adam].
HALTON_POINTS = [
    {"lr": "0.01", "hidden": "32", "optimizer": "sgd"},  # (1/2, 1/3, 1/5)
    {"lr": "0.00316227766", "hidden": "48", "optimizer": "sgd"},  # (1/4, 2/3, 2/5)
    {"lr": "0.0316227766", "hidden": "21", "optimizer": "adam"},  # (3/4, 1/9, 3/5)
    {"lr": "0.00177827941", "hidden": "37", "optimizer": "adam"},  # (1/8, 4/9, 4/5)
    {"lr": "0.0177827941", "hidden": "54", "optimizer": "sgd"},  # (5/8, 7/9, 1/25)
    {"lr": "0.005623413252", "hidden": "26", "optimizer": "sgd"},  # (3/8, 2/9, 6/25)
]


def test_foreign_grpc_service_runs_its_experiment(stack: Stack) -> None:
    trials = succeeded_trials(stack, "halton")
    points = [assignment(t) for t in trials]
    assert sorted(sorted(p.items()) for p in points) == sorted(sorted(p.items()) for p in HALTON_POINTS)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "coordinate-search-invalid",
            "Validation failed: setting initial_step: must be a number > 0 and <= 0.5, got '0.9'",
        ),
        ("halton-invalid", "Validation failed: setting start_index must be an integer >= 0, got '-1'"),
    ],
)
def test_settings_are_checked_by_the_service(stack: Stack, name: str, message: str) -> None:
    exp = stack.wait_finished(name, timeout=300)
    failed = condition(exp, "Failed")
    assert failed is not None and failed["message"] == "Suggestion has failed", exp["status"]
    suggestion = stack.get("suggestion", name)
    assert suggestion is not None
    suggestion_failed = condition(suggestion, "Failed")
    assert suggestion_failed is not None and suggestion_failed["message"] == message
    assert stack.trials(name) == []


def test_the_db_manager_serves_katibs_port_while_the_host_holds_it(stack: Stack) -> None:
    """As root the db-manager has a network namespace of its own on the Pod network."""
    endpoints = stack.get("endpoints", "katib-db-manager", "kubeflow")
    assert endpoints is not None
    [subset] = endpoints["subsets"]
    ip = ipaddress.ip_address(subset["addresses"][0]["ip"])
    assert subset["ports"][0]["port"] == 6789
    assert ip.is_loopback and ip.packed[2] >= 128, f"{ip} is not on the Pod network"
    with socket.create_connection((str(ip), 6789), timeout=5):
        pass


@pytest.mark.parametrize("name", ["halton-b", "halton-c"])
def test_three_copies_of_a_service_on_one_port_each_serve_their_own_experiment(
    stack: Stack, name: str
) -> None:
    exp = stack.wait_finished(name, timeout=300)
    done = condition(exp, "Succeeded")
    assert done is not None, f"{name} did not succeed: {exp['status']}"
    trials = stack.trials(name)
    assert len(trials) == 4
    own = {p["name"] for p in OWN_PARAMETERS[name]}
    assert all(set(assignment(t)) == own for t in trials), [assignment(t) for t in trials]
    # The first Experiment, served at the same time, got its own points too.
    assert succeeded_trials(stack, "halton")
