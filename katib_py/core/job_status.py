"""Whether a trial's job succeeded, failed or runs, by Katib's GJSON conditions.

Katib's `GetDeployedJobStatus` (`pkg/controller.v1beta1/trial/util/job_util.go`) marshals the job
(any kind: Job, TFJob, Argo Workflow, Tekton PipelineRun, ...) to JSON and evaluates the trial's
`failureCondition` first, then its `successCondition`. A condition holds when its result is an
object or a non-empty array; the reason and message come from that object (or from element [0] of
the array), which for the default expressions is the matched `status.conditions` entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from katib_py.api.defaults import TRIAL_KIND_DEFAULTS
from katib_py.core import gjson

JobState = Literal["Succeeded", "Failed", "Running"]

# kind -> (successCondition, failureCondition), the webhook's defaults (experiment_defaults.go), keyed on kind
# only as Katib does. Argo Workflows and Tekton PipelineRuns are documented by Katib but not
# defaulted: their users write the expressions themselves.
DEFAULT_CONDITIONS: dict[str, tuple[str, str]] = {
    kind: (success, failure) for kind, (success, failure, _labels) in TRIAL_KIND_DEFAULTS.items()
}

# Katib's documented expressions for the two non-defaulted kinds, for examples and tests.
ARGO_WORKFLOW_CONDITIONS = (
    'status.[@this].#(phase=="Succeeded")#',
    'status.[@this].#(phase=="Failed")#',
)
TEKTON_PIPELINERUN_CONDITIONS = (
    'status.conditions.#(type=="Succeeded")#|#(status=="True")#',
    'status.conditions.#(type=="Succeeded")#|#(status=="False")#',
)


@dataclass(frozen=True)
class JobCondition:
    """The job's state as the trial controller sees it, with the matched condition's words."""

    state: JobState
    reason: str = ""
    message: str = ""


def evaluate_job_status(
    job: dict[str, Any], success_condition: str, failure_condition: str, *, trial_running: bool
) -> JobCondition | None:
    """Katib's GetDeployedJobStatus: Failed, Succeeded, Running (first sighting) or None (no change).

    A matched element that is not an object still decides the state (Katib fails to unmarshal it
    and retries forever); only its reason and message are then empty.
    """
    # Go's json.Marshal of an unstructured object sorts map keys; wildcards follow that order.
    document = json.loads(json.dumps(job, sort_keys=True))
    for state, expression in (("Failed", failure_condition), ("Succeeded", success_condition)):
        if not expression:
            continue
        matched = _matched_condition(gjson.get(document, expression))
        if matched is not None:
            reason, message = _reason_and_message(matched)
            return JobCondition(state, reason, message)  # type: ignore[arg-type]
    name = (job.get("metadata") or {}).get("name")
    if not trial_running and name:
        return JobCondition("Running")
    return None


def _matched_condition(result: gjson.Result) -> Any:
    """The object (or element [0]) a condition expression matched, or None when it did not hold."""
    if result.is_object():
        return result.value
    if result.is_array():
        elements = result.array()
        if elements:
            return elements[0].value
    return None


def _reason_and_message(matched: Any) -> tuple[str, str]:
    if not isinstance(matched, dict):
        return "", ""
    return _field(matched, "reason"), _field(matched, "message")


def _field(obj: dict[str, Any], name: str) -> str:
    """encoding/json's field matching: the exact key first, else a case-insensitive one."""
    value = obj.get(name)
    if value is None:
        for key, candidate in obj.items():
            if key.casefold() == name:
                value = candidate
                break
    return value if isinstance(value, str) else ""
