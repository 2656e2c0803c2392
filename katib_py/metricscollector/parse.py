"""Metric lines to observations: Katib's TEXT (regexp filters) and JSON-lines formats.

Katib's `CollectObservationLog`
(`pkg/metricscollector/v1beta1/file-metricscollector/file-metricscollector.go`), with the default
filter of `pkg/metricscollector/v1beta1/common/const.go`.

Differences from Katib, on purpose (README "Differences from Katib"):
- The default TEXT filter also takes names with `/` and `.`, values with or without a leading
  digit, signs, scientific notation, and `nan` / `inf` (reported as written).
- JSON values may be numbers or strings (Katib ignores numbers).
- A JSON line that is not an object is skipped and counted (Katib's collector fails).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from katib_py.kube import rfc3339

KATIB_DEFAULT_FILTER = r"([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)"
DEFAULT_FILTER = (
    r"([\w|./-]+)\s*=\s*"
    r"([+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[Ee][+-]?\d+)?|(?i:nan|inf(?:inity)?)(?![\w.])))"
)


@dataclass(frozen=True, slots=True)
class Observation:
    """One metric value; `time` is None when the line carried no timestamp."""

    name: str
    value: str
    time: datetime | None = None


class MalformedLine(ValueError):
    """A line that cannot be read at all (skipped and counted by the collector)."""


def compile_filters(filters: Sequence[str]) -> list[re.Pattern[str]]:
    """The TEXT filters; none given (or Katib's default given) means our extended default.

    Each filter needs two groups: the metric name, then the value.
    """
    texts = [f for f in filters if f] or [DEFAULT_FILTER]
    patterns = []
    for text in texts:
        pattern = re.compile(DEFAULT_FILTER if text == KATIB_DEFAULT_FILTER else text)
        if pattern.groups < 2:
            raise ValueError(f"metrics filter {text!r} needs two groups (name, value)")
        patterns.append(pattern)
    return patterns


def _line_time(line: str) -> datetime | None:
    if not line[:1].isdigit():
        return None
    first = line.split(" ", 1)[0]
    if rfc3339.is_timestamp(first):
        return rfc3339.parse(first)
    return None


class TextParser:
    """Katib's TEXT format: lines mentioning a metric name, then each filter's (name, value) matches."""

    def __init__(self, metric_names: Sequence[str], filters: Sequence[str] = ()) -> None:
        self.names = list(dict.fromkeys(metric_names))
        self.wanted = frozenset(self.names)
        self.patterns = compile_filters(filters)

    def mentions_metric(self, line: str) -> bool:
        return any(name in line for name in self.names)

    def parse(self, line: str) -> list[Observation]:
        """Observations of a line; [] for lines that do not mention any metric."""
        if not self.mentions_metric(line):
            return []
        time = _line_time(line)
        found = []
        for pattern in self.patterns:
            for match in pattern.finditer(line):
                name = match.group(1).strip()
                if name in self.wanted:
                    found.append(Observation(name, match.group(2).strip(), time))
        return found


def format_number(value: float | int) -> str:
    """A JSON number as text: ints as written, floats shortest round-trip, `nan`/`inf`/`-inf`."""
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value)


class JsonParser:
    """JSON lines: one object per line; `timestamp` is RFC 3339 text or unix seconds."""

    def __init__(self, metric_names: Sequence[str]) -> None:
        self.names = list(dict.fromkeys(metric_names))

    def parse(self, line: str) -> list[Observation]:
        if not line.strip():
            return []
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise MalformedLine(f"not JSON: {exc}") from None
        if not isinstance(obj, dict):
            raise MalformedLine("JSON line is not an object")
        time = self._time(obj.get("timestamp"))
        found = []
        for name in self.names:
            if name not in obj:
                continue
            value = obj[name]
            if isinstance(value, str):
                found.append(Observation(name, value.strip(), time))
            elif isinstance(value, int | float) and not isinstance(value, bool):
                found.append(Observation(name, format_number(value), time))
        return found

    @staticmethod
    def _time(stamp: object) -> datetime | None:
        if isinstance(stamp, str) and rfc3339.is_timestamp(stamp):
            return rfc3339.parse(stamp)
        if isinstance(stamp, int | float) and not isinstance(stamp, bool) and math.isfinite(stamp):
            try:
                return rfc3339.from_unix(float(stamp))
            except OverflowError:
                return None
        return None
