"""Status conditions with Katib's ordering semantics (`setCondition` in `*/v1beta1/util.go`).

A condition that changes is removed and re-appended, so the last condition is always the most
recent change: `kubectl get` prints it as the Type column. Setting a condition to the status and
reason it already has changes nothing; changing only the reason keeps `lastTransitionTime`.
All functions are pure: `now` is passed in, lists are copied, never mutated.
"""

from __future__ import annotations

from typing import cast

from katib_py.api.models import Condition
from katib_py.kube import meta

TRUE = "True"
FALSE = "False"


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
    """The conditions after setting one, with Katib's remove-and-re-append rule.

    A change of message alone changes nothing (Katib compares status and reason only).
    """
    changed = meta.set_condition(
        [cast(meta.Condition, c.dump()) for c in conditions or []],
        condition_type,
        status,
        reason,
        message,
        now=now,
        stamp="lastUpdateTime",
        same_when=("status", "reason"),
        move_to_end=True,
    )
    return [Condition.load(dict(c)) for c in changed]


def last_condition_type(conditions: list[Condition] | None) -> str | None:
    return conditions[-1].type if conditions else None
