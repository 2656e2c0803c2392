"""Label selectors: the string form (`a=b,c in (d)`) and the object form (`matchLabels`/`matchExpressions`).

Parsed and matched as `k8s.io/apimachinery/pkg/labels` does. A nil LabelSelector selects nothing
and an empty one selects everything (`metav1.LabelSelectorAsSelector`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from katib_py.kube.errors import bad_request

Obj = dict[str, Any]


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!exists"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.op == "exists":
            return self.key in labels
        if self.op == "!exists":
            return self.key not in labels
        if self.op in ("=", "in"):
            return self.key in labels and labels[self.key] in self.values
        # != and notin match objects without the label, as kube does
        return self.key not in labels or labels[self.key] not in self.values


_SET_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9./_-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_EQ_RE = re.compile(r"^\s*([A-Za-z0-9./_-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*$")


def split_top(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p for p in parts if p.strip()]


def parse_label_selector(text: str | None) -> list[Requirement]:
    if not text:
        return []
    out = []
    for part in split_top(text):
        m = _EQ_RE.match(part)
        if m:
            op = "!=" if m.group(2) == "!=" else "="
            out.append(Requirement(m.group(1), op, (m.group(3),)))
            continue
        m = _SET_RE.match(part)
        if m and not (m.group(1) and m.group(3)):
            if m.group(3):
                values = tuple(v.strip() for v in m.group(4).split(",") if v.strip())
                out.append(Requirement(m.group(2), m.group(3), values))
            else:
                out.append(Requirement(m.group(2), "!exists" if m.group(1) else "exists"))
            continue
        raise bad_request(f"unable to parse requirement: found '{part.strip()}', expected: valid selector")
    return out


def labels_match(reqs: list[Requirement], obj: Obj) -> bool:
    """True when the object's labels meet every requirement."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(r.matches(labels) for r in reqs)


def selector_from_label_selector_object(sel: Mapping[str, Any] | None) -> list[Requirement]:
    """A metav1.LabelSelector (matchLabels/matchExpressions) as requirements (none for nil or empty)."""
    if not sel:
        return []
    reqs = [Requirement(k, "=", (v,)) for k, v in (sel.get("matchLabels") or {}).items()]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    for expr in sel.get("matchExpressions") or []:
        reqs.append(Requirement(expr["key"], ops[expr["operator"]], tuple(expr.get("values") or ())))
    return reqs


def label_selector_matches(sel: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A workload's metav1.LabelSelector against a label map: nil selects nothing, {} everything."""
    if sel is None:
        return False
    return all(r.matches(labels) for r in selector_from_label_selector_object(sel))
