"""katib-py's multi-objective search on `katib-py up`: the extra objective's metric is collected and
the experiment's status lists the Pareto front of its succeeded trials."""

from __future__ import annotations

import pytest

from .operator_e2e import Stack, condition, gated_experiment

pytestmark = pytest.mark.e2e


def test_the_pareto_front_of_two_objectives_is_in_the_status_and_a_column(stack: Stack) -> None:
    name = "e2e-multi-objective"
    objective = {
        "type": "maximize",
        "objectiveMetricName": "accuracy",
        "additionalObjectives": [{"objectiveMetricName": "latency", "type": "minimize"}],
    }
    stack.apply(gated_experiment(stack, name, objective=objective, maxTrialCount=3, parallelTrialCount=3))
    stored = stack.get("experiment", name)
    assert stored is not None
    # the defaulting collects the extra objective's metric, minimized by its own direction
    assert stored["spec"]["objective"]["additionalMetricNames"] == ["latency"]
    assert {"name": "latency", "value": "min"} in stored["spec"]["objective"]["metricStrategies"]

    stack.wait("3 trials", lambda: len(stack.trials(name)) == 3)
    trials = sorted(t["metadata"]["name"] for t in stack.trials(name))
    reports = {
        trials[0]: "accuracy=0.9 latency=9",  # most accurate, slowest
        trials[1]: "accuracy=0.8 latency=3",  # a trade-off
        trials[2]: "accuracy=0.7 latency=5",  # dominated by trials[1]
    }
    for trial, line in reports.items():
        stack.release(trial, [line])
    exp = stack.wait_finished(name, timeout=120)
    assert condition(exp, "Succeeded")["reason"] == "ExperimentMaxTrialsReached"  # type: ignore[index]

    status = exp["status"]
    front = {p["trialName"]: p["values"] for p in status["paretoFront"]}
    assert front == {
        trials[0]: [{"name": "accuracy", "value": "0.9"}, {"name": "latency", "value": "9"}],
        trials[1]: [{"name": "accuracy", "value": "0.8"}, {"name": "latency", "value": "3"}],
    }
    assert status["paretoFrontSize"] == 2
    assert status["currentOptimalTrial"]["bestTrialName"] == trials[0]  # best on the first objective

    header, row = stack.kubectl("get", "experiment", name, "-o", "wide").stdout.splitlines()[:2]
    assert "PARETO FRONT" in header
    # kubectl aligns each value under its header: the column's value starts where its header does
    assert row[header.index("PARETO FRONT") :].split()[0] == "2"
