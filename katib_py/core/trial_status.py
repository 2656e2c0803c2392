"""Trial conditions: what state a Trial is in, and how a job's state moves it.

The predicates and marks are Katib's `pkg/apis/controller/trials/v1beta1/util.go`, the reasons
`pkg/controller.v1beta1/trial/trial_controller_status.go`. `next_trial_status` is Katib's
`UpdateTrialStatusCondition` (`pkg/controller.v1beta1/trial/trial_controller_util.go`) with one fix
(README "Differences from Katib"): a job that succeeded but whose objective metric never arrives
waits at most a grace period, then the trial ends as MetricsUnavailable instead of being requeued
forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from katib_py.api.models import Condition, Trial, TrialStatus
from katib_py.core.conditions import FALSE, TRUE, get_condition, has_condition, set_condition
from katib_py.kube.rfc3339 import parse_time

CREATED = "Created"
RUNNING = "Running"
SUCCEEDED = "Succeeded"
KILLED = "Killed"
FAILED = "Failed"
METRICS_UNAVAILABLE = "MetricsUnavailable"
EARLY_STOPPED = "EarlyStopped"

REASON_CREATED = "TrialCreated"
REASON_RUNNING = "TrialRunning"
REASON_SUCCEEDED = "TrialSucceeded"
REASON_FAILED = "TrialFailed"
REASON_METRICS_UNAVAILABLE = "MetricsUnavailable"
REASON_KILLED = "ExperimentCompleted"
REASON_EARLY_STOPPED = "TrialEarlyStopped"
REASON_TIMED_OUT = "TrialTimedOut"
REASON_KIND_NOT_SERVED = "TrialJobKindNotServed"
REASON_JOB_REJECTED = "TrialJobRejected"

MSG_CREATED = "Trial is created"
MSG_RUNNING = "Trial is running"
MSG_SUCCEEDED = "Trial has succeeded"
MSG_FAILED = "Trial has failed"
MSG_METRICS_UNAVAILABLE = "Metrics are not available"
MSG_KILLED = "Trial is killed because its experiment has completed"
MSG_TIMED_OUT = "Trial has failed because it ran longer than its timeout of {seconds} seconds"

# Job states, as evaluated from the job object by the success/failure expressions.
JOB_RUNNING = "Running"
JOB_SUCCEEDED = "Succeeded"
JOB_FAILED = "Failed"


def _conds(trial: Trial) -> list[Condition] | None:
    return trial.status.conditions if trial.status else None


def is_created(trial: Trial) -> bool:
    return has_condition(_conds(trial), CREATED)


def is_running(trial: Trial) -> bool:
    return has_condition(_conds(trial), RUNNING)


def is_succeeded(trial: Trial) -> bool:
    return has_condition(_conds(trial), SUCCEEDED)


def is_failed(trial: Trial) -> bool:
    return has_condition(_conds(trial), FAILED)


def is_killed(trial: Trial) -> bool:
    return has_condition(_conds(trial), KILLED)


def is_early_stopped(trial: Trial) -> bool:
    return has_condition(_conds(trial), EARLY_STOPPED)


def is_metrics_unavailable(trial: Trial) -> bool:
    return has_condition(_conds(trial), METRICS_UNAVAILABLE)


def is_completed(trial: Trial) -> bool:
    return (
        is_succeeded(trial)
        or is_failed(trial)
        or is_killed(trial)
        or is_early_stopped(trial)
        or is_metrics_unavailable(trial)
    )


def is_active(trial: Trial) -> bool:
    """Pending or running: counts against parallelTrialCount."""
    return not is_completed(trial)


def is_observation_available(trial: Trial) -> bool:
    """The objective metric is present and its latest value is not the `unavailable` sentinel."""
    objective = trial.spec.objective if trial.spec else None
    name = objective.objective_metric_name if objective else None
    observation = trial.status.observation if trial.status else None
    if not name or observation is None:
        return False
    for metric in observation.metrics or []:
        if metric.name == name:
            return metric.latest not in (None, "unavailable")
    return False


def _status(trial: Trial) -> TrialStatus:
    return trial.status.model_copy(deep=True) if trial.status else TrialStatus()


def _mark_terminal(status: TrialStatus, cond_type: str, reason: str, message: str, now: str) -> None:
    """Running=False (keeping its reason and message), then the terminal condition True."""
    running = get_condition(status.conditions, RUNNING)
    conds = status.conditions
    if running is not None:
        conds = set_condition(conds, RUNNING, FALSE, running.reason or "", running.message or "", now)
    status.conditions = set_condition(conds, cond_type, TRUE, reason, message, now)
    status.completion_time = now


def mark_created(trial: Trial, now: str) -> TrialStatus:
    """The status of a trial seen for the first time: startTime and Created."""
    status = _status(trial)
    status.start_time = now
    status.conditions = set_condition(status.conditions, CREATED, TRUE, REASON_CREATED, MSG_CREATED, now)
    return status


def mark_killed(trial: Trial, now: str) -> TrialStatus:
    """Killed because the experiment ended (in Katib `MarkTrialStatusKilled` has no caller)."""
    status = _status(trial)
    _mark_terminal(status, KILLED, REASON_KILLED, MSG_KILLED, now)
    return status


def timeout_deadline(trial: Trial) -> datetime | None:
    """When the trial's spec.timeoutSeconds (katib-py) runs out, counted from status.startTime, so
    that time spent Pending (image pulls, scheduling) counts too, as Job's activeDeadlineSeconds."""
    seconds = trial.spec.timeout_seconds if trial.spec else None
    started = parse_time(trial.status.start_time if trial.status else None)
    if seconds is None or started is None:
        return None
    return started + timedelta(seconds=seconds)


def is_timed_out(trial: Trial) -> bool:
    cond = get_condition(_conds(trial), FAILED)
    return cond is not None and cond.status == TRUE and cond.reason == REASON_TIMED_OUT


def mark_timed_out(trial: Trial, now: str) -> TrialStatus:
    """Failed with reason TrialTimedOut: the job is then deleted whatever the kind (and retainRun)."""
    status = _status(trial)
    seconds = trial.spec.timeout_seconds if trial.spec else None
    _mark_terminal(status, FAILED, REASON_TIMED_OUT, MSG_TIMED_OUT.format(seconds=seconds), now)
    return status


# API group of a job kind -> what provides it (the hint in an unserved kind's message).
JOB_KIND_PROVIDERS = {
    "kubeflow.org": "the Kubeflow Training Operator (github.com/kubeflow/training-operator)",
    "trainer.kubeflow.org": "Kubeflow Trainer (github.com/kubeflow/trainer)",
    "jobset.x-k8s.io": "JobSet (github.com/kubernetes-sigs/jobset)",
    "argoproj.io": "Argo Workflows (github.com/argoproj/argo-workflows)",
    "tekton.dev": "Tekton Pipelines (github.com/tektoncd/pipeline)",
}


def kind_not_served_message(api_version: str, kind: str) -> str:
    """Why a trial whose job kind the cluster does not serve cannot run, and what to install."""
    group = api_version.rpartition("/")[0]
    provider = JOB_KIND_PROVIDERS.get(group, f"the controller and CustomResourceDefinition of {kind}")
    return (
        f"Trial has failed: the cluster serves no {kind} in {api_version or 'v1'} "
        f"(no such CustomResourceDefinition); install {provider}, "
        f"or use a trialResources kind the cluster serves"
    )


def job_rejected_message(kind: str, detail: str) -> str:
    """Why a trial whose rendered job the API server rejected cannot run."""
    return f"Trial has failed: the API server rejected its {kind}: {detail}"


def mark_job_not_created(trial: Trial, reason: str, message: str, now: str) -> TrialStatus:
    """Failed because its job cannot be created at all (a katib-py fix: Katib retries for ever,
    `pkg/controller.v1beta1/trial/trial_controller.go` reconcileJob returns the error). Counts as
    a failed trial against maxFailedTrialCount like any other."""
    status = _status(trial)
    _mark_terminal(status, FAILED, reason, message, now)
    return status


@dataclass(frozen=True)
class JobOutcome:
    """A job's state from the GJSON expressions, with the matched condition's reason/message."""

    state: str  # JOB_RUNNING | JOB_SUCCEEDED | JOB_FAILED
    reason: str = ""
    message: str = ""


@dataclass(frozen=True)
class TrialTransition:
    """What the trial controller must write: the new status and the event to emit (if any)."""

    status: TrialStatus
    event_reason: str | None = None
    event_message: str = ""
    warning: bool = False
    # True while a succeeded job's metrics are awaited (requeue soon; no status change yet).
    waiting_for_metrics: bool = False


def _with_job(base: str, label: str, value: str) -> str:
    return f"{base}. Job {label}: {value}" if value else base


def next_trial_status(
    trial: Trial,
    job: JobOutcome,
    *,
    now: str,
    job_finished_at: datetime | None,
    current_time: datetime,
    grace_seconds: float,
    push_collector: bool,
) -> TrialTransition:
    """UpdateTrialStatusCondition: the trial's next status for a job state.

    `job_finished_at` is when the job was first seen finished (None if unknown: the grace period
    then starts now). A Push trial has nothing to wait for: its metrics were pushed during the run.
    """
    status = _status(trial)
    early_stopped = is_early_stopped(trial)
    if job.state == JOB_SUCCEEDED:
        if is_observation_available(trial):
            if not is_succeeded(trial) and not early_stopped:
                _mark_terminal(
                    status,
                    SUCCEEDED,
                    _with_job(REASON_SUCCEEDED, "reason", job.reason),
                    _with_job(MSG_SUCCEEDED, "message", job.message),
                    now,
                )
                return TrialTransition(status, "JobSucceeded", "Job has succeeded")
            return TrialTransition(status)
        if is_metrics_unavailable(trial) or early_stopped:
            return TrialTransition(status)
        waited = 0.0 if job_finished_at is None else (current_time - job_finished_at).total_seconds()
        if not push_collector and waited < grace_seconds:
            return TrialTransition(status, waiting_for_metrics=True)
        _mark_terminal(status, METRICS_UNAVAILABLE, REASON_METRICS_UNAVAILABLE, MSG_METRICS_UNAVAILABLE, now)
        return TrialTransition(status, "MetricsUnavailable", "Metrics are not available", warning=True)
    if job.state == JOB_FAILED:
        if not is_failed(trial) and not early_stopped:
            _mark_terminal(
                status,
                FAILED,
                _with_job(REASON_FAILED, "reason", job.reason),
                _with_job(MSG_FAILED, "message", job.message),
                now,
            )
            return TrialTransition(status, "JobFailed", "Job has failed", warning=True)
        return TrialTransition(status)
    if job.state == JOB_RUNNING and not is_running(trial) and not early_stopped and not is_completed(trial):
        status.conditions = set_condition(status.conditions, RUNNING, TRUE, REASON_RUNNING, MSG_RUNNING, now)
        return TrialTransition(status, "JobRunning", "Job is running")
    return TrialTransition(status)
