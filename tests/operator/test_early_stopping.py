"""Early stopping end to end: medianstop stops a trial reporting below the median of completed
trials; asha stops one at the first rung it fails."""

from __future__ import annotations

from typing import Any

import pytest

from .operator_e2e import Stack, condition, gated_experiment

pytestmark = pytest.mark.e2e


def _one_at_a_time(stack: Stack, name: str, algorithm: str, settings: dict[str, str]) -> None:
    """Three trials, one at a time: the third assignment (and its rules) comes after two completed."""
    stack.apply(
        gated_experiment(
            stack,
            name,
            parallelTrialCount=1,
            maxTrialCount=3,
            earlyStopping={
                "algorithmName": algorithm,
                "algorithmSettings": [{"name": k, "value": v} for k, v in settings.items()],
            },
        )
    )


def _first_two_then_third(
    stack: Stack, name: str, reports: list[list[str]], wait_succeeded: bool
) -> dict[str, Any]:
    """Release the first two trials with their reports (in turn), then return the third."""
    first_names: set[str] = set()
    for count, values in enumerate(reports, start=1):
        trials = stack.wait(f"trial {count}", lambda c=count: (t := stack.trials(name)) and len(t) == c and t)
        trial = next(t for t in trials if t["metadata"]["name"] not in first_names)
        stack.release(trial["metadata"]["name"], [f"accuracy={v}" for v in values])
        first_names.add(trial["metadata"]["name"])
        if wait_succeeded:
            stack.wait(
                f"trial {count} to succeed",
                lambda n=trial["metadata"]["name"]: condition(stack.get("trial", n) or {}, "Succeeded"),
            )

    def third() -> dict[str, Any] | None:
        return next((t for t in stack.trials(name) if t["metadata"]["name"] not in first_names), None)

    found: dict[str, Any] = stack.wait("a third trial", third)
    return found


def _wait_early_stopped(stack: Stack, trial: str) -> dict[str, Any]:
    stopped: dict[str, Any] = stack.wait(
        "the trial to be early stopped",
        lambda: condition(stack.get("trial", trial) or {}, "EarlyStopped"),
    )
    return stopped


def test_medianstop_stops_a_bad_trial(stack: Stack) -> None:
    name = "e2e-medianstop"
    _one_at_a_time(stack, name, "medianstop", {"min_trials_required": "2", "start_step": "2"})
    bad = _first_two_then_third(stack, name, [["0.8", "0.9", "0.9"]] * 2, wait_succeeded=False)
    rules = bad["spec"].get("earlyStoppingRules") or []
    assert rules and rules[0]["name"] == "accuracy" and rules[0]["comparison"] == "less"
    # Reports below the median and never ends by itself: only early stopping can end it.
    stack.release(bad["metadata"]["name"], [f"accuracy=0.{i}" for i in range(1, 6)], end=False)
    stopped = _wait_early_stopped(stack, bad["metadata"]["name"])
    assert stopped["reason"] == "TrialEarlyStopped"
    exp = stack.wait_finished(name)
    assert condition(exp, "Succeeded")["reason"] == "ExperimentMaxTrialsReached"  # type: ignore[index]
    assert exp["status"]["trialsEarlyStopped"] == 1
    assert exp["status"]["trialsSucceeded"] == 2
    final = stack.get("trial", bad["metadata"]["name"])
    assert final is not None and final["status"]["observation"]["metrics"][0]["name"] == "accuracy"


def test_asha_stops_a_trial_at_the_first_rung_it_fails(stack: Stack) -> None:
    """Rungs at 1, 2 and 4 reports (eta 2). The third trial is in the top half at rungs 1 and 2 and
    not at rung 4: with Katib's all-rules semantics it would never stop, with asha's any-rule it
    stops there."""
    name = "e2e-asha"
    _one_at_a_time(stack, name, "asha", {"min_resource": "1", "reduction_factor": "2", "max_resource": "8"})
    # each better than the one before, so that neither is stopped by the rules it gets
    reports = [["0.5", "0.6", "0.7", "0.8", "0.9"], ["0.6", "0.7", "0.8", "0.9", "0.95"]]
    bad = _first_two_then_third(stack, name, reports, wait_succeeded=True)
    rules = bad["spec"]["earlyStoppingRules"]
    assert [(r["startStep"], r["comparison"], float(r["value"])) for r in rules] == [
        (1, "less", pytest.approx(0.55)),
        (2, "less", pytest.approx(0.65)),
        (4, "less", pytest.approx(0.85)),
    ]
    assert bad["metadata"]["annotations"]["katib-py.kubeflow.org/stop-rule-mode"] == "any"
    stack.release(
        bad["metadata"]["name"],
        ["accuracy=0.56", "accuracy=0.66", "accuracy=0.7", "accuracy=0.72"],
        end=False,
    )
    stopped = _wait_early_stopped(stack, bad["metadata"]["name"])
    assert stopped["reason"] == "TrialEarlyStopped"
    exp = stack.wait_finished(name)
    assert exp["status"]["trialsEarlyStopped"] == 1 and exp["status"]["trialsSucceeded"] == 2
