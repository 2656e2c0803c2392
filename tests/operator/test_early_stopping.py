"""medianstop end to end: a trial reporting below the median of completed trials is stopped."""

from __future__ import annotations

import pytest

from .operator_e2e import Stack, condition, gated_experiment

pytestmark = pytest.mark.e2e


def test_medianstop_stops_a_bad_trial(stack: Stack) -> None:
    name = "e2e-medianstop"
    stack.apply(
        gated_experiment(
            stack,
            name,
            # one at a time: the third assignment (and its rules) comes after two trials completed
            parallelTrialCount=1,
            maxTrialCount=3,
            earlyStopping={
                "algorithmName": "medianstop",
                "algorithmSettings": [
                    {"name": "min_trials_required", "value": "2"},
                    {"name": "start_step", "value": "2"},
                ],
            },
        )
    )
    first_names: set[str] = set()
    for count in (1, 2):
        trials = stack.wait(f"trial {count}", lambda c=count: (t := stack.trials(name)) and len(t) == c and t)
        trial = next(t for t in trials if t["metadata"]["name"] not in first_names)
        stack.release(trial["metadata"]["name"], ["accuracy=0.8", "accuracy=0.9", "accuracy=0.9"])
        first_names.add(trial["metadata"]["name"])

    def third() -> dict | None:  # type: ignore[type-arg]
        return next((t for t in stack.trials(name) if t["metadata"]["name"] not in first_names), None)

    bad = stack.wait("a third trial", third)
    rules = bad["spec"].get("earlyStoppingRules") or []
    assert rules and rules[0]["name"] == "accuracy" and rules[0]["comparison"] == "less"
    # Reports below the median and never ends by itself: only early stopping can end it.
    stack.release(bad["metadata"]["name"], [f"accuracy=0.{i}" for i in range(1, 6)], end=False)
    stopped = stack.wait(
        "the trial to be early stopped",
        lambda: condition(stack.get("trial", bad["metadata"]["name"]) or {}, "EarlyStopped"),
    )
    assert stopped["reason"] == "TrialEarlyStopped"
    exp = stack.wait_finished(name)
    assert condition(exp, "Succeeded")["reason"] == "ExperimentMaxTrialsReached"
    assert exp["status"]["trialsEarlyStopped"] == 1
    assert exp["status"]["trialsSucceeded"] == 2
    final = stack.get("trial", bad["metadata"]["name"])
    assert final is not None and final["status"]["observation"]["metrics"][0]["name"] == "accuracy"
