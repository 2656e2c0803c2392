"""How the API server decides a DELETE, and when an object marked for deletion goes: pure rules.

`decide(info, current, options, now=...)` turns a DELETE into a `Deletion`: remove the object now,
write it marked for deletion, or leave it as it is, and the HTTP code. objects.py checks
`check_preconditions` before admission, calls `decide` after it, and applies the result; on every
update it asks `may_vanish` whether a marked object has lost what held it. The rules are
kube-apiserver's (k8s.io/apiserver/pkg/registry/generic/registry/store.go: Delete,
updateForGracefulDeletionAndFinalizers, deletionFinalizersForGarbageCollection;
k8s.io/apiserver/pkg/registry/rest/delete.go: BeforeDelete; pkg/registry/core/pod/strategy.go:
CheckGracefulDelete; pkg/registry/batch/job/strategy.go: DefaultGarbageCollectionPolicy):

- Preconditions: a uid or resourceVersion given in DeleteOptions must match (409 otherwise).
- Propagation: `propagationPolicy`, else `orphanDependents`, else the kind's default (Orphan for
  batch/v1 Jobs, kept for compatibility; Background otherwise). Foreground adds the
  `foregroundDeletion` finalizer, Orphan the `orphan` finalizer, each replacing the other; the
  garbage collector does the rest. `orphanDependents: false` answers 202.
- Grace: a Pod bound to a node and not yet terminal gets `gracePeriodSeconds`, else its
  `terminationGracePeriodSeconds` (30); its kubelet stops it, then deletes it with grace 0. Other
  objects have none.
- Outcome: an object with finalizers (or a Namespace) gets deletionTimestamp (now + grace) and
  waits; a graceful Pod gets deletionTimestamp too, shortened by a later, smaller grace, never
  lengthened; anything else is removed at once.
- A marked object goes once its last finalizer is removed (a Namespace also needs
  spec.finalizers empty, a graceful Pod its kubelet's grace-0 delete), and no finalizer may be
  added to it.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from katib_py.kube import errors
from katib_py.kube.rfc3339 import format_time

from .registry import ResourceInfo

Obj = dict[str, Any]

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
POLICIES = ("Background", "Foreground", "Orphan")
DEFAULT_POD_GRACE = 30
STALE = "the object has been modified; please apply your changes to the latest version and try again"


@dataclass(frozen=True)
class Deletion:
    """What a DELETE does: `remove` the object now, `mark` (write `obj`), or `keep` it unchanged."""

    action: Literal["remove", "mark", "keep"]
    obj: Obj  # the object as it stands after the request (as removed, or as marked)
    code: int  # 200, or 202 when orphanDependents is false and the object waits


def _is(info: ResourceInfo, group: str, plural: str) -> bool:
    return info.group == group and info.plural == plural


# NamespaceLifecycle's immortal namespaces (plugin/pkg/admission/namespace/lifecycle/admission.go)
IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})


def check_preconditions(info: ResourceInfo, current: Obj, options: Obj) -> None:
    """DeleteOptions.preconditions (uid, resourceVersion) against the stored object: 409 on a mismatch;
    403 for an immortal namespace, as NamespaceLifecycle answers."""
    meta = current["metadata"]
    if _is(info, "", "namespaces") and meta.get("name") in IMMORTAL_NAMESPACES:
        raise errors.Forbidden(
            f'namespaces "{meta["name"]}" is forbidden: this namespace may not be deleted',
            details={"name": meta["name"], "group": "", "kind": "namespaces"},
        )
    pre = options.get("preconditions") or {}
    if pre.get("uid") and pre["uid"] != meta.get("uid"):
        why = f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {meta.get('uid')}"
        raise errors.conflict(info.plural, info.group, meta["name"], why)
    if pre.get("resourceVersion") and pre["resourceVersion"] != meta.get("resourceVersion"):
        raise errors.conflict(info.plural, info.group, meta["name"], STALE)


def propagation_policy(info: ResourceInfo, options: Obj) -> str | None:
    """The propagation policy a DELETE asks for (None: Background); 422 for an unknown one."""
    policy = options.get("propagationPolicy")
    if policy is None and options.get("orphanDependents") is not None:
        policy = "Orphan" if options["orphanDependents"] else "Background"
    if policy is None and _is(info, "batch", "jobs"):
        policy = "Orphan"  # batch/v1 keeps the old default, as kube does
    if policy is not None and policy not in POLICIES:
        message = (
            f'Unsupported value: "{policy}": supported values: "Foreground", "Background", "Orphan", "nil"'
        )
        cause = {"reason": "FieldValueNotSupported", "field": "propagationPolicy", "message": message}
        raise errors.invalid("DeleteOptions", "", "", [cause])
    return str(policy) if policy is not None else None


def grace_period(info: ResourceInfo, obj: Obj, options: Obj) -> int:
    """Seconds the object's deletion waits: a running, bound Pod's grace period, else 0."""
    if not _is(info, "", "pods"):
        return 0
    phase = (obj.get("status") or {}).get("phase")
    if not (obj.get("spec") or {}).get("nodeName") or phase in ("Succeeded", "Failed"):
        return 0
    grace = options.get("gracePeriodSeconds")
    if grace is None:
        grace = (obj.get("spec") or {}).get("terminationGracePeriodSeconds", DEFAULT_POD_GRACE)
    return max(int(grace), 0)


def deletion_finalizers(finalizers: list[str], policy: str | None) -> list[str]:
    """The finalizers after a DELETE with `policy`: Foreground and Orphan each add theirs."""
    if policy == "Foreground" and FOREGROUND not in finalizers:
        return [f for f in finalizers if f != ORPHAN] + [FOREGROUND]
    if policy == "Orphan" and ORPHAN not in finalizers:
        return [f for f in finalizers if f != FOREGROUND] + [ORPHAN]
    return list(finalizers)


def _mark(meta: Obj, grace: int, now: datetime) -> None:
    meta["deletionTimestamp"] = format_time(now + timedelta(seconds=grace))
    meta["deletionGracePeriodSeconds"] = grace


def decide(info: ResourceInfo, current: Obj, options: Obj, *, now: datetime) -> Deletion:
    """What a DELETE of `current` with DeleteOptions `options` does (preconditions checked before)."""
    policy = propagation_policy(info, options)
    new = copy.deepcopy(current)
    meta = new["metadata"]
    finalizers = deletion_finalizers(list(meta.get("finalizers") or []), policy)
    if finalizers:
        meta["finalizers"] = finalizers
    accepted = 202 if options.get("orphanDependents") is False else 200
    is_namespace = _is(info, "", "namespaces")
    grace = grace_period(info, current, options)
    if is_namespace or finalizers:
        if not meta.get("deletionTimestamp"):
            # A running Pod keeps its grace period even when finalizers hold it (kube does too):
            # its kubelet still stops it with SIGTERM first.
            _mark(meta, grace, now)
        if is_namespace:
            new["status"] = {**(new.get("status") or {}), "phase": "Terminating"}
        if finalizers or (is_namespace and (new.get("spec") or {}).get("finalizers")):
            return Deletion("mark" if new != current else "keep", new, accepted)
    elif grace > 0:
        if not meta.get("deletionTimestamp") or grace < meta.get("deletionGracePeriodSeconds", 0):
            _mark(meta, grace, now)
            return Deletion("mark", new, accepted)
        return Deletion("keep", new, accepted)
    return Deletion("remove", new, 200)


def may_vanish(info: ResourceInfo, obj: Obj) -> bool:
    """An object marked for deletion goes now: nothing holds it any more."""
    if obj["metadata"].get("finalizers"):
        return False
    if _is(info, "", "namespaces"):
        return not (obj.get("spec") or {}).get("finalizers")
    if _is(info, "", "pods"):
        # A running Pod on a node waits for its kubelet; its deletion completes with grace 0.
        return not int(obj["metadata"].get("deletionGracePeriodSeconds") or 0) > 0
    return True


def check_no_new_finalizers(info: ResourceInfo, old: Obj, new: Obj) -> None:
    """An object being deleted takes no new finalizer (422)."""
    old_meta, meta = old["metadata"], new["metadata"]
    if not old_meta.get("deletionTimestamp"):
        return
    added = set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or [])
    if added:
        message = (
            "Forbidden: no new finalizers can be added if the object is being deleted, "
            f"found new finalizers {json.dumps(sorted(added))}"
        )
        cause = {"reason": "FieldValueForbidden", "field": "metadata.finalizers", "message": message}
        raise errors.invalid(info.kind, info.group, str(old_meta.get("name", "")), [cause])
