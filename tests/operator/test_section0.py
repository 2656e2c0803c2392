"""The Katib bugs katib-py fixes on purpose (spec section 0), end to end."""

from __future__ import annotations

import time

import pytest

from .operator_e2e import Stack, condition, gated_experiment, last_condition

pytestmark = pytest.mark.e2e


def _names(trials: list[dict]) -> list[str]:  # type: ignore[type-arg]
    return sorted(t["metadata"]["name"] for t in trials)


def _active(trials: list[dict]) -> list[dict]:  # type: ignore[type-arg]
    done = ("Succeeded", "Failed", "Killed", "EarlyStopped", "MetricsUnavailable")
    return [t for t in trials if not any(condition(t, c) for c in done)]


def test_exhausted_algorithm_completes_the_experiment(stack: Stack) -> None:
    """Item 1 (and 4): a grid that runs out ends as ExperimentSuggestionEndReached, and stays ended."""
    exp = gated_experiment(
        stack,
        "e2e-grid-end",
        algorithm={"algorithmName": "grid"},
        parameters=[
            {"name": "x", "parameterType": "categorical", "feasibleSpace": {"list": ["a", "b", "c"]}}
        ],
        parallelTrialCount=2,
    )
    del exp["spec"]["maxTrialCount"]
    stack.apply(exp)
    released: set[str] = set()

    def finished() -> dict | None:  # type: ignore[type-arg]
        for t in stack.trials("e2e-grid-end"):
            if t["metadata"]["name"] not in released:
                stack.release(t["metadata"]["name"], ["accuracy=0.5"])
                released.add(t["metadata"]["name"])
        exp = stack.get("experiment", "e2e-grid-end")
        return exp if exp and condition(exp, "Succeeded") else None

    done = stack.wait("grid experiment to end", finished, timeout=180)
    assert condition(done, "Succeeded")["reason"] == "ExperimentSuggestionEndReached"
    trials = stack.trials("e2e-grid-end")
    assert len(trials) == 3
    assert sorted(t["spec"]["parameterAssignments"][0]["value"] for t in trials) == ["a", "b", "c"]
    time.sleep(3)  # no restart oscillation: the condition stays put
    again = stack.get("experiment", "e2e-grid-end")
    assert again is not None and last_condition(again) == "Succeeded"
    assert not any(c["type"] == "Restarting" for c in again["status"]["conditions"])


def test_active_trials_are_killed_when_the_experiment_ends(stack: Stack) -> None:
    """Item 2: the goal is reached while another trial still runs: that trial becomes Killed."""
    name = "e2e-kill-on-end"
    stack.apply(
        gated_experiment(
            stack,
            name,
            objective={"type": "maximize", "goal": 0.8, "objectiveMetricName": "accuracy"},
            parallelTrialCount=2,
            maxTrialCount=5,
        )
    )
    trials = stack.wait("two trials", lambda: (t := stack.trials(name)) and len(t) == 2 and t)
    first, second = _names(trials)
    stack.release(first, ["accuracy=0.9"])
    exp = stack.wait_finished(name)
    assert condition(exp, "Succeeded")["reason"] == "ExperimentGoalReached"
    killed = stack.wait(
        "the other trial to be Killed", lambda: condition(stack.get("trial", second) or {}, "Killed")
    )
    assert killed["reason"] == "ExperimentCompleted"
    stack.wait("its job to be deleted", lambda: stack.get("job", second) is None)
    assert len(stack.trials(name)) == 2


def test_lowering_parallelism_deletes_only_active_trials(stack: Stack) -> None:
    """Item 3: completed trials stay; the newest active ones go; nothing more is created."""
    name = "e2e-lower-parallel"
    stack.apply(gated_experiment(stack, name, parallelTrialCount=3, maxTrialCount=10, maxFailedTrialCount=5))
    trials = stack.wait("three trials", lambda: (t := stack.trials(name)) and len(t) == 3 and t)
    done = _names(trials)[0]
    stack.release(done, ["accuracy=0.5"])
    stack.wait("a fourth trial", lambda: len(stack.trials(name)) == 4)
    stack.wait("three active trials", lambda: len(_active(stack.trials(name))) == 3)
    active = sorted(
        _active(stack.trials(name)), key=lambda t: (t["metadata"]["creationTimestamp"], t["metadata"]["name"])
    )
    stack.kubectl("patch", "experiment", name, "--type=merge", "-p", '{"spec":{"parallelTrialCount":1}}')
    stack.wait(
        "one active trial", lambda: len(_active(stack.trials(name))) == 1 and len(stack.trials(name)) == 2
    )
    remaining = _names(stack.trials(name))
    assert done in remaining
    survivor = next(n for n in remaining if n != done)
    assert survivor in [t["metadata"]["name"] for t in active]
    time.sleep(2)
    assert len(stack.trials(name)) == 2
    stack.kubectl("delete", "experiment", name, "--wait=false")


def test_trial_deleted_by_hand_is_recreated_with_same_name_and_parameters(stack: Stack) -> None:
    name = "e2e-recreate"
    stack.apply(gated_experiment(stack, name, parallelTrialCount=2, maxTrialCount=2))
    trials = stack.wait("two trials", lambda: (t := stack.trials(name)) and len(t) == 2 and t)
    victim = trials[0]
    victim_name = victim["metadata"]["name"]
    # No --wait: the operator may recreate the name before kubectl's watch lists it, and kubectl
    # then waits for a deletion of the new object (real clusters behave the same). The uid tells.
    stack.kubectl("delete", "trial", victim_name, "--wait=false")

    def recreated() -> dict | None:  # type: ignore[type-arg]
        t = stack.get("trial", victim_name)
        return t if t and t["metadata"]["uid"] != victim["metadata"]["uid"] else None

    again = stack.wait("the trial to come back", recreated)
    assert again["spec"]["parameterAssignments"] == victim["spec"]["parameterAssignments"]
    for t in stack.trials(name):
        stack.release(t["metadata"]["name"], ["accuracy=0.4"])
    exp = stack.wait_finished(name)
    assert condition(exp, "Succeeded")["reason"] == "ExperimentMaxTrialsReached"
    assert len(stack.trials(name)) == 2
