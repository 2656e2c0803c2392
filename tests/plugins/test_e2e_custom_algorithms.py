"""Both ways to bring an algorithm, end to end on `katib-py up` with real kubectl.

The katib-config gets the two entries shipped beside the examples: the pip-installed plug-in
(served by `katib-py suggestion serve --algorithm coordinate-search`, the built-ins' command) and the
foreign service (`python3 halton_service.py` in its workingDir, bound to 0.0.0.0:6789 as Katib's
images are). Their example Experiments are applied as shipped and run to Succeeded; two more with
settings only the services know to be wrong are admitted (admission has no table for these
algorithms) and fail at the service's ValidateAlgorithmSettings, as in Katib.

All four run side by side on one stack; each test waits for its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ..operator.operator_e2e import Stack, condition, start_stack, stop_stack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "examples" / "custom-algorithm"
FOREIGN = ROOT / "examples" / "foreign-suggestion"
LEVEL = "coordinate-search.katib-py.io/level"


def load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(path.read_text())
    return doc


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

    running = start_stack(tmp_path_factory.mktemp("katib-up-plugins"), configure=configure)
    try:
        for doc in [
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
