"""What the UI's JSON API answers, computed from Kubernetes objects (pure: no I/O, tested alone).

Experiment and trial rows for the tables, the page/filter/sort rules of the paginated lists, the
budget edit's validation, and the field paths of an admission rejection. The objects are plain
dicts as the API server sends them (the UI reads, it never round-trips through the models, so a
field it does not know is shown unchanged in the YAML view).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from katib_py.kube import rfc3339

Obj = dict[str, Any]

EXPERIMENT_LABEL = (
    "katib.kubeflow.org/experiment"  # Katib's pkg/controller.v1beta1/consts LabelExperimentName
)
# The terminal and running condition types of a Trial, in the order Katib's trial_types.go checks them.
TRIAL_STATES = ("Succeeded", "Failed", "Killed", "EarlyStopped", "MetricsUnavailable", "Running", "Created")
BUDGET_FIELDS = ("maxTrialCount", "parallelTrialCount", "maxFailedTrialCount")
MAX_PAGE = 1000


class BadQuery(ValueError):
    """A query parameter or body the API refuses (answered with 400 and this message)."""


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _status(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    status = obj.get("status")
    return status if isinstance(status, Mapping) else {}


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def _sub(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, Mapping) else {}


def state(obj: Mapping[str, Any]) -> str:
    """The object's state: the type of its last condition whose status is True (Katib's
    getLastConditionType), "Pending" while it has none."""
    conditions = _status(obj).get("conditions") or []
    for cond in reversed(conditions):
        if isinstance(cond, Mapping) and cond.get("status") == "True":
            return str(cond.get("type") or "Pending")
    return "Pending"


def age_seconds(obj: Mapping[str, Any], now: datetime) -> float | None:
    created = _meta(obj).get("creationTimestamp")
    if not isinstance(created, str):
        return None
    try:
        when = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (now - when).total_seconds())


def metric_value(observation: Any, name: str, which: str = "latest") -> float | None:
    """One metric of an observation as a float (None when absent or not a number)."""
    if not isinstance(observation, Mapping):
        return None
    for metric in observation.get("metrics") or []:
        if isinstance(metric, Mapping) and metric.get("name") == name:
            return _number(metric.get(which))
    return None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def experiment_row(exp: Mapping[str, Any], now: datetime) -> Obj:
    """One line of the experiment list: status, algorithm, trials by state, best value, age."""
    spec, status = _spec(exp), _status(exp)
    objective = _sub(spec, "objective")
    metric = str(objective.get("objectiveMetricName") or "")
    optimal = _sub(status, "currentOptimalTrial")
    algorithm = _sub(spec, "algorithm")
    return {
        "namespace": str(_meta(exp).get("namespace") or ""),
        "name": str(_meta(exp).get("name") or ""),
        "status": state(exp),
        "algorithm": str(algorithm.get("algorithmName") or ""),
        "objective": {"type": str(objective.get("type") or ""), "metric": metric},
        "trials": {
            "total": int(status.get("trials") or 0),
            "running": int(status.get("trialsRunning") or 0),
            "pending": int(status.get("trialsPending") or 0),
            "succeeded": int(status.get("trialsSucceeded") or 0),
            "failed": int(status.get("trialsFailed") or 0),
            "killed": int(status.get("trialsKilled") or 0),
            "earlyStopped": int(status.get("trialsEarlyStopped") or 0),
            "metricsUnavailable": int(status.get("trialMetricsUnavailable") or 0),
        },
        "budget": {field: spec.get(field) for field in BUDGET_FIELDS},
        "bestTrial": str(optimal.get("bestTrialName") or ""),
        "bestValue": metric_value(optimal.get("observation"), metric),
        "ageSeconds": age_seconds(exp, now),
        "created": _meta(exp).get("creationTimestamp"),
    }


def trial_row(trial: Mapping[str, Any], metric_names: Iterable[str]) -> Obj:
    """One line of the trials table: state, every parameter and every metric (latest value)."""
    spec, status = _spec(trial), _status(trial)
    params: dict[str, str] = {}
    for item in spec.get("parameterAssignments") or []:
        if isinstance(item, Mapping) and item.get("name") is not None:
            params[str(item["name"])] = str(item.get("value"))
    observation = status.get("observation")
    metrics = {name: metric_value(observation, name) for name in metric_names}
    return {
        "name": str(_meta(trial).get("name") or ""),
        "state": state(trial),
        "parameters": params,
        "metrics": metrics,
        "start": status.get("startTime"),
        "completion": status.get("completionTime"),
        "created": _meta(trial).get("creationTimestamp"),
    }


def metric_names(exp: Mapping[str, Any]) -> list[str]:
    """The objective metric first, then the additional metrics and objectives, without repeats."""
    objective = _spec(exp).get("objective")
    if not isinstance(objective, Mapping):
        return []
    names = [str(objective.get("objectiveMetricName") or "")]
    names += [str(n) for n in objective.get("additionalMetricNames") or []]
    for extra in objective.get("additionalObjectives") or []:
        if isinstance(extra, Mapping) and extra.get("objectiveMetricName"):
            names.append(str(extra["objectiveMetricName"]))
    return [n for n in dict.fromkeys(names) if n]


def parse_int(query: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    raw = query.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadQuery(f"{key} must be an integer, got {raw[:40]!r}") from None
    if not low <= value <= high:
        raise BadQuery(f"{key} must be between {low} and {high}, got {value}")
    return value


def parse_float(query: Mapping[str, str], key: str) -> float | None:
    raw = query.get(key)
    if raw is None or raw == "":
        return None
    value = _number(raw)
    if value is None:
        raise BadQuery(f"{key} must be a finite number, got {raw[:40]!r}")
    return value


def page(items: list[Obj], query: Mapping[str, str]) -> Obj:
    """`offset`/`limit` paging of an already sorted list: {items, total, offset, next}."""
    limit = parse_int(query, "limit", 100, 1, MAX_PAGE)
    offset = parse_int(query, "offset", 0, 0, 1 << 31)
    chunk = items[offset : offset + limit]
    nxt = offset + limit if offset + limit < len(items) else None
    return {"items": chunk, "total": len(items), "offset": offset, "next": nxt}


def _sort_key(column: str) -> Callable[[Obj], tuple[int, Any]]:
    group, _, name = column.partition(":")

    def key(row: Obj) -> tuple[int, Any]:
        if group in ("parameter", "metric"):
            raw = row["parameters" if group == "parameter" else "metrics"].get(name)
        else:
            raw = row.get(column)
        number = _number(raw)
        if number is not None:
            return (0, number)
        return (1, "" if raw is None else str(raw))

    return key


def select_trials(rows: list[Obj], query: Mapping[str, str]) -> list[Obj]:
    """Filter (`state`, comma-separated; `metric` between `min` and `max`) and sort (`sort`, `order`).

    `sort` is `name`, `state`, `start`, `completion`, `parameter:NAME` or `metric:NAME`.
    """
    states = {s for s in (query.get("state") or "").split(",") if s}
    unknown = states - {*TRIAL_STATES, "Pending"}
    if unknown:
        raise BadQuery(f"state must be among {', '.join((*TRIAL_STATES, 'Pending'))}, got {sorted(unknown)}")
    low, high = parse_float(query, "min"), parse_float(query, "max")
    metric = query.get("metric") or ""
    if (low is not None or high is not None) and not metric:
        raise BadQuery("min and max filter a metric: give metric=NAME too")
    selected = []
    for row in rows:
        if states and row["state"] not in states:
            continue
        if metric:
            value = row["metrics"].get(metric)
            if value is None and (low is not None or high is not None):
                continue
            if low is not None and value < low:
                continue
            if high is not None and value > high:
                continue
        selected.append(row)
    sort = query.get("sort") or "created"
    group = sort.partition(":")[0]
    if sort not in ("name", "state", "start", "completion", "created") and group not in (
        "parameter",
        "metric",
    ):
        raise BadQuery("sort must be name, state, start, completion, created, parameter:NAME or metric:NAME")
    order = query.get("order") or "asc"
    if order not in ("asc", "desc"):
        raise BadQuery(f"order must be asc or desc, got {order[:20]!r}")
    key = _sort_key(sort)
    # Rows without the value (a metric not reported yet) come last in either order.
    present = [r for r in selected if key(r)[1] != ""]
    missing = [r for r in selected if key(r)[1] == ""]
    present.sort(key=key, reverse=order == "desc")
    return present + missing


def budget_patch(body: Any) -> Obj:
    """The merge patch of a budget edit; BadQuery for anything but the three counts as positive ints."""
    if not isinstance(body, Mapping) or not body:
        raise BadQuery(f"the body must be an object with some of {', '.join(BUDGET_FIELDS)}")
    spec: Obj = {}
    for key, value in body.items():
        if key not in BUDGET_FIELDS:
            raise BadQuery(f"{str(key)[:40]!r} is not a budget field ({', '.join(BUDGET_FIELDS)})")
        if value is None:
            spec[key] = None
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value > 1_000_000:
            raise BadQuery(f"{key} must be an integer from 1 to 1000000, got {str(value)[:40]!r}")
        spec[key] = value
    return {"spec": spec}


def admission_causes(status_body: Any) -> list[Obj]:
    """The field paths and messages of a rejection.

    The API server's own validation lists them in the Status' details.causes; a webhook's denial
    is one message, `admission webhook "NAME" denied the request: PATH: WHY; PATH: WHY` (the
    katib-py validator joins its FieldErrors with "; ", as Katib's aggregate error does).
    """
    if not isinstance(status_body, Mapping):
        return [{"field": "", "message": str(status_body)[:2000]}]
    details = _sub(status_body, "details")
    causes = [
        {"field": str(c.get("field") or ""), "message": str(c.get("message") or c.get("reason") or "")}
        for c in details.get("causes") or []
        if isinstance(c, Mapping)
    ]
    if causes:
        return causes
    message = str(status_body.get("message") or "")
    _, denied, reasons = message.partition("denied the request: ")
    if not denied:
        return [{"field": "", "message": message}]
    found = []
    for part in reasons.split("; "):
        match = _FIELD_ERROR.match(part)
        found.append({"field": match[1], "message": match[2]} if match else {"field": "", "message": part})
    return found


_FIELD_ERROR = re.compile(r"^((?:metadata|spec)(?:\.[A-Za-z0-9_]+|\[\d+\])*): (.*)$", re.S)


def trial_events(events: list[Obj]) -> list[Obj]:
    """The events of an object, oldest first, as table rows."""
    rows = []
    for event in events:
        rows.append(
            {
                "type": str(event.get("type") or ""),
                "reason": str(event.get("reason") or ""),
                "message": str(event.get("message") or ""),
                "count": int(event.get("count") or 1),
                "time": event.get("lastTimestamp")
                or event.get("eventTime")
                or _meta(event).get("creationTimestamp"),
            }
        )
    rows.sort(key=lambda r: str(r["time"] or ""))
    return rows


def condition_time(obj: Mapping[str, Any], condition_type: str) -> str | None:
    """When a condition last became True (for where an early-stopping rule fired)."""
    for cond in _status(obj).get("conditions") or []:
        if isinstance(cond, Mapping) and cond.get("type") == condition_type and cond.get("status") == "True":
            return str(cond.get("lastTransitionTime") or "") or None
    return None


def metric_series(logs: Iterable[Mapping[str, Any]]) -> dict[str, list[tuple[datetime | float, float]]]:
    """Observation logs ({time, name, value} as db-manager stores them) as one series per metric.

    x is the report's time (naive UTC: plotly.js misreads an ISO time with an offset), or, for a
    metric with a report at Go's zero time (Katib's collectors store `0001-01-01T00:00:00Z` for a
    line without a timestamp), the report's step: 1, 2, ... in the order db-manager returns them.
    A value that is not a finite number (a DARTS genotype) or a line with a broken time is left out.
    """
    series: dict[str, list[tuple[datetime, float]]] = {}
    for log in logs:
        value = _number(log.get("value"))
        try:
            when = rfc3339.parse(str(log.get("time") or ""))
        except (ValueError, OverflowError):
            continue
        if value is not None:
            series.setdefault(str(log.get("name") or ""), []).append((when, value))
    out: dict[str, list[tuple[datetime | float, float]]] = {}
    for name, points in series.items():
        if any(when.year <= 1 for when, _ in points):
            out[name] = [(float(step), value) for step, (_, value) in enumerate(points, start=1)]
        else:
            out[name] = [(when, value) for when, value in points]
    return out
