"""Suggestion conditions: Created, DeploymentReady, Running, Succeeded, Failed.

Katib's marks are in `pkg/apis/controller/suggestions/v1beta1/util.go`, its reasons in
`pkg/controller.v1beta1/suggestion/suggestion_controller_status.go`.

"Restarting" is not a condition type: it is Running=False with reason "Experiment is restarting".
"""

from __future__ import annotations

from katib_py.api.models import Condition, Suggestion, SuggestionStatus
from katib_py.core.conditions import (
    FALSE,
    TRUE,
    get_condition,
    has_condition,
    remove_condition,
    set_condition,
)

CREATED = "Created"
DEPLOYMENT_READY = "DeploymentReady"
RUNNING = "Running"
SUCCEEDED = "Succeeded"
FAILED = "Failed"

REASON_CREATED = "SuggestionCreated"
REASON_DEPLOYMENT_READY = "DeploymentReady"
REASON_DEPLOYMENT_NOT_READY = "DeploymentNotReady"
REASON_RUNNING = "SuggestionRunning"
REASON_FAILED = "SuggestionFailed"
REASON_SUCCEEDED = "Experiment is succeeded"
REASON_RESTARTING = "Experiment is restarting"

MSG_SUCCEEDED_NEVER = "Suggestion is succeeded, can't be restarted"
MSG_SUCCEEDED_FROM_VOLUME = "Suggestion is succeeded, suggestion volume is not deleted, can be restarted"


def _conds(s: Suggestion) -> list[Condition] | None:
    return s.status.conditions if s.status else None


def is_created(s: Suggestion) -> bool:
    return has_condition(_conds(s), CREATED)


def is_running(s: Suggestion) -> bool:
    return has_condition(_conds(s), RUNNING)


def is_succeeded(s: Suggestion) -> bool:
    return has_condition(_conds(s), SUCCEEDED)


def is_failed(s: Suggestion) -> bool:
    return has_condition(_conds(s), FAILED)


def is_deployment_ready(s: Suggestion) -> bool:
    return has_condition(_conds(s), DEPLOYMENT_READY)


def is_restarting(s: Suggestion) -> bool:
    cond = get_condition(_conds(s), RUNNING)
    return cond is not None and cond.status == FALSE and cond.reason == REASON_RESTARTING


def _status(s: Suggestion) -> SuggestionStatus:
    return s.status.model_copy(deep=True) if s.status else SuggestionStatus()


def mark_created(s: Suggestion, now: str) -> SuggestionStatus:
    status = _status(s)
    status.start_time = now
    status.conditions = set_condition(
        status.conditions, CREATED, TRUE, REASON_CREATED, "Suggestion is created", now
    )
    return status


def mark_deployment_ready(s: Suggestion, ready: bool, now: str) -> SuggestionStatus:
    status = _status(s)
    if ready:
        status.conditions = set_condition(
            status.conditions, DEPLOYMENT_READY, TRUE, REASON_DEPLOYMENT_READY, "Deployment is ready", now
        )
    else:
        status.conditions = set_condition(
            status.conditions,
            DEPLOYMENT_READY,
            FALSE,
            REASON_DEPLOYMENT_NOT_READY,
            "Deployment is not ready",
            now,
        )
    return status


def mark_running(s: Suggestion, now: str) -> SuggestionStatus:
    status = _status(s)
    conds = remove_condition(status.conditions, SUCCEEDED)
    status.conditions = set_condition(conds, RUNNING, TRUE, REASON_RUNNING, "Suggestion is running", now)
    return status


def mark_failed(s: Suggestion, message: str, now: str) -> SuggestionStatus:
    status = _status(s)
    running = get_condition(status.conditions, RUNNING)
    conds = status.conditions
    if running is not None:
        conds = set_condition(conds, RUNNING, FALSE, running.reason or "", running.message or "", now)
    status.conditions = set_condition(conds, FAILED, TRUE, REASON_FAILED, message, now)
    status.completion_time = now
    return status


def mark_succeeded(s: Suggestion, from_volume: bool, now: str) -> SuggestionStatus:
    """The experiment is done: the suggestion controller then removes the Deployment and Service."""
    status = _status(s)
    running = get_condition(status.conditions, RUNNING)
    conds = status.conditions
    if running is not None:
        conds = set_condition(conds, RUNNING, FALSE, running.reason or "", running.message or "", now)
    conds = set_condition(conds, DEPLOYMENT_READY, FALSE, REASON_SUCCEEDED, "Suggestion is succeeded", now)
    message = MSG_SUCCEEDED_FROM_VOLUME if from_volume else MSG_SUCCEEDED_NEVER
    status.conditions = set_condition(conds, SUCCEEDED, TRUE, REASON_SUCCEEDED, message, now)
    status.completion_time = now
    return status


def mark_restarting(s: Suggestion, now: str) -> SuggestionStatus:
    """FromVolume restart: Succeeded removed, Running=False "Experiment is restarting"."""
    status = _status(s)
    conds = remove_condition(status.conditions, SUCCEEDED)
    status.conditions = set_condition(
        conds, RUNNING, FALSE, REASON_RESTARTING, "Suggestion is restarting", now
    )
    status.completion_time = None
    return status
