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


def test_asha_stops_a_trial_at_the_first_rung_it_fails(stack: Stack) -> None:
    """Rungs at 1, 2 and 4 reports (eta 2). The third trial is in the top half at rungs 1 and 2 and
    not at rung 4: with Katib's all-rules semantics it would never stop, with asha's any-rule it
    stops there."""
    name = "e2e-asha"
    stack.apply(
        gated_experiment(
            stack,
            name,
            parallelTrialCount=1,
            maxTrialCount=3,
            earlyStopping={
                "algorithmName": "asha",
                "algorithmSettings": [
                    {"name": "min_resource", "value": "1"},
                    {"name": "reduction_factor", "value": "2"},
                    {"name": "max_resource", "value": "8"},
                ],
            },
        )
    )
    # each better than the one before, so that neither is stopped by the rules it gets
    reports = [["0.5", "0.6", "0.7", "0.8", "0.9"], ["0.6", "0.7", "0.8", "0.9", "0.95"]]
    first_names: set[str] = set()
    for count, values in enumerate(reports, start=1):
        trials = stack.wait(f"trial {count}", lambda c=count: (t := stack.trials(name)) and len(t) == c and t)
        trial = next(t for t in trials if t["metadata"]["name"] not in first_names)
        stack.release(trial["metadata"]["name"], [f"accuracy={v}" for v in values])
        first_names.add(trial["metadata"]["name"])
        stack.wait(
            f"trial {count} to succeed",
            lambda n=trial["metadata"]["name"]: condition(stack.get("trial", n) or {}, "Succeeded"),
        )

    def third() -> dict | None:  # type: ignore[type-arg]
        return next((t for t in stack.trials(name) if t["metadata"]["name"] not in first_names), None)

    bad = stack.wait("a third trial", third)
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
    stopped = stack.wait(
        "the trial to be early stopped",
        lambda: condition(stack.get("trial", bad["metadata"]["name"]) or {}, "EarlyStopped"),
    )
    assert stopped["reason"] == "TrialEarlyStopped"
    exp = stack.wait_finished(name)
    assert exp["status"]["trialsEarlyStopped"] == 1 and exp["status"]["trialsSucceeded"] == 2
