from datetime import UTC, datetime, timedelta

from katib_py.api.models import ExperimentStatus
from katib_py.core import experiment_status as es

from .core_factories import T1, T2, experiment, trial

GOAL_OBJECTIVE = {
    "type": "minimize",
    "goal": 0.5,
    "objectiveMetricName": "loss",
    "metricStrategies": [{"name": "loss", "value": "min"}],
}
NOW = datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)  # 29 s after T1


def _conditions(status: ExperimentStatus) -> list[tuple[str | None, str | None, str | None]]:
    return [(c.type, c.status, c.reason) for c in status.conditions or []]


def test_summary_classifies_in_katib_order() -> None:
    trials = [
        trial("p", "pending"),
        trial("r", "running"),
        trial("s", "succeeded", loss="0.3"),
        trial("f", "failed"),
        trial("k", "killed"),
        trial("e", "earlystopped", loss="0.9"),
        trial("m", "metricsunavailable"),
    ]
    s = es.summarize_trials(experiment(), trials).status
    assert (s.trials, s.trials_pending, s.trials_running, s.trials_succeeded) == (7, 1, 1, 1)
    assert (s.trials_failed, s.trials_killed, s.trials_early_stopped, s.trial_metrics_unavailable) == (
        1,
        1,
        1,
        1,
    )
    assert s.pending_trial_list == ["p"] and s.metrics_unavailable_trial_list == ["m"]
    assert s.current_optimal_trial is not None and s.current_optimal_trial.best_trial_name == "s"


def test_best_trial_minimize_ties_keep_first_and_nan_inf_never_best() -> None:
    trials = [
        trial("a", "succeeded", loss="nan"),
        trial("b", "succeeded", loss="0.5"),
        trial("c", "succeeded", loss="0.2"),
        trial("d", "succeeded", loss="0.2"),
        trial("e", "succeeded", loss="-inf"),
    ]
    summary = es.summarize_trials(experiment(), trials)
    best = summary.status.current_optimal_trial
    assert best is not None and best.best_trial_name == "c"
    assert best.observation is not None and best.observation.metrics is not None
    assert best.observation.metrics[0].min == "0.2"
    assert best.parameter_assignments is not None and best.parameter_assignments[0].name == "lr"
    assert not summary.goal_reached


def test_best_trial_maximize_and_goal() -> None:
    exp = experiment(
        objective={
            "type": "maximize",
            "goal": 0.9,
            "objectiveMetricName": "loss",
            "metricStrategies": [{"name": "loss", "value": "max"}],
        }
    )
    summary = es.summarize_trials(
        exp, [trial("a", "succeeded", loss="0.5"), trial("b", "succeeded", loss="0.95")]
    )
    assert summary.goal_reached
    assert summary.status.current_optimal_trial is not None
    assert summary.status.current_optimal_trial.best_trial_name == "b"


def test_string_metric_latest_wins() -> None:
    summary = es.summarize_trials(
        experiment(), [trial("a", "succeeded", loss="0.1"), trial("b", "succeeded", loss="high")]
    )
    assert summary.status.current_optimal_trial is not None
    assert summary.status.current_optimal_trial.best_trial_name == "b"


def _condition_after(exp, trials, *, end=False):  # type: ignore[no-untyped-def]
    exp.status = es.mark_created(exp, T1)
    summary = es.summarize_trials(exp, trials)
    return es.next_condition(
        exp, summary.status, goal_reached=summary.goal_reached, suggestion_end_reached=end, now=T2
    )


def test_running_then_max_trials_reached() -> None:
    running = _condition_after(experiment(maxTrialCount=3), [trial("a", "running")])
    assert _conditions(running)[-1] == ("Running", "True", "ExperimentRunning")
    done = _condition_after(
        experiment(maxTrialCount=2), [trial("a", "succeeded", loss="1"), trial("b", "metricsunavailable")]
    )
    assert _conditions(done)[-2:] == [
        ("Running", "False", "ExperimentRunning"),
        ("Succeeded", "True", "ExperimentMaxTrialsReached"),
    ] or _conditions(done)[-1] == ("Succeeded", "True", "ExperimentMaxTrialsReached")
    assert done.completion_time == T2


def test_max_failed_counts_metrics_unavailable() -> None:
    out = _condition_after(
        experiment(maxFailedTrialCount=2),
        [trial("a", "failed"), trial("b", "metricsunavailable"), trial("c")],
    )
    assert _conditions(out)[-1] == ("Failed", "True", "ExperimentFailed")


def test_max_failed_zero_fails_on_first_failure() -> None:
    out = _condition_after(experiment(maxFailedTrialCount=0), [trial("a", "failed")])
    assert _conditions(out)[-1][0] == "Failed"


def test_suggestion_end_reached_completes_only_when_no_active_trials() -> None:
    """Section 0, item 1: an exhausted algorithm completes the experiment once active trials end."""
    still = _condition_after(
        experiment(), [trial("a", "succeeded", loss="1"), trial("b", "running")], end=True
    )
    assert _conditions(still)[-1][0] == "Running"
    done = _condition_after(experiment(), [trial("a", "succeeded", loss="1"), trial("b", "failed")], end=True)
    assert _conditions(done)[-1] == ("Succeeded", "True", "ExperimentSuggestionEndReached")


def test_goal_wins_over_max_failed() -> None:
    exp = experiment(
        maxFailedTrialCount=1,
        objective=GOAL_OBJECTIVE,
    )
    out = _condition_after(exp, [trial("a", "failed"), trial("b", "succeeded", loss="0.1")])
    assert _conditions(out)[-1] == ("Succeeded", "True", "ExperimentGoalReached")


def _completed(exp, reason="ExperimentMaxTrialsReached", trials=3):  # type: ignore[no-untyped-def]
    exp.status = es.mark_created(exp, T1)
    exp.status.trials = trials
    exp.status.conditions = (exp.status.conditions or []) + []
    from katib_py.core.conditions import set_condition

    exp.status.conditions = set_condition(exp.status.conditions, "Succeeded", "True", reason, "m", T1)
    return exp


def test_restart_only_when_restartable_and_max_raised() -> None:
    """Section 0, item 4: no restart oscillation when maxTrialCount is unset."""
    assert not es.should_restart(_completed(experiment(resumePolicy="LongRunning")), NOW)
    assert not es.should_restart(_completed(experiment(maxTrialCount=5)), NOW)  # Never
    assert not es.should_restart(_completed(experiment(maxTrialCount=3, resumePolicy="LongRunning")), NOW)
    assert es.should_restart(_completed(experiment(maxTrialCount=5, resumePolicy="LongRunning")), NOW)
    assert es.should_restart(_completed(experiment(maxTrialCount=5, resumePolicy="FromVolume")), NOW)
    assert not es.should_restart(
        _completed(experiment(maxTrialCount=5, resumePolicy="LongRunning"), reason="ExperimentGoalReached"),
        NOW,
    )


def test_mark_restarting_removes_terminal_conditions() -> None:
    exp = _completed(experiment(maxTrialCount=5, resumePolicy="LongRunning"))
    status = es.mark_restarting(exp, T2)
    assert [c.type for c in status.conditions or []] == ["Created", "Restarting"]
    exp.status = status
    assert not es.is_completed(exp) and es.is_restarting(exp)


def test_mark_failed_sets_running_false() -> None:
    exp = experiment()
    exp.status = es.mark_created(exp, T1)
    exp.status = es.next_condition(exp, exp.status, goal_reached=False, suggestion_end_reached=False, now=T1)
    status = es.mark_failed(exp, "ExperimentFailed", "Suggestion has failed", T2)
    assert _conditions(status) == [
        ("Created", "True", "ExperimentCreated"),
        ("Running", "False", "ExperimentRunning"),
        ("Failed", "True", "ExperimentFailed"),
    ]


# ---------------------------------------------------------------- katib-py's time budget


def _started(exp, at=T1):  # type: ignore[no-untyped-def]
    exp.status = es.mark_created(exp, at)
    return exp


def test_duration_deadline_counts_from_start_time() -> None:
    assert es.duration_deadline(_started(experiment())) is None
    assert es.duration_deadline(experiment(maxDurationSeconds=10)) is None  # not started yet
    deadline = es.duration_deadline(_started(experiment(maxDurationSeconds=10)))
    assert deadline == datetime(2026, 1, 1, 0, 0, 11, tzinfo=UTC)


def test_a_spent_duration_succeeds_with_its_own_reason_and_message() -> None:
    exp = _started(experiment(maxDurationSeconds=10, maxTrialCount=9))
    status = es.summarize_trials(exp, [trial("a", "running"), trial("b", "succeeded", loss="0.4")]).status
    out = es.next_condition(
        exp, status, goal_reached=False, suggestion_end_reached=False, now=T2, duration_spent=True
    )
    assert _conditions(out)[-1] == ("Succeeded", "True", "ExperimentMaxDurationReached")
    assert (out.conditions or [])[-1].message == (
        "Experiment has succeeded because its max duration of 10 seconds has passed"
    )


def test_goal_and_failures_win_over_a_spent_duration() -> None:
    exp = _started(
        experiment(
            maxDurationSeconds=10,
            maxFailedTrialCount=1,
            objective=GOAL_OBJECTIVE,
        )
    )
    for trials, reason in (
        ([trial("a", "succeeded", loss="0.1")], "ExperimentGoalReached"),
        ([trial("a", "failed"), trial("b", "succeeded", loss="0.9")], "ExperimentFailed"),
    ):
        status = es.summarize_trials(exp, trials).status
        out = es.next_condition(
            exp,
            status,
            goal_reached=reason == "ExperimentGoalReached",
            suggestion_end_reached=False,
            now=T2,
            duration_spent=True,
        )
        assert _conditions(out)[-1][2] == reason


def test_restart_after_the_duration_only_when_it_was_raised_past_now() -> None:
    reason = "ExperimentMaxDurationReached"
    short = _completed(experiment(maxDurationSeconds=10, resumePolicy="LongRunning"), reason=reason)
    assert not es.should_restart(short, NOW)  # T1 + 10 s is before NOW
    raised = _completed(experiment(maxDurationSeconds=60, resumePolicy="LongRunning"), reason=reason)
    assert es.should_restart(raised, NOW)
    assert not es.should_restart(raised, NOW + timedelta(minutes=5))
    never = _completed(experiment(maxDurationSeconds=60), reason=reason)
    assert not es.should_restart(never, NOW)  # resumePolicy Never: the suggestion is gone


def test_status_writes_of_counts_alone_are_spaced_but_condition_changes_go_at_once() -> None:
    def cond(type_: str, reason: str) -> dict[str, str]:
        return {"type": type_, "status": "True", "reason": reason}

    created, running = cond("Created", "ExperimentCreated"), cond("Running", "ExperimentRunning")
    before = {"conditions": [created, running], "trials": 4, "trialsSucceeded": 1}
    more = {**before, "trials": 5, "trialsSucceeded": 2}
    assert es.status_write_wait(before, more, since_last_write=0.1, interval=0.5) == 0.4
    assert es.status_write_wait(before, more, since_last_write=0.7, interval=0.5) == 0.0
    assert es.status_write_wait(before, more, since_last_write=float("inf"), interval=0.5) == 0.0
    done = {**more, "conditions": [created, running, cond("Succeeded", "ExperimentMaxTrialsReached")]}
    assert es.status_write_wait(before, done, since_last_write=0.0, interval=0.5) == 0.0
    assert es.status_write_wait(None, before, since_last_write=0.0, interval=0.5) == 0.0
