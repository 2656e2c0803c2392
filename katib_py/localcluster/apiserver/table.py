"""meta.k8s.io/v1 Table responses: CRD printer columns and the built-in kinds' columns."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from katib_py.kube.rfc3339 import parse_time

from .registry import ResourceInfo

Obj = dict[str, Any]

TABLE_MEDIA = "application/json;as=Table;v=v1;g=meta.k8s.io"


def human_duration(seconds: float) -> str:
    """Kubernetes' duration.HumanDuration."""
    if seconds < -1:
        return "<invalid>"
    s = int(max(seconds, 0))
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = s // 3600
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    d = h // 24
    if h < 24 * 8:
        return f"{d}d{h % 24}h" if h % 24 else f"{d}d"
    if h < 24 * 365 * 2:
        return f"{d}d"
    y = d // 365
    if h < 24 * 365 * 8:
        return f"{y}y{d % 365}d" if d % 365 else f"{y}y"
    return f"{y}y"


def age(ts: str | None) -> str:
    t = parse_time(ts)
    if t is None:
        return "<unknown>"
    return human_duration((datetime.now(UTC) - t).total_seconds())


_TOKEN = re.compile(
    r"\.([A-Za-z0-9_$-]+)|\[(-?\d*):(-?\d*)\]|\[(-?\d+)\]|\[\*\]|\[\?\(@\.([\w.]+)\s*(==|!=)\s*['\"]([^'\"]*)['\"]\)\]|\['([^']+)'\]"
)


def jsonpath(obj: Any, expr: str) -> list[Any]:
    """The JSONPath subset printer columns use: `.a.b`, `[0]`, `[-1:]`, `[*]`, `[?(@.k=="v")]`."""
    expr = expr.strip()
    if expr.startswith("{") and expr.endswith("}"):
        expr = expr[1:-1]
    expr = expr.lstrip("$")
    current = [obj]
    pos = 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m:
            return []
        pos = m.end()
        nxt: list[Any] = []
        for value in current:
            name = m.group(1) or m.group(8)
            if name is not None:
                if isinstance(value, dict) and name in value:
                    nxt.append(value[name])
            elif m.group(0) == "[*]":
                if isinstance(value, list):
                    nxt.extend(value)
                elif isinstance(value, dict):
                    nxt.extend(value.values())
            elif m.group(4) is not None:
                if isinstance(value, list):
                    i = int(m.group(4))
                    if -len(value) <= i < len(value):
                        nxt.append(value[i])
            elif m.group(5) is not None:
                if isinstance(value, list):
                    for item in value:
                        field_val = jsonpath(item, "." + m.group(5))
                        same = bool(field_val) and str(field_val[0]) == m.group(7)
                        if same == (m.group(6) == "=="):
                            nxt.append(item)
            elif isinstance(value, list):
                start = int(m.group(2)) if m.group(2) else None
                end = int(m.group(3)) if m.group(3) else None
                nxt.extend(value[start:end])
        current = nxt
    return current


def _col(name: str, typ: str = "string", fmt: str = "", description: str = "", priority: int = 0) -> Obj:
    return {"name": name, "type": typ, "format": fmt, "description": description, "priority": priority}


NAME_COL = _col("Name", fmt="name", description="Name must be unique within a namespace.")
AGE_COL = _col(
    "Age",
    description="CreationTimestamp is a timestamp representing the server time when this object was created.",
)


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _pod_row(pod: Obj) -> list[Any]:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    total = len(spec.get("containers") or [])
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(int(c.get("restartCount") or 0) for c in statuses)
    reason = status.get("reason") or status.get("phase") or "Pending"
    for init in status.get("initContainerStatuses") or []:
        st = init.get("state") or {}
        if "terminated" in st and st["terminated"].get("exitCode", 0) != 0:
            reason = "Init:" + (st["terminated"].get("reason") or "Error")
            break
        if "waiting" in st and st["waiting"].get("reason") not in (None, "PodInitializing"):
            reason = "Init:" + st["waiting"]["reason"]
            break
    else:
        for c in statuses:
            st = c.get("state") or {}
            if "waiting" in st and st["waiting"].get("reason"):
                reason = st["waiting"]["reason"]
            elif "terminated" in st:
                reason = st["terminated"].get("reason") or (
                    f"Signal:{st['terminated']['signal']}"
                    if st["terminated"].get("signal")
                    else f"ExitCode:{st['terminated'].get('exitCode', 0)}"
                )
    if _meta(pod).get("deletionTimestamp"):
        reason = "Terminating"
    return [
        _meta(pod).get("name"),
        f"{ready}/{total}",
        reason,
        restarts,
        age(_meta(pod).get("creationTimestamp")),
        status.get("podIP") or "<none>",
        spec.get("nodeName") or "<none>",
    ]


def _job_row(job: Obj) -> list[Any]:
    spec, status = job.get("spec") or {}, job.get("status") or {}
    conds = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    if conds.get("Complete") == "True":
        state = "Complete"
    elif conds.get("Failed") == "True":
        state = "Failed"
    elif conds.get("FailureTarget") == "True" or conds.get("SuccessCriteriaMet") == "True":
        state = "Terminating"
    elif spec.get("suspend"):
        state = "Suspended"
    else:
        state = "Running"
    completions = spec.get("completions")
    comp = (
        f"{status.get('succeeded', 0)}/{completions}"
        if completions is not None
        else (f"{status.get('succeeded', 0)}/1 of {spec.get('parallelism', 1)}")
    )
    start, end = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    duration = ""
    if start:
        duration = human_duration(((end or datetime.now(UTC)) - start).total_seconds())
    return [_meta(job).get("name"), state, comp, duration, age(_meta(job).get("creationTimestamp"))]


def _deploy_row(d: Obj) -> list[Any]:
    spec, status = d.get("spec") or {}, d.get("status") or {}
    return [
        _meta(d).get("name"),
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
        age(_meta(d).get("creationTimestamp")),
    ]


def _rs_row(d: Obj) -> list[Any]:
    spec, status = d.get("spec") or {}, d.get("status") or {}
    return [
        _meta(d).get("name"),
        spec.get("replicas", 1),
        status.get("replicas", 0),
        status.get("readyReplicas", 0),
        age(_meta(d).get("creationTimestamp")),
    ]


def _svc_row(s: Obj) -> list[Any]:
    spec = s.get("spec") or {}
    ports = (
        ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or []) or "<none>"
    )
    return [
        _meta(s).get("name"),
        spec.get("type", "ClusterIP"),
        spec.get("clusterIP") or "<none>",
        ",".join(spec.get("externalIPs") or []) or "<none>",
        ports,
        age(_meta(s).get("creationTimestamp")),
    ]


def _event_row(e: Obj) -> list[Any]:
    inv = e.get("involvedObject") or e.get("regarding") or {}
    last = e.get("lastTimestamp") or e.get("eventTime") or _meta(e).get("creationTimestamp")
    return [
        age(last),
        e.get("type", ""),
        e.get("reason", ""),
        f"{str(inv.get('kind', '')).lower()}/{inv.get('name', '')}",
        e.get("message") or e.get("note", ""),
    ]


def _node_row(n: Obj) -> list[Any]:
    conds = {c.get("type"): c.get("status") for c in (n.get("status") or {}).get("conditions") or []}
    return [
        _meta(n).get("name"),
        "Ready" if conds.get("Ready") == "True" else "NotReady",
        "<none>",
        age(_meta(n).get("creationTimestamp")),
        ((n.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", ""),
    ]


BUILTIN_COLUMNS: dict[tuple[str, str], tuple[list[Obj], Callable[[Obj], list[Any]]]] = {
    ("", "pods"): (
        [
            NAME_COL,
            _col("Ready"),
            _col("Status"),
            _col("Restarts", "string"),
            AGE_COL,
            _col("IP", priority=1),
            _col("Node", priority=1),
        ],
        _pod_row,
    ),
    ("batch", "jobs"): ([NAME_COL, _col("Status"), _col("Completions"), _col("Duration"), AGE_COL], _job_row),
    ("apps", "deployments"): (
        [NAME_COL, _col("Ready"), _col("Up-to-date", "integer"), _col("Available", "integer"), AGE_COL],
        _deploy_row,
    ),
    ("apps", "replicasets"): (
        [NAME_COL, _col("Desired", "integer"), _col("Current", "integer"), _col("Ready", "integer"), AGE_COL],
        _rs_row,
    ),
    ("", "services"): (
        [NAME_COL, _col("Type"), _col("Cluster-IP"), _col("External-IP"), _col("Port(s)"), AGE_COL],
        _svc_row,
    ),
    ("", "namespaces"): (
        [NAME_COL, _col("Status"), AGE_COL],
        lambda o: [
            _meta(o).get("name"),
            (o.get("status") or {}).get("phase", "Active"),
            age(_meta(o).get("creationTimestamp")),
        ],
    ),
    ("", "configmaps"): (
        [NAME_COL, _col("Data", "integer"), AGE_COL],
        lambda o: [
            _meta(o).get("name"),
            len(o.get("data") or {}) + len(o.get("binaryData") or {}),
            age(_meta(o).get("creationTimestamp")),
        ],
    ),
    ("", "secrets"): (
        [NAME_COL, _col("Type"), _col("Data", "integer"), AGE_COL],
        lambda o: [
            _meta(o).get("name"),
            o.get("type", "Opaque"),
            len(o.get("data") or {}),
            age(_meta(o).get("creationTimestamp")),
        ],
    ),
    ("", "events"): (
        [_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Message")],
        _event_row,
    ),
    ("apiextensions.k8s.io", "customresourcedefinitions"): (
        [NAME_COL, _col("Created At", "date")],
        lambda o: [_meta(o).get("name"), _meta(o).get("creationTimestamp")],
    ),
    ("", "nodes"): ([NAME_COL, _col("Status"), _col("Roles"), AGE_COL, _col("Version")], _node_row),
}


def _crd_cells(info: ResourceInfo, obj: Obj) -> list[Any]:
    cells: list[Any] = [_meta(obj).get("name")]
    for col in info.printer_columns:
        found = jsonpath(obj, col.get("jsonPath", ""))
        if not found or (isinstance(found[0], (dict, list)) and not found[0]):
            cells.append(None)
            continue
        value = found[0]
        if col.get("type") == "date" and isinstance(value, str):
            value = age(value)
        elif col.get("type") == "integer" and isinstance(value, float) and value.is_integer():
            value = int(value)
        cells.append(value)
    return cells


def columns_and_row(info: ResourceInfo) -> tuple[list[Obj], Callable[[Obj], list[Any]]]:
    if not info.builtin and info.printer_columns:
        cols = [NAME_COL] + [
            _col(
                c["name"],
                c.get("type", "string") if c.get("type") != "date" else "date",
                c.get("format", ""),
                c.get("description", ""),
                int(c.get("priority", 0)),
            )
            for c in info.printer_columns
        ]
        return cols, lambda o: _crd_cells(info, o)
    known = BUILTIN_COLUMNS.get((info.group if info.plural != "events" else "", info.plural))
    if known:
        return known
    return [NAME_COL, AGE_COL], lambda o: [_meta(o).get("name"), age(_meta(o).get("creationTimestamp"))]


def row_object(obj: Obj, include: str) -> Obj | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": _meta(obj)}


def to_table(
    info: ResourceInfo,
    objects: list[Obj],
    list_meta: Obj,
    include: str = "Metadata",
    with_columns: bool = True,
) -> Obj:
    cols, cells = columns_and_row(info)
    rows = []
    for obj in objects:
        row: Obj = {"cells": cells(obj)[: len(cols)]}
        ro = row_object(obj, include)
        if ro is not None:
            row["object"] = ro
        rows.append(row)
    table: Obj = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta, "rows": rows}
    table["columnDefinitions"] = cols if with_columns else []
    return table


def wants_table(accept: str) -> bool:
    for part in accept.split(","):
        params = {
            p.split("=", 1)[0].strip(): p.split("=", 1)[1].strip() for p in part.split(";")[1:] if "=" in p
        }
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io":
            return True
        if part.strip().split(";")[0] in ("application/json", "*/*", "application/yaml"):
            return False
    return False
