"""katib-py's time budgets on `katib-py up`: an experiment's maxDurationSeconds (kubeflow/katib#1151)
and a trial's timeout, whatever the job kind.

Trials are gated and never released unless the test says so: they would run for ever.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from .operator_e2e import Stack, condition, gated_experiment

pytestmark = pytest.mark.e2e


def _columns(stack: Stack, kind: str, name: str) -> dict[str, str]:
    """`kubectl get KIND NAME -o wide` as header -> value."""
    header, row = stack.kubectl("get", kind, name, "-o", "wide").stdout.splitlines()[:2]
    starts = [i for i, c in enumerate(header) if c != " " and (i == 0 or header[i - 1] == " ")]
    # a header may hold one space ("MAX DURATION"): a column starts after two or more spaces
    starts = [i for i in starts if i == 0 or header[i - 2 : i] == "  "]
    bounds = [*starts, len(max(header, row, key=len)) + 1]
    return {header[a:b].strip(): row[a:b].strip() for a, b in itertools.pairwise(bounds)}


def test_a_spent_duration_ends_the_experiment_and_raising_it_resumes(stack: Stack) -> None:
    name = "e2e-max-duration"
    stack.apply(
        gated_experiment(
            stack,
            name,
            maxTrialCount=4,
            parallelTrialCount=2,
            maxDurationSeconds=600,
            resumePolicy="LongRunning",
        )
    )
    stack.wait("two running trials", lambda: len(stack.trials(name)) == 2)
    assert _columns(stack, "experiment", name)["MAX DURATION"] == "600"
    # Lowered to a budget already spent (the suggestion service alone takes longer to start).
    stack.kubectl("patch", "experiment", name, "--type=merge", "-p", '{"spec":{"maxDurationSeconds":2}}')

    exp = stack.wait_finished(name, timeout=60)
    done = condition(exp, "Succeeded")
    assert done is not None and done["reason"] == "ExperimentMaxDurationReached", exp["status"]
    assert done["message"] == "Experiment has succeeded because its max duration of 2 seconds has passed"
    first = {t["metadata"]["name"] for t in stack.trials(name)}
    assert len(first) == 2

    def killed() -> bool:
        return all(condition(t, "Killed") for t in stack.trials(name))

    stack.wait("the active trials to be killed", killed)
    stack.wait("their jobs to go", lambda: not any(stack.get("job", t) for t in first))

    # Resume: the budget now ends 10 minutes after the start; two more trials make maxTrialCount.
    stack.kubectl("patch", "experiment", name, "--type=merge", "-p", '{"spec":{"maxDurationSeconds":600}}')

    def new_trials() -> list[str]:
        names = {t["metadata"]["name"] for t in stack.trials(name)} - first
        return sorted(names) if len(names) == 2 else []

    for trial in stack.wait("two new trials after the restart", new_trials):
        stack.release(trial, ["accuracy=0.5"])
    exp = stack.wait(
        "the experiment to succeed again",
        lambda: (e := stack.get("experiment", name)) and condition(e, "Succeeded") and e,
    )
    assert condition(exp, "Succeeded")["reason"] == "ExperimentMaxTrialsReached"  # type: ignore[index]
    assert exp["status"]["trialsKilled"] == 2 and exp["status"]["trialsSucceeded"] == 2


def test_a_trial_that_runs_past_its_timeout_fails_and_its_job_is_deleted(stack: Stack) -> None:
    name = "e2e-trial-timeout"
    experiment: dict[str, Any] = gated_experiment(
        stack, name, maxTrialCount=2, parallelTrialCount=2, maxFailedTrialCount=2, trialTimeoutSeconds=5
    )
    experiment["spec"]["trialTemplate"]["retain"] = True  # a timed-out job goes all the same
    stack.apply(experiment)
    stack.wait("two trials", lambda: len(stack.trials(name)) == 2)
    trial = stack.trials(name)[0]["metadata"]["name"]
    assert _columns(stack, "trial", trial)["TIMEOUT"] == "5"

    exp = stack.wait_finished(name, timeout=60)
    assert condition(exp, "Failed")["reason"] == "ExperimentFailed"  # type: ignore[index]
    for t in stack.trials(name):
        failed = condition(t, "Failed")
        assert failed is not None and failed["reason"] == "TrialTimedOut", t["status"]
        assert failed["message"] == "Trial has failed because it ran longer than its timeout of 5 seconds"
        assert t["spec"]["timeoutSeconds"] == 5
    stack.wait("the timed-out jobs to go", lambda: not any(stack.get("job", t) for t in [trial]))
    events = stack.kubectl(
        "get", "events", "--field-selector", f"involvedObject.name={trial}", "-o", "json"
    ).stdout
    assert "TrialTimedOut" in events


def test_a_trial_that_ends_in_time_is_not_timed_out(stack: Stack) -> None:
    name = "e2e-trial-in-time"
    stack.apply(gated_experiment(stack, name, maxTrialCount=1, parallelTrialCount=1, trialTimeoutSeconds=60))
    stack.wait("a trial", lambda: len(stack.trials(name)) == 1)
    stack.release(stack.trials(name)[0]["metadata"]["name"], ["accuracy=0.7"])
    exp = stack.wait_finished(name, timeout=60)
    assert condition(exp, "Succeeded")["reason"] == "ExperimentMaxTrialsReached"  # type: ignore[index]
