"""Status conditions with Katib's ordering semantics (`setCondition` in `*/v1beta1/util.go`).

A condition that changes is removed and re-appended, so the last condition is always the most
recent change: `kubectl get` prints it as the Type column. Setting a condition to the status and
reason it already has changes nothing; changing only the reason keeps `lastTransitionTime`.
All functions are pure: `now` is passed in, lists are copied, never mutated.
"""

from __future__ import annotations

from datetime import UTC, datetime

from katib_py.api.models import Condition

TRUE = "True"
FALSE = "False"


def format_time(moment: datetime) -> str:
    """metav1.Time on the wire: RFC 3339 in UTC, whole seconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_time() -> str:
    return format_time(datetime.now(UTC))


def get_condition(conditions: list[Condition] | None, condition_type: str) -> Condition | None:
    for condition in conditions or []:
        if condition.type == condition_type:
            return condition
    return None


def has_condition(conditions: list[Condition] | None, condition_type: str) -> bool:
    """True when the condition is present with status True."""
    condition = get_condition(conditions, condition_type)
    return condition is not None and condition.status == TRUE


def remove_condition(conditions: list[Condition] | None, condition_type: str) -> list[Condition]:
    return [c for c in conditions or [] if c.type != condition_type]


def set_condition(
    conditions: list[Condition] | None,
    condition_type: str,
    status: str,
    reason: str,
    message: str,
    now: str,
) -> list[Condition]:
    """The conditions after setting one, with Katib's remove-and-re-append rule."""
    current = get_condition(conditions, condition_type)
    if current is not None and current.status == status and current.reason == reason:
        return list(conditions or [])
    transition = now
    if current is not None and current.status == status and current.last_transition_time:
        transition = current.last_transition_time
    new = Condition(
        type=condition_type,
        status=status,
        reason=reason,
        message=message,
        last_update_time=now,
        last_transition_time=transition,
    )
    return [*remove_condition(conditions, condition_type), new]


def last_condition_type(conditions: list[Condition] | None) -> str | None:
    return conditions[-1].type if conditions else None
