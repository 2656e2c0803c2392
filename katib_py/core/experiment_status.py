"""Experiment status: trial summary, best trial, and the condition an experiment is in.

Katib's `updateTrialsSummary` and `UpdateExperimentStatusCondition`
(`pkg/controller.v1beta1/experiment/util/status_util.go`), the condition marks of
`pkg/apis/controller/experiments/v1beta1/util.go`, and the restart decision of `Reconcile` in
`pkg/controller.v1beta1/experiment/experiment_controller.go`, with two fixes (README "Differences
from Katib"): the suggestion-end branch is live (an exhausted algorithm completes the experiment
once its active trials end; Katib always passes false) and a completed experiment only restarts
when it is restartable and its `maxTrialCount` was raised above the trials it has (no restart
oscillation). The best trial is chosen by `katib_py.core.optimal_trial`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from katib_py.api.models import Condition, Experiment, ExperimentStatus, Trial
from katib_py.core import trial_status as ts
from katib_py.core.conditions import (
    FALSE,
    TRUE,
    get_condition,
    has_condition,
    remove_condition,
    set_condition,
)
from katib_py.core.optimal_trial import best_of, optimal_trial_status, reaches_goal
from katib_py.core.pareto import is_multi_objective, pareto_front
from katib_py.core.trial_facts import PENDING, SUMMARY_ORDER, TrialFacts, facts_of
from katib_py.kube.rfc3339 import parse_time

CREATED = "Created"
RUNNING = "Running"
RESTARTING = "Restarting"
SUCCEEDED = "Succeeded"
FAILED = "Failed"

REASON_CREATED = "ExperimentCreated"
REASON_RUNNING = "ExperimentRunning"
REASON_RESTARTING = "ExperimentRestarting"
REASON_GOAL_REACHED = "ExperimentGoalReached"
REASON_MAX_TRIALS_REACHED = "ExperimentMaxTrialsReached"
REASON_SUGGESTION_END_REACHED = "ExperimentSuggestionEndReached"
REASON_MAX_DURATION_REACHED = "ExperimentMaxDurationReached"
REASON_FAILED = "ExperimentFailed"

MSG_CREATED = "Experiment is created"
MSG_RUNNING = "Experiment is running"
MSG_RESTARTING = "Experiment is restarted"
MSG_GOAL_REACHED = "Experiment has succeeded because Objective goal has reached"
MSG_MAX_FAILED = "Experiment has failed because max failed count has reached"
MSG_MAX_TRIALS = "Experiment has succeeded because max trial count has reached"
MSG_SUGGESTION_END = "Experiment has succeeded because suggestion service has reached the end"
MSG_SUGGESTION_FAILED = "Suggestion has failed"
MSG_MAX_DURATION = "Experiment has succeeded because its max duration of {seconds} seconds has passed"

RESUME_NEVER = "Never"
RESUME_LONG_RUNNING = "LongRunning"
RESUME_FROM_VOLUME = "FromVolume"


# ---------------------------------------------------------------- condition predicates and marks


def _conds(exp: Experiment) -> list[Condition] | None:
    return exp.status.conditions if exp.status else None


def is_created(exp: Experiment) -> bool:
    return has_condition(_conds(exp), CREATED)


def is_succeeded(exp: Experiment) -> bool:
    return has_condition(_conds(exp), SUCCEEDED)


def is_failed(exp: Experiment) -> bool:
    return has_condition(_conds(exp), FAILED)


def is_restarting(exp: Experiment) -> bool:
    return has_condition(_conds(exp), RESTARTING)


def is_completed(exp: Experiment) -> bool:
    return is_succeeded(exp) or is_failed(exp)


def is_completed_with_reason(exp: Experiment, reason: str) -> bool:
    cond = get_condition(_conds(exp), SUCCEEDED)
    return cond is not None and cond.status == TRUE and cond.reason == reason


def resume_policy(exp: Experiment) -> str:
    return (exp.spec.resume_policy if exp.spec else None) or RESUME_NEVER


def is_restartable(exp: Experiment) -> bool:
    """Only an experiment that ran out of trials (or of time) and keeps its suggestion state may resume."""
    out_of_budget = is_completed_with_reason(exp, REASON_MAX_TRIALS_REACHED) or is_completed_with_reason(
        exp, REASON_MAX_DURATION_REACHED
    )
    return out_of_budget and resume_policy(exp) in (RESUME_LONG_RUNNING, RESUME_FROM_VOLUME)


def duration_deadline(exp: Experiment) -> datetime | None:
    """When the experiment's time budget (spec.maxDurationSeconds from status.startTime) runs out."""
    seconds = exp.spec.max_duration_seconds if exp.spec else None
    started = parse_time(exp.status.start_time if exp.status else None)
    if seconds is None or started is None:
        return None
    return started + timedelta(seconds=seconds)


def should_restart(exp: Experiment, current_time: datetime) -> bool:
    """A completed experiment restarts when it is restartable and the budget it ran out of was raised:
    maxTrialCount now exceeds its trials, or maxDurationSeconds now ends after `current_time`.

    Katib also restarts any completed experiment without maxTrialCount that has trials, which makes
    it flip between Restarting and Succeeded on every reconcile; we do not.
    """
    if not is_completed(exp) or not is_restartable(exp):
        return False
    if is_completed_with_reason(exp, REASON_MAX_DURATION_REACHED):
        deadline = duration_deadline(exp)
        return deadline is None or deadline > current_time
    max_trials = exp.spec.max_trial_count if exp.spec else None
    trials = (exp.status.trials if exp.status else None) or 0
    return max_trials is not None and max_trials > trials


def _status(exp: Experiment) -> ExperimentStatus:
    return exp.status.model_copy(deep=True) if exp.status else ExperimentStatus()


def mark_created(exp: Experiment, now: str) -> ExperimentStatus:
    status = _status(exp)
    status.start_time = now
    status.conditions = set_condition(status.conditions, CREATED, TRUE, REASON_CREATED, MSG_CREATED, now)
    return status


def _mark_running(status: ExperimentStatus, now: str) -> None:
    status.conditions = set_condition(status.conditions, RUNNING, TRUE, REASON_RUNNING, MSG_RUNNING, now)


def _mark_completed(status: ExperimentStatus, cond_type: str, reason: str, message: str, now: str) -> None:
    """Succeeded/Failed: Running becomes False with its old reason and message kept."""
    running = get_condition(status.conditions, RUNNING)
    conds = status.conditions
    if running is not None:
        conds = set_condition(conds, RUNNING, FALSE, running.reason or "", running.message or "", now)
    status.conditions = set_condition(conds, cond_type, TRUE, reason, message, now)
    status.completion_time = now


def mark_failed(exp: Experiment, reason: str, message: str, now: str) -> ExperimentStatus:
    status = _status(exp)
    _mark_completed(status, FAILED, reason, message, now)
    return status


def mark_restarting(exp: Experiment, now: str) -> ExperimentStatus:
    status = _status(exp)
    conds = remove_condition(remove_condition(status.conditions, SUCCEEDED), FAILED)
    status.conditions = set_condition(conds, RESTARTING, TRUE, REASON_RESTARTING, MSG_RESTARTING, now)
    status.completion_time = None
    return status


def _condition_states(status: Mapping[str, Any] | None) -> list[tuple[Any, Any, Any]]:
    return [(c.get("type"), c.get("status"), c.get("reason")) for c in (status or {}).get("conditions") or []]


def status_write_wait(
    old: Mapping[str, Any] | None, new: Mapping[str, Any], since_last_write: float, interval: float
) -> float:
    """Seconds to hold back a status write (0: write now). katib-py only: a change of the conditions
    (created, running, completed, restarting) is written at once; a change of counts, lists and the
    best trial alone at most every `interval` seconds, so an experiment's status writes per trial
    fall as its trial rate rises (Katib writes on every reconcile)."""
    if _condition_states(old) != _condition_states(new):
        return 0.0
    return max(0.0, interval - since_last_write)


# ---------------------------------------------------------------- trial summary


@dataclass(frozen=True)
class TrialsSummary:
    """The experiment status after counting its trials, and whether the objective goal is reached."""

    status: ExperimentStatus
    goal_reached: bool


def summarize_trials(
    exp: Experiment, trials: Sequence[Trial], facts: Sequence[TrialFacts] | None = None
) -> TrialsSummary:
    """updateTrialsSummary: counts, name lists, currentOptimalTrial and goalReached.

    A trial is classified by its facts' state (`katib_py.core.trial_facts`). The best trial and
    the goal are judged by `katib_py.core.optimal_trial` on the first objective (Katib's); a
    multi-objective experiment also gets paretoFront and paretoFrontSize from
    `katib_py.core.pareto`. `facts`, one per trial in the same order, are the operator's memoised
    ones; without them they are read here.
    """
    objective = exp.spec.objective if exp.spec else None
    if facts is None:
        facts = [facts_of(t, objective) for t in trials]
    # shallow: every field this sets is replaced whole, and the name lists are long
    status = exp.status.model_copy() if exp.status else ExperimentStatus()
    lists: dict[str, list[str]] = {state: [] for state in (*SUMMARY_ORDER, PENDING)}
    for fact in facts:
        lists[fact.state].append(fact.name)
    status.trials = len(facts)
    status.trials_killed, status.killed_trial_list = len(lists[ts.KILLED]), lists[ts.KILLED]
    status.trials_failed, status.failed_trial_list = len(lists[ts.FAILED]), lists[ts.FAILED]
    status.trials_succeeded, status.succeeded_trial_list = len(lists[ts.SUCCEEDED]), lists[ts.SUCCEEDED]
    early = lists[ts.EARLY_STOPPED]
    status.trials_early_stopped, status.early_stopped_trial_list = len(early), early
    status.trials_running, status.running_trial_list = len(lists[ts.RUNNING]), lists[ts.RUNNING]
    unavailable = lists[ts.METRICS_UNAVAILABLE]
    status.trial_metrics_unavailable, status.metrics_unavailable_trial_list = len(unavailable), unavailable
    status.trials_pending, status.pending_trial_list = len(lists[PENDING]), lists[PENDING]

    best = best_of(objective, ((i, f.score) for i, f in enumerate(facts)))
    if best is not None:  # (the operator's `trials` loads a trial's model only when asked)
        status.current_optimal_trial = optimal_trial_status(objective, trials[best])
    if is_multi_objective(objective):
        status.pareto_front = pareto_front(objective, trials)
        status.pareto_front_size = len(status.pareto_front)
    return TrialsSummary(status, reaches_goal(objective, (f.score for f in facts)))


# ---------------------------------------------------------------- the experiment's condition


def next_condition(
    exp: Experiment,
    status: ExperimentStatus,
    *,
    goal_reached: bool,
    suggestion_end_reached: bool,
    now: str,
    duration_spent: bool = False,
) -> ExperimentStatus:
    """UpdateExperimentStatusCondition on a counted status (first rule that applies wins).

    completed counts MetricsUnavailable trials, and so does failed, as in Katib. A spent time budget
    (katib-py's maxDurationSeconds) comes after Katib's own rules: a goal reached or a failure in the
    same pass is the truer reason.
    """
    out = status.model_copy()  # shallow: conditions are replaced, never changed in place
    spec = exp.spec
    succeeded = out.trials_succeeded or 0
    failed = (out.trials_failed or 0) + (out.trial_metrics_unavailable or 0)
    completed = succeeded + failed + (out.trials_killed or 0) + (out.trials_early_stopped or 0)
    active = (out.trials_pending or 0) + (out.trials_running or 0)
    max_failed = spec.max_failed_trial_count if spec else None
    max_trials = spec.max_trial_count if spec else None
    if goal_reached:
        _mark_completed(out, SUCCEEDED, REASON_GOAL_REACHED, MSG_GOAL_REACHED, now)
    elif max_failed is not None and failed != 0 and failed >= max_failed:
        _mark_completed(out, FAILED, REASON_FAILED, MSG_MAX_FAILED, now)
    elif max_trials is not None and completed >= max_trials:
        _mark_completed(out, SUCCEEDED, REASON_MAX_TRIALS_REACHED, MSG_MAX_TRIALS, now)
    elif duration_spent:
        seconds = spec.max_duration_seconds if spec else None
        message = MSG_MAX_DURATION.format(seconds=seconds)
        _mark_completed(out, SUCCEEDED, REASON_MAX_DURATION_REACHED, message, now)
    elif suggestion_end_reached and active == 0:
        _mark_completed(out, SUCCEEDED, REASON_SUGGESTION_END_REACHED, MSG_SUGGESTION_END, now)
    else:
        _mark_running(out, now)
    return out


def completed_counts(status: ExperimentStatus) -> tuple[int, int]:
    """(completed trials, active trials) as trial counting sees them."""
    completed = (
        (status.trials_succeeded or 0)
        + (status.trials_failed or 0)
        + (status.trials_killed or 0)
        + (status.trials_early_stopped or 0)
        + (status.trial_metrics_unavailable or 0)
    )
    active = (status.trials_pending or 0) + (status.trials_running or 0)
    return completed, active
