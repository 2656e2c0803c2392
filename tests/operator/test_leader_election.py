"""Two operator replicas with leader election: one reconciles; kill it and the other takes over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from .operator_e2e import Stack, condition, shell_experiment, start_stack, stop_stack

pytestmark = pytest.mark.e2e

TRIALS = 12


@pytest.fixture(scope="module")
def elected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, subprocess.Popen[bytes]]]:
    stack = start_stack(tmp_path_factory.mktemp("katib-up-leader"), "--leader-elect")
    with open(stack.data_dir / "logs" / "standby.log", "w") as log:
        standby = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "katib_py.cli",
                "operator",
                "--leader-elect",
                "--lease-duration",
                "4",
                "--no-webhooks",
                "--metrics-addr",
                "",
            ],
            env=stack.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield stack, standby
    finally:
        if standby.poll() is None:
            os.killpg(standby.pid, signal.SIGTERM)
            standby.wait(30)
        stop_stack(stack)


def _holder(stack: Stack) -> str | None:
    lease = stack.get("lease", "3fbc96e9.katib.kubeflow.org", "kubeflow")
    return None if lease is None else str(lease["spec"].get("holderIdentity"))


def test_failover_keeps_the_experiment_exact(elected: tuple[Stack, subprocess.Popen[bytes]]) -> None:
    stack, standby = elected
    first = stack.wait("a lease holder", lambda: _holder(stack))
    name = "e2e-leader"
    stack.apply(
        shell_experiment(stack, name, "echo accuracy=$1\n", maxTrialCount=TRIALS, parallelTrialCount=3)
    )
    stack.wait("some trials", lambda: len(stack.trials(name)) >= 3)
    leader_pid = int(first.split("_")[1])
    os.kill(leader_pid, signal.SIGKILL)
    second = stack.wait("a new lease holder", lambda: (h := _holder(stack)) != first and h, timeout=60)
    assert second != first
    exp = stack.wait_finished(name, timeout=300)
    assert condition(exp, "Succeeded")["reason"] == "ExperimentMaxTrialsReached"
    trials = stack.trials(name)
    assert len(trials) == TRIALS
    assert len({str(t["spec"]["parameterAssignments"]) for t in trials}) == TRIALS
    assert standby.poll() is None
