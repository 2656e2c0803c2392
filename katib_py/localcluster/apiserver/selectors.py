"""Field selectors, parsed the way kube-apiserver parses them (label selectors: katib_py.kube.selectors)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from katib_py.kube.errors import bad_request
from katib_py.kube.selectors import split_top

Obj = dict[str, Any]


def _get_path(obj: Obj, path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


# Extra field labels per (group, plural), besides metadata.name and metadata.namespace.
FIELD_LABELS: dict[tuple[str, str], set[str]] = {
    ("", "pods"): {
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    },
    ("", "events"): {
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    },
    ("events.k8s.io", "events"): {
        "regarding.kind",
        "regarding.namespace",
        "regarding.name",
        "regarding.uid",
        "reason",
        "type",
        "reportingController",
    },
    ("", "secrets"): {"type"},
    ("", "namespaces"): {"status.phase"},
    ("", "nodes"): {"spec.unschedulable"},
    ("batch", "jobs"): {"status.successful"},
    ("", "replicationcontrollers"): {"status.replicas"},
}


# events.k8s.io/v1 Events are stored in their core/v1 shape.
_STORED_EVENT_FIELDS = {
    "regarding.kind": "involvedObject.kind",
    "regarding.namespace": "involvedObject.namespace",
    "regarding.name": "involvedObject.name",
    "regarding.uid": "involvedObject.uid",
    "reportingController": "reportingComponent",
}


def parse_field_selector(text: str | None, group: str, plural: str) -> Callable[[Obj], bool]:
    if not text:
        return lambda obj: True
    allowed = {"metadata.name", "metadata.namespace"} | FIELD_LABELS.get((group, plural), set())
    checks: list[tuple[str, bool, str]] = []
    for part in split_top(text):
        m = re.match(r"^\s*([A-Za-z0-9._-]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if not m:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = m.group(1), m.group(2), m.group(3)
        if field not in allowed:
            raise bad_request(f"field label not supported: {field}")
        checks.append((field, op == "!=", value))

    def match(obj: Obj) -> bool:
        for field, negate, value in checks:
            actual = _get_path(
                obj, _STORED_EVENT_FIELDS.get(field, field) if group == "events.k8s.io" else field
            )
            if field == "source" and group == "":
                actual = _get_path(obj, "source.component")
            if (actual == value) == negate:
                return False
        return True

    return match
