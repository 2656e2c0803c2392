"""Job status from GJSON conditions: Katib's order (failure first), defaults per kind, reasons."""

from __future__ import annotations

from typing import Any

import pytest

from katib_py.core.job_status import (
    ARGO_WORKFLOW_CONDITIONS,
    DEFAULT_CONDITIONS,
    TEKTON_PIPELINERUN_CONDITIONS,
    JobCondition,
    evaluate_job_status,
)

JOB = DEFAULT_CONDITIONS["Job"]
TFJOB = DEFAULT_CONDITIONS["TFJob"]


def job(
    conditions: list[dict[str, Any]] | None = None, name: str = "trial-1", **status: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}}
    if conditions is not None:
        status["conditions"] = conditions
    if status:
        body["status"] = status
    return body


def test_defaults_cover_katib_kinds_only() -> None:
    assert set(DEFAULT_CONDITIONS) == {"Job", "TFJob", "PyTorchJob", "XGBoostJob", "MPIJob", "TrainJob"}
    assert JOB == (
        'status.conditions.#(type=="Complete")#|#(status=="True")#',
        'status.conditions.#(type=="Failed")#|#(status=="True")#',
    )
    for kind in ("TFJob", "PyTorchJob", "XGBoostJob", "MPIJob"):
        assert DEFAULT_CONDITIONS[kind] == (
            'status.conditions.#(type=="Succeeded")#|#(status=="True")#',
            'status.conditions.#(type=="Failed")#|#(status=="True")#',
        )
    assert DEFAULT_CONDITIONS["TrainJob"] == JOB


def test_completed_job_succeeds_with_condition_reason_and_message() -> None:
    body = job([{"type": "Complete", "status": "True", "reason": "CompletionsReached", "message": "done"}])
    assert evaluate_job_status(body, *JOB, trial_running=True) == JobCondition(
        "Succeeded", "CompletionsReached", "done"
    )


def test_failed_job_fails() -> None:
    body = job([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "m"}])
    assert evaluate_job_status(body, *JOB, trial_running=True) == JobCondition(
        "Failed", "BackoffLimitExceeded", "m"
    )


def test_failure_is_checked_before_success() -> None:
    body = job(
        [
            {"type": "Complete", "status": "True", "reason": "Ok"},
            {"type": "Failed", "status": "True", "reason": "Bad"},
        ]
    )
    assert evaluate_job_status(body, *JOB, trial_running=True) == JobCondition("Failed", "Bad", "")


def test_condition_with_status_false_does_not_count() -> None:
    body = job([{"type": "Complete", "status": "False"}, {"type": "Failed", "status": "False"}])
    assert evaluate_job_status(body, *JOB, trial_running=True) is None
    assert evaluate_job_status(body, *JOB, trial_running=False) == JobCondition("Running")


def test_running_only_when_trial_not_yet_running_and_job_has_a_name() -> None:
    body = job(active=1)
    assert evaluate_job_status(body, *JOB, trial_running=False) == JobCondition("Running")
    assert evaluate_job_status(body, *JOB, trial_running=True) is None
    assert evaluate_job_status(job(name=""), *JOB, trial_running=False) is None


def test_kubeflow_job_succeeded() -> None:
    body = {
        "kind": "TFJob",
        "metadata": {"name": "t"},
        "status": {"conditions": [{"type": "Succeeded", "status": "True", "reason": "TFJobSucceeded"}]},
    }
    assert evaluate_job_status(body, *TFJOB, trial_running=True) == JobCondition(
        "Succeeded", "TFJobSucceeded", ""
    )


@pytest.mark.parametrize(
    ("phase", "expected"),
    [("Succeeded", "Succeeded"), ("Failed", "Failed"), ("Running", None)],
)
def test_argo_workflow_expressions(phase: str, expected: str | None) -> None:
    body = {"kind": "Workflow", "metadata": {"name": "w"}, "status": {"phase": phase, "message": "msg"}}
    got = evaluate_job_status(body, *ARGO_WORKFLOW_CONDITIONS, trial_running=True)
    if expected is None:
        assert got is None
    else:
        assert got == JobCondition(expected, "", "msg")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "expected"), [("True", "Succeeded"), ("False", "Failed"), ("Unknown", None)]
)
def test_tekton_pipelinerun_expressions(status: str, expected: str | None) -> None:
    body = {
        "kind": "PipelineRun",
        "metadata": {"name": "p"},
        "status": {"conditions": [{"type": "Succeeded", "status": status, "reason": "R"}]},
    }
    got = evaluate_job_status(body, *TEKTON_PIPELINERUN_CONDITIONS, trial_running=True)
    assert got == (JobCondition(expected, "R", "") if expected else None)  # type: ignore[arg-type]


def test_object_result_counts_and_reason_matches_case_insensitively() -> None:
    body = {"metadata": {"name": "x"}, "status": {"done": {"Reason": "Finished", "MESSAGE": "ok"}}}
    assert evaluate_job_status(body, "status.done", "status.broken", trial_running=True) == JobCondition(
        "Succeeded", "Finished", "ok"
    )


def test_scalar_or_empty_results_do_not_count() -> None:
    body = {"metadata": {"name": "x"}, "status": {"phase": "Succeeded", "list": []}}
    assert evaluate_job_status(body, "status.phase", "status.list", trial_running=True) is None


def test_non_object_element_decides_state_without_reason() -> None:
    body = {"metadata": {"name": "x"}, "status": {"tags": ["done"]}}
    assert evaluate_job_status(body, "status.tags", "", trial_running=True) == JobCondition("Succeeded")


def test_wildcards_follow_go_sorted_key_order() -> None:
    body = {"metadata": {"name": "x"}, "status": {"zeta": [{"reason": "Z"}], "alpha": [{"reason": "A"}]}}
    assert evaluate_job_status(body, "status.*", "", trial_running=True) == JobCondition("Succeeded", "A")
