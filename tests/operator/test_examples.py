"""Every example in examples/ runs to Succeeded on the embedded stack, at CI-sized budgets.

All examples are applied at once (they run side by side, which also exercises concurrent
reconciliation); each test then waits for its own experiment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from .operator_e2e import Stack, condition

pytestmark = pytest.mark.e2e

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))
CI_MAX_TRIALS = 3
# Algorithms whose budget is part of their definition: run them as written.
AS_WRITTEN = {"hyperband", "pbt"}
# Algorithms that may legitimately run out before maxTrialCount.
MAY_EXHAUST = {"grid", "hyperband", "pbt"}


def _ci_sized(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc["spec"]
    if spec["algorithm"]["algorithmName"] not in AS_WRITTEN:
        spec["maxTrialCount"] = min(spec.get("maxTrialCount") or CI_MAX_TRIALS, CI_MAX_TRIALS)
        spec["parallelTrialCount"] = min(spec.get("parallelTrialCount") or 3, spec["maxTrialCount"])
        if spec.get("maxFailedTrialCount") is not None:
            spec["maxFailedTrialCount"] = min(spec["maxFailedTrialCount"], spec["maxTrialCount"])
    return doc


@pytest.fixture(scope="module")
def applied(stack: Stack) -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    for path in EXAMPLES:
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "Experiment":
                docs[path.name] = _ci_sized(doc)
                stack.apply(doc)
            elif isinstance(doc, dict):
                stack.apply(doc)
    return docs


def test_examples_exist() -> None:
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("example", [p.name for p in EXAMPLES])
def test_example_succeeds(stack: Stack, applied: dict[str, dict[str, Any]], example: str) -> None:
    doc = applied[example]
    name = doc["metadata"]["name"]
    exp = stack.wait_finished(name, timeout=600)
    succeeded = condition(exp, "Succeeded")
    assert succeeded is not None, exp["status"]
    allowed = {"ExperimentMaxTrialsReached", "ExperimentGoalReached"}
    if doc["spec"]["algorithm"]["algorithmName"] in MAY_EXHAUST:
        allowed.add("ExperimentSuggestionEndReached")
    assert succeeded["reason"] in allowed
    status = exp["status"]
    assert status["trialsSucceeded"] >= 1
    assert status["currentOptimalTrial"]["bestTrialName"]
    if succeeded["reason"] == "ExperimentMaxTrialsReached":
        completed = sum(
            status.get(k) or 0
            for k in (
                "trialsSucceeded",
                "trialsFailed",
                "trialsKilled",
                "trialsEarlyStopped",
                "trialMetricsUnavailable",
            )
        )
        assert completed >= doc["spec"]["maxTrialCount"]


def _trial_log(stack: Stack, trial: str) -> str:
    """The retained trial Job's output (the StdOut collector's container echoes the training output)."""
    out = stack.kubectl("logs", f"job/{trial}", "--all-containers=true")
    return out.stdout


def test_enas_example_shows_the_best_architecture(stack: Stack, applied: dict[str, dict[str, Any]]) -> None:
    exp = stack.wait_finished("enas", timeout=600)
    assert condition(exp, "Succeeded") is not None, exp["status"]
    best = exp["status"]["currentOptimalTrial"]
    values = {a["name"]: a["value"] for a in best["parameterAssignments"]}
    arch = json.loads(values["architecture"])  # Katib's ENAS trial parses both as JSON ('' -> "")
    nn_config = json.loads(values["nn_config"].replace("'", '"'))
    assert len(arch) == nn_config["num_layers"] == 4
    assert {str(layer[0]) for layer in arch} == set(nn_config["embedding"])
    accuracy = next(m for m in best["observation"]["metrics"] if m["name"] == "Validation-Accuracy")
    assert 0.0 < float(accuracy["latest"]) <= 1.0
    log = _trial_log(stack, best["bestTrialName"])
    assert f">>> architecture: {arch}" in log and "layer 4: " in log and "Validation-Accuracy=" in log
    rounds = {
        t["metadata"]["labels"]["enas.suggestion.katib.kubeflow.org/round"] for t in stack.trials("enas")
    }
    assert {"0", "1"} <= rounds


def test_darts_example_shows_the_best_genotype(stack: Stack, applied: dict[str, dict[str, Any]]) -> None:
    exp = stack.wait_finished("darts", timeout=600)
    assert condition(exp, "Succeeded") is not None, exp["status"]
    best = exp["status"]["currentOptimalTrial"]
    metrics = {m["name"]: m for m in best["observation"]["metrics"]}
    genotype = metrics["Best-Genotype"]["latest"]
    assert genotype.startswith("Genotype(normal=[[(") and " " not in genotype
    assert 0.0 < float(metrics["Validation-Accuracy"]["max"]) <= 1.0
    assert f"Best-Genotype={genotype}" in _trial_log(stack, best["bestTrialName"])
