"""Metric lines to observations: Katib's TEXT (regexp filters) and JSON-lines formats.

Katib's `CollectObservationLog`
(`pkg/metricscollector/v1beta1/file-metricscollector/file-metricscollector.go`), with the default
filter of `pkg/metricscollector/v1beta1/common/const.go`. Filters run on RE2, Katib's engine (Go's
`regexp`), so a line costs time linear in its length whatever the filter; RE2's `\\w`, `\\d`,
`\\s` are ASCII, as in Katib.

Differences from Katib, on purpose (README "Differences from Katib"):
- The default TEXT filter also takes names with `/` and `.`, values with or without a leading
  digit, signs, scientific notation, and `nan` / `inf` (reported as written).
- JSON values may be numbers or strings (Katib ignores numbers).
- A JSON line that is not an object is skipped and counted (Katib's collector fails).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from katib_py.api.collector_flags import compile_filter
from katib_py.kube import rfc3339

KATIB_DEFAULT_FILTER = r"([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)"
# `nan` / `inf` count only when no letter, digit, `_` or `.` follows them (`loss=info` is no value):
# RE2 has no lookahead, so TextFilter checks the byte after such a value itself.
DEFAULT_FILTER = (
    r"([\w|./-]+)\s*=\s*"
    r"([+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[Ee][+-]?\d+)?|(?i:nan|inf(?:inity)?)))"
)
_WORD_OR_DOT = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_.")


@dataclass(frozen=True, slots=True)
class Observation:
    """One metric value; `time` is None when the line carried no timestamp."""

    name: str
    value: str
    time: datetime | None = None


class MalformedLine(ValueError):
    """A line that cannot be read at all (skipped and counted by the collector)."""


class TextFilter:
    """One filter: the (name, value) pairs of a line, found in one left-to-right pass.

    Matches are found as Go's FindAllStringSubmatch and Python's finditer find them (leftmost
    first, no overlap). The C++ RE2 object is called directly on the line's UTF-8 bytes: the
    `re2` module's match objects would cost three times the matching itself.
    """

    def __init__(self, text: str) -> None:
        self.text = DEFAULT_FILTER if text == KATIB_DEFAULT_FILTER else text
        compiled = compile_filter(self.text)
        self.groups: int = compiled.groups
        self._regexp = compiled._regexp
        self._unanchored = type(self._regexp).Anchor.UNANCHORED
        self._guard_words = self.text == DEFAULT_FILTER

    def pairs(self, data: bytes) -> Iterator[tuple[str, str]]:
        """(name, value) of every match, both stripped; a match missing either group is left out."""
        pos, end = 0, len(data)
        while pos <= end:
            spans = self._regexp.Match(self._unanchored, data, pos, end)
            start, stop = spans[0]
            if start < 0:
                return
            (name_start, name_stop), (value_start, value_stop) = spans[1], spans[2]
            if (
                self._guard_words
                and value_stop < end
                and data[value_stop - 1] in _LETTERS
                and data[value_stop] in _WORD_OR_DOT
            ):
                pos = value_start  # `nan`/`inf` run into a word: no match here; go on from the value
                continue
            if name_start >= 0 and value_start >= 0:
                yield (
                    data[name_start:name_stop].decode("utf-8", "replace").strip(),
                    data[value_start:value_stop].decode("utf-8", "replace").strip(),
                )
            if stop > pos:
                pos = stop
            else:  # an empty match: step over one whole UTF-8 character
                pos += 1
                while pos < end and data[pos] & 0xC0 == 0x80:
                    pos += 1


_LETTERS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def compile_filters(filters: Sequence[str]) -> list[TextFilter]:
    """The TEXT filters; none given (or Katib's default given) means our extended default.

    Each filter needs two groups: the metric name, then the value (`FilterError`, a ValueError,
    says what is wrong, in the words admission uses).
    """
    return [TextFilter(text) for text in [f for f in filters if f] or [DEFAULT_FILTER]]


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
        self.filters = compile_filters(filters)

    def mentions_metric(self, line: str) -> bool:
        return any(name in line for name in self.names)

    def parse(self, line: str) -> list[Observation]:
        """Observations of a line; [] for lines that do not mention any metric."""
        if not self.mentions_metric(line):
            return []
        time = _line_time(line)
        data = line.encode("utf-8", "surrogateescape")
        return [
            Observation(name, value, time)
            for text_filter in self.filters
            for name, value in text_filter.pairs(data)
            if name in self.wanted
        ]


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
