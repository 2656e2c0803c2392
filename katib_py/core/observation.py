"""A trial's observation from its metric logs, and the objective value read from it.

Katib's `getMetrics` (`pkg/controller.v1beta1/trial/trial_controller_util.go`): only the metrics
with a strategy (the objective and the additional metrics) count; each starts as min = max = latest
= "unavailable"; numeric values move min and max, and `latest` is the value with the newest
timestamp (on equal timestamps the later log wins). Values are kept as the strings they were
reported as, so string metrics survive.

The objective value is Katib's `getObjectiveMetricValue`
(`pkg/controller.v1beta1/experiment/util/status_util.go`), and numbers are told from strings as
Go's `strconv.ParseFloat` does.

Difference from Katib (README "Differences from Katib"): `nan` and `±inf` are reported as they are
in `latest` but never become min or max, so such a value is never chosen as the best. A timestamp
that is not RFC 3339 counts as the zero time instead of failing the whole observation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from katib_py.api.models import Metric, MetricStrategy, ObjectiveSpec, Observation

UNAVAILABLE = "unavailable"

_GO_FLOAT = re.compile(
    r"^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|infinity|nan)$", re.IGNORECASE
)
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$"
)
_EPOCH = datetime(1, 1, 1)


@dataclass(frozen=True)
class MetricLog:
    """One reported value, as the db-manager's GetObservationLog returns it."""

    time: str
    name: str
    value: str


def parse_metric_value(text: str) -> float | None:
    """Go's strconv.ParseFloat, as Katib uses it to tell numeric metrics from string metrics."""
    t = text.strip()
    if t != text or not _GO_FLOAT.match(t):
        return None
    return float(t)


def reduce_metric_logs(logs: Iterable[MetricLog], strategies: list[MetricStrategy]) -> Observation:
    """One Metric (min, max, latest) per strategy name, in the strategies' order."""
    names = [s.name or "" for s in strategies]
    metrics = {
        name: Metric(name=name, min=UNAVAILABLE, max=UNAVAILABLE, latest=UNAVAILABLE) for name in names
    }
    best: dict[str, tuple[float, float]] = {}  # name -> (min, max) of the finite values seen
    newest: dict[str, int] = {}
    for log in logs:
        metric = metrics.get(log.name)
        if metric is None:
            continue
        number = parse_metric_value(log.value)
        if number is not None and math.isfinite(number):
            if log.name not in best:
                best[log.name] = (number, number)
                metric.min = metric.max = log.value
            else:
                low, high = best[log.name]
                if number < low:
                    best[log.name] = (number, high)
                    metric.min = log.value
                elif number > high:
                    best[log.name] = (low, number)
                    metric.max = log.value
        stamp = _timestamp_ns(log.time)
        if log.name not in newest or newest[log.name] <= stamp:
            newest[log.name] = stamp
            metric.latest = log.value
    return Observation(metrics=[metrics[name] for name in dict.fromkeys(names)])


def objective_value(observation: Observation | None, objective: ObjectiveSpec) -> str | None:
    """Katib's getObjectiveMetricValue: the value the objective's strategy picks, as reported.

    `min`/`max` fall back to `latest` while no numeric value was seen. None when there is no
    observation, no such metric, or the value is "unavailable": such a trial is skipped when the
    best trial is chosen.
    """
    if observation is None or not observation.metrics:
        return None
    name = objective.objective_metric_name
    strategy = next((s.value for s in objective.metric_strategies or [] if s.name == name), None)
    for metric in observation.metrics:
        if metric.name != name:
            continue
        if strategy == "min":
            value = metric.latest if metric.min == UNAVAILABLE else metric.min
        elif strategy == "max":
            value = metric.latest if metric.max == UNAVAILABLE else metric.max
        elif strategy == "latest":
            value = metric.latest
        else:
            return None
        return None if value is None or value == UNAVAILABLE else value
    return None


def is_observation_available(observation: Observation | None, objective_metric_name: str | None) -> bool:
    """True when the objective metric has a reported (not "unavailable") latest value."""
    if observation is None or not observation.metrics:
        return False
    return any(
        m.name == objective_metric_name and m.latest not in (None, UNAVAILABLE) for m in observation.metrics
    )


def _timestamp_ns(text: str) -> int:
    """Nanoseconds since 0001-01-01 UTC for an RFC3339Nano timestamp; 0 when it is not one."""
    m = _RFC3339.match(text or "")
    if m is None:
        return 0
    try:
        year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
        moment = datetime(year, month, day, hour, minute, second)
        if m.group(8):
            offset = timedelta(hours=int(m.group(9)), minutes=int(m.group(10)))
            moment = moment - offset if m.group(8) == "+" else moment + offset
    except (ValueError, OverflowError):
        return 0
    delta = moment - _EPOCH
    nanos = int((m.group(7) or "0").ljust(9, "0"))
    return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + nanos
