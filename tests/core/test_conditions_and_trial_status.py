from datetime import UTC, datetime, timedelta

from katib_py.api.models import Condition, Trial
from katib_py.core import trial_status as ts
from katib_py.core.conditions import get_condition, set_condition

from .core_factories import T0, T1, T2, trial


def test_set_condition_appends_and_moves_changed_condition_last() -> None:
    conds = set_condition(None, "Created", "True", "A", "m", T0)
    conds = set_condition(conds, "Running", "True", "B", "m", T0)
    conds = set_condition(conds, "Created", "False", "C", "m", T1)
    assert [c.type for c in conds] == ["Running", "Created"]
    assert conds[-1].last_transition_time == T1


def test_set_condition_same_status_and_reason_is_a_no_op() -> None:
    conds = set_condition(None, "Running", "True", "A", "m", T0)
    again = set_condition(conds, "Running", "True", "A", "other message", T2)
    assert again == conds
    assert again[0].last_update_time == T0


def test_set_condition_reason_change_keeps_transition_time() -> None:
    conds = [Condition(type="Running", status="True", reason="A", last_transition_time=T0)]
    out = set_condition(conds, "Running", "True", "B", "m", T2)
    assert out[0].reason == "B"
    assert out[0].last_transition_time == T0
    assert out[0].last_update_time == T2


def test_trial_predicates() -> None:
    assert ts.is_active(trial("a", "pending"))
    assert ts.is_active(trial("a", "running"))
    for state in ("succeeded", "failed", "killed", "earlystopped", "metricsunavailable"):
        assert ts.is_completed(trial("a", state)), state
    assert ts.is_observation_available(trial("a", "succeeded", loss="0.1"))
    assert not ts.is_observation_available(trial("a", "succeeded", loss="unavailable"))
    assert not ts.is_observation_available(trial("a", "succeeded"))


NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _next(t, state, *, finished=None, grace=60.0, push=False, reason="", message=""):  # type: ignore[no-untyped-def]
    return ts.next_trial_status(
        t,
        ts.JobOutcome(state, reason, message),
        now=T2,
        job_finished_at=finished,
        current_time=NOW,
        grace_seconds=grace,
        push_collector=push,
    )


def test_running_job_marks_running_once() -> None:
    out = _next(trial("a", "pending"), ts.JOB_RUNNING)
    assert out.event_reason == "JobRunning"
    assert out.status.conditions is not None and out.status.conditions[-1].type == "Running"
    again = _next(trial("a", "running"), ts.JOB_RUNNING)
    assert again.event_reason is None


def test_succeeded_job_with_metrics_succeeds_with_job_reason() -> None:
    t = trial("a", "running", loss="0.2")
    out = _next(t, ts.JOB_SUCCEEDED, reason="Completed", message="done")
    conds = out.status.conditions or []
    assert [c.type for c in conds][-2:] == ["Running", "Succeeded"]
    running = get_condition(conds, "Running")
    assert running is not None and running.status == "False"
    assert conds[-1].reason == "TrialSucceeded. Job reason: Completed"
    assert conds[-1].message == "Trial has succeeded. Job message: done"
    assert out.status.completion_time == T2


def test_succeeded_job_without_metrics_waits_then_metrics_unavailable() -> None:
    t = trial("a", "running")
    waiting = _next(t, ts.JOB_SUCCEEDED, finished=NOW - timedelta(seconds=5), grace=10)
    assert waiting.waiting_for_metrics
    assert waiting.event_reason is None
    late = _next(t, ts.JOB_SUCCEEDED, finished=NOW - timedelta(seconds=11), grace=10)
    assert not late.waiting_for_metrics
    assert late.warning and late.event_reason == "MetricsUnavailable"
    assert (late.status.conditions or [])[-1].type == "MetricsUnavailable"


def test_push_trial_without_metrics_is_unavailable_at_once() -> None:
    out = _next(trial("a", "running"), ts.JOB_SUCCEEDED, finished=NOW, grace=60, push=True)
    assert (out.status.conditions or [])[-1].type == "MetricsUnavailable"


def test_failed_job_fails_trial_unless_early_stopped() -> None:
    out = _next(trial("a", "running"), ts.JOB_FAILED, reason="BackoffLimitExceeded")
    assert (out.status.conditions or [])[-1].reason == "TrialFailed. Job reason: BackoffLimitExceeded"
    assert out.event_reason == "JobFailed"
    stopped = _next(trial("a", "earlystopped"), ts.JOB_FAILED)
    assert stopped.event_reason is None
    assert (stopped.status.conditions or [])[-1].type == "EarlyStopped"


def test_killed_keeps_running_reason() -> None:
    status = ts.mark_killed(trial("a", "running"), T2)
    conds = status.conditions or []
    assert conds[-1].type == "Killed" and conds[-1].reason == "ExperimentCompleted"
    running = get_condition(conds, "Running")
    assert running is not None and running.status == "False" and running.reason == "r"


# ---------------------------------------------------------------- katib-py's trial timeout


def _timed(seconds: int | None) -> Trial:
    t = trial("t", "running")
    assert t.spec is not None and t.status is not None
    t.spec.timeout_seconds = seconds
    t.status.start_time = T0
    return t


def test_timeout_deadline_counts_from_the_trial_start() -> None:
    assert ts.timeout_deadline(_timed(None)) is None
    assert ts.timeout_deadline(_timed(30)) == datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)


def test_a_timed_out_trial_is_failed_with_its_reason() -> None:
    t = _timed(30)
    t.status = ts.mark_timed_out(t, T2)
    failed = get_condition(t.status.conditions, "Failed")
    assert failed is not None and failed.reason == "TrialTimedOut"
    assert failed.message == "Trial has failed because it ran longer than its timeout of 30 seconds"
    running = get_condition(t.status.conditions, "Running")
    assert running is not None and running.status == "False"
    assert ts.is_failed(t) and ts.is_completed(t) and ts.is_timed_out(t)
    assert t.status.completion_time == T2
    assert not ts.is_timed_out(trial("f", "failed"))  # the job's own failure is not a timeout


# ---------------------------------------------------------------- a job that cannot be created


def test_a_trial_whose_job_kind_is_not_served_fails_saying_what_to_install() -> None:
    t = trial("t", "pending")
    message = ts.kind_not_served_message("kubeflow.org/v1", "PyTorchJob")
    assert message == (
        "Trial has failed: the cluster serves no PyTorchJob in kubeflow.org/v1 (no such "
        "CustomResourceDefinition); install the Kubeflow Training Operator "
        "(github.com/kubeflow/training-operator), or use a trialResources kind the cluster serves"
    )
    t.status = ts.mark_job_not_created(t, ts.REASON_KIND_NOT_SERVED, message, T2)
    failed = get_condition(t.status.conditions, "Failed")
    assert failed is not None and failed.reason == "TrialJobKindNotServed" and failed.message == message
    assert ts.is_failed(t) and ts.is_completed(t) and not ts.is_timed_out(t)
    assert t.status.completion_time == T2


def test_an_unknown_group_names_the_kind_to_install() -> None:
    message = ts.kind_not_served_message("example.com/v2", "Widget")
    assert "serves no Widget in example.com/v2" in message
    assert "install the controller and CustomResourceDefinition of Widget" in message
    assert (
        ts.job_rejected_message("Job", "422: bad")
        == "Trial has failed: the API server rejected its Job: 422: bad"
    )
