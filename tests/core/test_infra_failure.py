"""katib-py's retries for infrastructure failures: which Pod failures are the cluster's, and the
trial's retry decision (kubeflow/katib#433, #2452)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from katib_py.core import experiment_status as es
from katib_py.core import infra_failure as infra
from katib_py.core import trial_status as ts
from katib_py.core.conditions import get_condition
from katib_py.core.trial_instance import build_trial

from .core_factories import T1, T2, experiment, trial


def pod(name: str = "p", phase: str = "Running", **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "uid": f"uid-{name}"}, "status": {"phase": phase, **status}}


def container(state: dict[str, Any], last: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": "main", "state": state, "lastState": last or {}}


@pytest.mark.parametrize(
    "reason",
    [
        "EvictionByEvictionAPI",
        "PreemptionByScheduler",
        "DeletionByTaintManager",
        "DeletionByPodGC",
        "TerminationByKubelet",
    ],
)
def test_a_disruption_target_is_an_infrastructure_failure(reason: str) -> None:
    target = {"type": "DisruptionTarget", "status": "True", "reason": reason, "message": "m"}
    disrupted = pod(conditions=[target])
    assert infra.pod_infra_failure(disrupted) == infra.InfraFailure("p", reason, "m")
    cleared = pod(conditions=[{"type": "DisruptionTarget", "status": "False", "reason": reason}])
    assert infra.pod_infra_failure(cleared) is None


@pytest.mark.parametrize(
    "reason", ["Evicted", "OutOfcpu", "OutOfmemory", "UnexpectedAdmissionError", "NodeAffinity", "Terminated"]
)
def test_a_pod_the_node_rejected_or_lost_is_an_infrastructure_failure(reason: str) -> None:
    found = infra.pod_infra_failure(pod(phase="Failed", reason=reason, message="node said so"))
    assert found == infra.InfraFailure("p", reason, "node said so")


@pytest.mark.parametrize(
    "reason",
    [
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    ],
)
def test_a_container_that_cannot_be_created_is_an_infrastructure_failure(reason: str) -> None:
    state = {"waiting": {"reason": reason, "message": "x"}}
    waiting = pod(phase="Pending", containerStatuses=[container(state)])
    assert infra.pod_infra_failure(waiting) == infra.InfraFailure("p", reason, "container main: x")


@pytest.mark.parametrize("reason", ["StartError", "ContainerCannotRun", "ContainerStatusUnknown"])
def test_a_container_the_runtime_could_not_start_is_an_infrastructure_failure(reason: str) -> None:
    term = {"terminated": {"reason": reason, "exitCode": 128, "message": "exec: no such file"}}
    failed = pod(phase="Failed", containerStatuses=[container(term)])
    found = infra.InfraFailure("p", reason, "container main: exec: no such file")
    assert infra.pod_infra_failure(failed) == found
    # restartPolicy OnFailure: the container waits in CrashLoopBackOff, the start error in lastState
    looping = pod(containerStatuses=[container({"waiting": {"reason": "CrashLoopBackOff"}}, term)])
    assert infra.pod_infra_failure(looping) is not None
    # an init container counts as well
    init = pod(phase="Pending", initContainerStatuses=[container(term)])
    assert infra.pod_infra_failure(init) is not None


@pytest.mark.parametrize(
    "state",
    [
        {"terminated": {"reason": "Error", "exitCode": 1}},
        {"terminated": {"reason": "OOMKilled", "exitCode": 137}},
        {"terminated": {"reason": "Completed", "exitCode": 0}},
        {"waiting": {"reason": "CrashLoopBackOff"}},
        {"waiting": {"reason": "ContainerCreating"}},
        {"running": {}},
    ],
)
def test_the_codes_own_failures_and_normal_states_are_not(state: dict[str, Any]) -> None:
    assert infra.pod_infra_failure(pod(phase="Failed", containerStatuses=[container(state)])) is None


def test_a_succeeded_pod_is_never_an_infrastructure_failure() -> None:
    done = pod(phase="Succeeded", conditions=[{"type": "DisruptionTarget", "status": "True", "reason": "x"}])
    assert infra.pod_infra_failure(done) is None


def test_the_first_failed_pod_by_name_is_reported() -> None:
    ok = pod("a", containerStatuses=[container({"running": {}})])
    b = pod("b", phase="Failed", reason="Evicted")
    c = pod("c", phase="Failed", reason="OutOfcpu")
    assert infra.infra_failure([c, ok, b]) == infra.InfraFailure("b", "Evicted", "")
    assert infra.infra_failure([ok]) is None
    assert infra.infra_failure([]) is None
    assert str(infra.InfraFailure("b", "Evicted", "low memory")) == "Pod b: Evicted (low memory)"


# ---------------------------------------------------------------- the trial's decision


def _trial(limit: int | None, retries: int | None = None, state: str = "running") -> Any:
    t = trial("t", state)
    assert t.spec is not None and t.status is not None
    t.spec.infra_retry_limit = limit
    t.status.infra_retries = retries
    return t


FAILURE = infra.InfraFailure("t-abc", "EvictionByEvictionAPI", "Eviction API: evicting")


def test_a_retry_is_counted_and_the_trial_is_pending_again() -> None:
    t = _trial(3)
    decision = infra.decide(t, FAILURE, T1)
    assert decision.retry and decision.status.infra_retries == 1
    running = get_condition(decision.status.conditions, "Running")
    assert running is not None and running.status == "False" and running.reason == "TrialInfrastructureRetry"
    assert decision.message == (
        "Trial is retried after an infrastructure failure (1 of 3): "
        "Pod t-abc: EvictionByEvictionAPI (Eviction API: evicting)"
    )
    t.status = decision.status
    assert infra.is_retry_pending(t) and ts.is_active(t) and not ts.is_running(t) and not ts.is_failed(t)
    # a second failure before the new job runs: the count and the message move on
    second = infra.decide(t, FAILURE, T2)
    assert second.retry and second.status.infra_retries == 2
    running = get_condition(second.status.conditions, "Running")
    assert running is not None and running.message is not None and "(2 of 3)" in running.message


def test_a_running_job_ends_the_pending_retry() -> None:
    t = _trial(3)
    t.status = infra.decide(t, FAILURE, T1).status
    moved = ts.next_trial_status(
        t,
        ts.JobOutcome(ts.JOB_RUNNING),
        now=T2,
        job_finished_at=None,
        current_time=datetime(2026, 1, 1, tzinfo=UTC),
        grace_seconds=1,
        push_collector=False,
    )
    t.status = moved.status
    assert ts.is_running(t) and not infra.is_retry_pending(t) and t.status.infra_retries == 1


@pytest.mark.parametrize(("limit", "retries"), [(None, None), (0, None), (2, 2)])
def test_without_retries_left_the_trial_fails_with_its_reason(limit: int | None, retries: int | None) -> None:
    t = _trial(limit, retries)
    decision = infra.decide(t, FAILURE, T1)
    assert not decision.retry
    t.status = decision.status
    assert ts.is_failed(t) and infra.is_infra_failed(t) and t.status.completion_time == T1
    failed = get_condition(t.status.conditions, "Failed")
    assert failed is not None and failed.reason == "TrialInfrastructureFailed"
    times = (retries or 0) + 1
    assert failed.message == (
        f"Trial has failed because its infrastructure failed {times} times: "
        "Pod t-abc: EvictionByEvictionAPI (Eviction API: evicting)"
    )
    running = get_condition(t.status.conditions, "Running")
    assert running is not None and running.status == "False"


def test_retried_trials_are_not_failed_trials_for_the_experiment() -> None:
    exp = experiment(maxFailedTrialCount=0, maxTrialCount=3, infraRetryLimit=2)
    t = _trial(2)
    t.status = infra.decide(t, FAILURE, T1).status
    summary = es.summarize_trials(exp, [t])
    assert summary.status.trials_failed in (None, 0) and summary.status.trials_pending == 1


def test_the_limit_is_copied_to_the_trial() -> None:
    from katib_py.api.models import TrialAssignment

    exp = experiment(
        infraRetryLimit=4,
        trialTemplate={
            "primaryContainerName": "main",
            "trialParameters": [],
            "trialSpec": {"apiVersion": "batch/v1", "kind": "Job", "spec": {}},
        },
    )
    assignment = TrialAssignment(name="exp-a", parameter_assignments=[])
    body = build_trial(exp, assignment, "{}")
    assert body["spec"]["infraRetryLimit"] == 4
    assert "infraRetryLimit" not in build_trial(experiment(), assignment, "{}")["spec"]
