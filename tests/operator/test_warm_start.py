"""katib-py's warm start on `katib-py up`: points evaluated first, and an earlier experiment's
trials seeding the algorithm's history."""

from __future__ import annotations

from typing import Any

import pytest

from .operator_e2e import Stack, condition, gated_experiment

pytestmark = pytest.mark.e2e

CHOICE = [{"name": "x", "parameterType": "categorical", "feasibleSpace": {"list": ["a", "b"]}}]
WARM_LABEL = "katib-py.kubeflow.org/warm-start"


def _assignments(trial: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in trial["spec"]["parameterAssignments"]}


def _run_to_the_end(stack: Stack, name: str, count: int, metric: str) -> list[dict[str, Any]]:
    stack.wait(f"{count} trial(s)", lambda: len(stack.trials(name)) == count)
    for t in stack.trials(name):
        stack.release(t["metadata"]["name"], [metric])
    exp = stack.wait_finished(name, timeout=120)
    assert condition(exp, "Succeeded")["reason"] == "ExperimentMaxTrialsReached"  # type: ignore[index]
    return stack.trials(name)


def test_points_first_then_an_experiment_seeded_with_their_trials(stack: Stack) -> None:
    older, newer = "e2e-warm-points", "e2e-warm-seeded"
    stack.apply(
        gated_experiment(
            stack,
            older,
            parameters=CHOICE,
            maxTrialCount=1,
            parallelTrialCount=1,
            warmStart={"points": [{"x": "a"}]},
        )
    )
    [point] = _run_to_the_end(stack, older, 1, "accuracy=0.4")
    assert _assignments(point) == {"x": "a"}
    assert point["metadata"]["labels"][WARM_LABEL] == "point"
    assert condition(point, "Succeeded")

    # The random sampler avoids what its history holds while a value is left: with the older
    # experiment's trial (x=a) in that history, the newer one's only trial tries x=b.
    stack.apply(
        gated_experiment(
            stack,
            newer,
            parameters=CHOICE,
            maxTrialCount=1,
            parallelTrialCount=1,
            warmStart={"experiments": [older]},
        )
    )
    [seeded] = _run_to_the_end(stack, newer, 1, "accuracy=0.6")
    assert _assignments(seeded) == {"x": "b"}
    assert WARM_LABEL not in seeded["metadata"]["labels"]
    exp = stack.get("experiment", newer)
    assert exp is not None and exp["status"]["trials"] == 1  # the seeds are not its trials
    header, row = stack.kubectl("get", "experiment", newer, "-o", "wide").stdout.splitlines()[:2]
    assert "SEEDED FROM" in header and older in row


def test_a_seed_that_poses_another_problem_is_refused_at_admission(stack: Stack) -> None:
    other = [{"name": "x", "parameterType": "double", "feasibleSpace": {"min": "0.1", "max": "0.9"}}]
    base = gated_experiment(stack, "e2e-warm-other", parameters=other, maxTrialCount=1, parallelTrialCount=1)
    stack.apply(base)
    refused = stack.apply(
        gated_experiment(
            stack,
            "e2e-warm-refused",
            parameters=CHOICE,
            maxTrialCount=1,
            parallelTrialCount=1,
            warmStart={"experiments": ["e2e-warm-other", "e2e-warm-missing"], "points": [{"x": "c"}]},
        ),
        check=False,
    )
    assert refused.returncode != 0
    for message in (
        "spec.warmStart.points[0].x: 'c' is not one of a, b",
        "spec.warmStart.experiments[0]: experiment 'e2e-warm-other' cannot seed this one: "
        "parameter x is double there, categorical here",
        "spec.warmStart.experiments[1]: experiment 'e2e-warm-missing' not found in this namespace",
    ):
        assert message in refused.stderr, refused.stderr
    assert stack.get("experiment", "e2e-warm-refused") is None
    stack.kubectl("delete", "experiment", "e2e-warm-other", "--wait=false")
