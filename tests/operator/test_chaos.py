"""Chaos: SIGKILL the operator several times during a 30-trial experiment; nothing is lost or duplicated."""

from __future__ import annotations

import json
import os
import signal

import grpc
import pytest

from katib_py.proto import api_pb2, api_pb2_grpc

from .operator_e2e import Stack, condition, shell_experiment

pytestmark = pytest.mark.e2e

TRIALS = 30


def _kill_operator(stack: Stack) -> int:
    pid = int((stack.data_dir / "operator.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    return pid


def test_operator_killed_repeatedly_loses_and_duplicates_nothing(stack: Stack) -> None:
    name = "e2e-chaos"
    stack.apply(
        shell_experiment(
            stack,
            name,
            "echo accuracy=$1\n",
            maxTrialCount=TRIALS,
            parallelTrialCount=5,
            maxFailedTrialCount=TRIALS,
        )
    )
    killed: set[int] = set()
    for threshold in (3, 10, 18, 25):
        stack.wait(f"{threshold} trials", lambda t=threshold: len(stack.trials(name)) >= t, timeout=300)
        killed.add(_kill_operator(stack))
        # the `katib-py up` supervisor starts a new operator
        stack.wait(
            "a new operator",
            lambda: int((stack.data_dir / "operator.pid").read_text()) not in killed,
            timeout=60,
        )
    exp = stack.wait_finished(name, timeout=600)
    assert condition(exp, "Succeeded")["reason"] == "ExperimentMaxTrialsReached"
    trials = stack.trials(name)
    assert len(trials) == TRIALS
    assignments = [json.dumps(t["spec"]["parameterAssignments"], sort_keys=True) for t in trials]
    assert len(set(assignments)) == TRIALS, "an assignment was used twice"
    assert exp["status"]["trialsSucceeded"] == TRIALS

    suggestion = stack.get("suggestion", name)
    assert suggestion is not None
    assert suggestion["status"]["suggestionCount"] == TRIALS
    assert not suggestion["status"].get("suggestions"), "completed assignments are pruned"

    endpoints = stack.get("endpoints", "katib-db-manager", "kubeflow")
    assert endpoints is not None
    address = endpoints["subsets"][0]["addresses"][0]["ip"]
    port = endpoints["subsets"][0]["ports"][0]["port"]
    with grpc.insecure_channel(f"{address}:{port}") as channel:
        db = api_pb2_grpc.DBManagerStub(channel)
        for trial in trials:
            reply = db.GetObservationLog(
                api_pb2.GetObservationLogRequest(
                    trial_name=trial["metadata"]["name"], metric_name="accuracy"
                ),
                timeout=30,
            )
            values = [log.metric.value for log in reply.observation_log.metric_logs]
            assert values, f"no observation for {trial['metadata']['name']}"
            expected = trial["spec"]["parameterAssignments"][0]["value"]
            assert float(values[-1]) == pytest.approx(float(expected))
