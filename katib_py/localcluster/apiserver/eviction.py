"""The `pods/eviction` subresource: a Pod deletion that says it was a disruption.

As kube-apiserver (pkg/registry/core/pod/storage/eviction.go, PodDisruptionConditions GA in 1.31):
the body is a policy/v1 (or v1beta1) Eviction naming the Pod; a running Pod first gets the
condition DisruptionTarget=True, reason EvictionByEvictionAPI, then is deleted gracefully with
the Eviction's deleteOptions; a Pod already Succeeded or Failed is just deleted. The answer is a
Success Status with code 201. Not done: PodDisruptionBudgets (nothing here computes their
status.disruptionsAllowed, so no eviction is refused with 429).
"""

from __future__ import annotations

from typing import Any

from katib_py.kube import errors
from katib_py.kube.rfc3339 import now_time

from .objects import MERGE_PATCH, ObjectService, WriteOptions
from .registry import ResourceInfo

Obj = dict[str, Any]

REASON = "EvictionByEvictionAPI"
MESSAGE = "Eviction API: evicting"


def check_body(body: Any, name: str) -> Obj:
    """The Eviction's deleteOptions; 400 when the body is not an Eviction of this Pod."""
    if not isinstance(body, dict) or body.get("kind") not in (None, "Eviction"):
        raise errors.bad_request("the body of the request must be a policy/v1 Eviction")
    named = (body.get("metadata") or {}).get("name")
    if named and named != name:
        raise errors.bad_request("name in URL does not match name in Eviction object")
    options = body.get("deleteOptions") or {}
    if not isinstance(options, dict):
        raise errors.bad_request("deleteOptions must be an object")
    return options


def disruption_conditions(pod: Obj, now: str) -> list[Obj] | None:
    """The Pod's conditions with DisruptionTarget set, or None when it is already there."""
    conditions = list((pod.get("status") or {}).get("conditions") or [])
    for cond in conditions:
        if cond.get("type") == "DisruptionTarget" and cond.get("status") == "True":
            return None
    conditions = [c for c in conditions if c.get("type") != "DisruptionTarget"]
    conditions.append(
        {
            "type": "DisruptionTarget",
            "status": "True",
            "reason": REASON,
            "message": MESSAGE,
            "lastTransitionTime": now,
        }
    )
    return conditions


async def evict(
    svc: ObjectService, info: ResourceInfo, ns: str, name: str, body: Any, opts: WriteOptions
) -> Obj:
    options = check_body(body, name)
    if "All" in (options.get("dryRun") or []):
        opts.dry_run = True
    pod = svc.get(info, ns, name)
    terminal = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
    if not terminal and not opts.dry_run:
        conditions = disruption_conditions(pod, now_time())
        if conditions is not None:
            patch = {
                "metadata": {"resourceVersion": pod["metadata"]["resourceVersion"]},
                "status": {"conditions": conditions},
            }
            await svc.patch(info, ns, name, MERGE_PATCH, patch, "status", opts)
    await svc.delete(info, ns, name, options, opts)
    return {**errors.success_status({}), "code": 201}
