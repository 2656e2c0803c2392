"""Small helpers shared by the built-in controllers: owner references, times, conditions, names."""

from __future__ import annotations

import contextlib
import secrets
from datetime import UTC, datetime
from typing import Any

from katib_py.kubeclient import EVENTS, ApiError, KubeClient, Obj

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' rand.String alphabet (no vowels)


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value.replace(".000000", "")[:19] + "Z", "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=UTC
        )
    except ValueError:
        return None


def random_suffix(n: int = 5) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def controller_ref(obj: Obj) -> Obj | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def owner_reference(owner: Obj, api_version: str, kind: str) -> Obj:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def get_condition(obj: Obj, ctype: str) -> Obj | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return dict(cond)
    return None


def condition_true(obj: Obj, ctype: str) -> bool:
    cond = get_condition(obj, ctype)
    return bool(cond and cond.get("status") == "True")


def set_condition(
    conditions: list[Obj], ctype: str, status: str, reason: str, message: str, *, stamp: str = "lastProbeTime"
) -> list[Obj]:
    """Upsert a condition; lastTransitionTime moves only when status changes.

    `stamp` is the kind's "last seen" field: lastProbeTime for Jobs, lastUpdateTime for Deployments.
    """
    now = now_iso()
    out = [dict(c) for c in conditions]
    for c in out:
        if c.get("type") == ctype:
            if c.get("status") != status:
                c["lastTransitionTime"] = now
            if (c.get("status"), c.get("reason"), c.get("message")) != (status, reason, message):
                c[stamp] = now
            c.update({"status": status, "reason": reason, "message": message})
            return out
    out.append(
        {
            "type": ctype,
            "status": status,
            stamp: now,
            "lastTransitionTime": now,
            "reason": reason,
            "message": message,
        }
    )
    return out


def pod_is_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def pod_is_ready(pod: Obj) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def labels_match(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels + matchExpressions) against a label map."""
    if not selector:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


async def record_event(
    client: KubeClient, obj: Obj, reason: str, message: str, *, component: str, etype: str = "Normal"
) -> None:
    """Best-effort core/v1 Event about `obj` (what `kubectl describe` shows)."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace") or "default"
    now = now_iso()
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{meta.get('name', 'obj')}.", "namespace": ns},
        "involvedObject": {
            "apiVersion": obj.get("apiVersion"),
            "kind": obj.get("kind"),
            "name": meta.get("name"),
            "namespace": ns,
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        },
        "reason": reason,
        "message": message,
        "type": etype,
        "source": {"component": component},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "reportingComponent": component,
        "reportingInstance": "",
    }
    with contextlib.suppress(ApiError, OSError):
        await client.create(EVENTS, event, ns)
