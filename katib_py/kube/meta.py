"""Object-meta helpers every controller needs: keys, owner references, names, conditions.

Pure functions over plain dicts (the objects as the API sends them); the TypedDicts name the
shapes that travel between layers. The rules are Kubernetes' own: `metav1.OwnerReference`,
`rand.String` for generated suffixes, and the condition conventions of the API guidelines
(`lastTransitionTime` moves only when the status changes).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from random import Random
from typing import Any, NotRequired, TypedDict, cast

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects

# k8s.io/apimachinery/pkg/util/rand: no vowels (no words), no 0/1/3 (no look-alikes)
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


class OwnerReference(TypedDict):
    apiVersion: str
    kind: str
    name: str
    uid: str
    controller: NotRequired[bool]
    blockOwnerDeletion: NotRequired[bool]


class ObjectMeta(TypedDict, total=False):
    name: str
    generateName: str
    namespace: str
    uid: str
    resourceVersion: str
    generation: int
    creationTimestamp: str
    deletionTimestamp: str
    deletionGracePeriodSeconds: int
    labels: dict[str, str]
    annotations: dict[str, str]
    ownerReferences: list[OwnerReference]
    finalizers: list[str]


class Condition(TypedDict, total=False):
    type: str
    status: str
    reason: str
    message: str
    lastTransitionTime: str
    lastUpdateTime: str
    lastProbeTime: str


def meta_of(obj: Obj) -> ObjectMeta:
    meta: ObjectMeta = obj.get("metadata") or {}
    return meta


def key_of(obj: Obj) -> Key:
    meta = meta_of(obj)
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def resource_version(obj: Obj) -> int:
    """The resourceVersion as a number (0 when absent or not numeric), to order two copies."""
    text = str(meta_of(obj).get("resourceVersion") or "")
    return int(text) if text.isdigit() else 0


def random_suffix(n: int = 5, rng: Random | None = None) -> str:
    """`rand.String(n)`: the suffix of generated names (5 for Pods of a Job, 8 for Katib's trials)."""
    choice = rng.choice if rng is not None else secrets.choice
    return "".join(choice(NAME_ALPHABET) for _ in range(n))


def owner_reference(
    owner: Obj, api_version: str | None = None, kind: str | None = None, *, controller: bool = True
) -> OwnerReference:
    """A reference to `owner` (its apiVersion/kind unless given: list items carry neither)."""
    meta = meta_of(owner)
    return {
        "apiVersion": api_version or str(owner.get("apiVersion") or ""),
        "kind": kind or str(owner.get("kind") or ""),
        "name": str(meta.get("name") or ""),
        "uid": str(meta.get("uid") or ""),
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def controller_ref(obj: Obj) -> OwnerReference | None:
    """The owner reference with controller: true, if any."""
    for ref in meta_of(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def controller_name(obj: Obj, kind: str) -> str | None:
    """The name of the object's controller when it is of `kind`."""
    ref = controller_ref(obj)
    return str(ref["name"]) if ref is not None and ref.get("kind") == kind else None


# ---------------------------------------------------------------- conditions


def find_condition(conditions: Iterable[Condition] | None, ctype: str) -> Condition | None:
    for cond in conditions or ():
        if cond.get("type") == ctype:
            return cond
    return None


def get_condition(obj: Obj, ctype: str) -> Condition | None:
    """The condition of `obj.status.conditions` with this type."""
    return find_condition((obj.get("status") or {}).get("conditions"), ctype)


def condition_true(obj: Obj, ctype: str) -> bool:
    cond = get_condition(obj, ctype)
    return cond is not None and cond.get("status") == "True"


def set_condition(
    conditions: Sequence[Condition] | None,
    ctype: str,
    status: str,
    reason: str,
    message: str,
    *,
    now: str,
    stamp: str = "lastProbeTime",
    same_when: tuple[str, ...] = ("status", "reason", "message"),
    move_to_end: bool = False,
) -> list[Condition]:
    """The conditions after setting one; the input is not changed.

    A condition equal to the new one in the `same_when` fields is left as it is. Otherwise it takes
    the new fields, `stamp` (the kind's "last seen" field: lastProbeTime for Jobs, lastUpdateTime
    for Deployments and Katib's kinds) becomes `now`, and `lastTransitionTime` moves only when the
    status changes. `move_to_end` puts a changed condition last, as Katib's `setCondition` does
    (its kubectl Type column is the last condition).
    """
    out = [c.copy() for c in conditions or ()]
    new = {"type": ctype, "status": status, "reason": reason, "message": message}
    for i, cond in enumerate(out):
        fields = cast(dict[str, Any], cond)
        if fields.get("type") != ctype:
            continue
        if all(fields.get(f) == new.get(f) for f in same_when):
            return out
        transition = fields.get("lastTransitionTime") if fields.get("status") == status else None
        updated = cast(Condition, {**fields, **new, stamp: now, "lastTransitionTime": transition or now})
        if move_to_end:
            del out[i]
            out.append(updated)
        else:
            out[i] = updated
        return out
    out.append(cast(Condition, {**new, stamp: now, "lastTransitionTime": now}))
    return out
