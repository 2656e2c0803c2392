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
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain, compress, count, repeat
from operator import and_, is_not

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
        default_only = [f.text for f in self.filters] == [DEFAULT_FILTER]
        self._scan = DefaultFilterScan(self) if default_only else None
        self._mentions = re.compile(
            b"|".join(re.escape(n.encode("utf-8", "surrogatepass")) for n in self.names)
        )

    def read(self, data: bytes, first: int) -> tuple[list[Found], int]:
        """`read_lines` of a block of lines (`LineBlock`), with the same results, faster: the
        default filter over the whole block, other filters only on lines that mention a metric."""
        data = normalized(data)
        if self._scan is not None:
            return self._scan.read(data, first)
        if not self.names:
            return [], 0  # no line mentions a metric
        pieces = data.split(b"\n")
        pieces.pop()
        mentions = self._mentions.search
        return read_lines(
            self,
            [
                (number, piece.decode("utf-8"))
                for number, piece in enumerate(pieces, first)
                if mentions(piece)
            ],
            mentioned=True,
        )

    def mentions_metric(self, line: str) -> bool:
        return any(name in line for name in self.names)

    def parse(self, line: str) -> list[Observation]:
        """Observations of a line; [] for lines that do not mention any metric."""
        if not self.mentions_metric(line):
            return []
        return self.parse_mentioned(line)

    def parse_mentioned(self, line: str) -> list[Observation]:
        """`parse` of a line known to mention a metric."""
        time = _line_time(line)
        data = line.encode("utf-8", "surrogateescape")
        return [
            Observation(name, value, time)
            for text_filter in self.filters
            for name, value in text_filter.pairs(data)
            if name in self.wanted
        ]


Found = tuple[str, str, str]  # metric name, value, RFC 3339 time


def time_text(observation_time: datetime | None, line_number: int) -> str:
    """The observation's own time, else the zero time plus `line_number` microseconds."""
    if observation_time is not None:
        return rfc3339.format(observation_time)
    return rfc3339.zero_time_plus(line_number)


def read_lines(
    parser: TextParser | JsonParser, lines: Iterable[tuple[int, str]], mentioned: bool = False
) -> tuple[list[Found], int]:
    """The plain path, line by line: (name, value, time) of every metric found, and how many lines
    were unreadable (not JSON; or TEXT mentioning a metric and holding `=` but giving no value).
    `mentioned`: the TEXT lines are known to mention a metric."""
    found: list[Found] = []
    unreadable = 0
    text_lines = isinstance(parser, TextParser)
    parse = parser.parse_mentioned if mentioned and isinstance(parser, TextParser) else parser.parse
    for number, text in lines:
        try:
            observations = parse(text)
        except MalformedLine:
            unreadable += 1
            continue
        if not observations:
            if text_lines and "=" in text and (mentioned or parser.mentions_metric(text)):  # type: ignore[union-attr]
                unreadable += 1
            continue
        untimed = ""
        for o in observations:
            if o.time is None:
                untimed = untimed or rfc3339.zero_time_plus(number)
                found.append((o.name, o.value, untimed))
            else:
                found.append((o.name, o.value, rfc3339.format(o.time)))
    return found, unreadable


def normalized(data: bytes) -> bytes:
    """Lines' bytes as the plain path sees them: invalid UTF-8 replaced, `\\r`s before a newline cut."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        data = data.decode("utf-8", "replace").encode("utf-8")
    if b"\r\n" in data:
        data = b"\n".join(piece.rstrip(b"\r") for piece in data.split(b"\n"))
    return data


# The default filter cut at its `=`: every match holds exactly one `=`, the name being the run of
# name characters before it (after blanks), the value what follows it (after blanks). One C-level
# `findall` per direction gives both for every `=` of a block; no blank here is a newline, so
# nothing joins two lines. Python's `re` is safe on these, unlike on a user's filter: each match
# starts at a literal `=` and never backtracks further than the run it stands on.
_NAME_CHAR = rb"[\w|./-]"
_VALUE = rb"[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[Ee][+-]?\d+)?|(?i:nan|inf(?:inity)?))"
_BLANKS = rb"[\t\f\r ]*"  # RE2's \\s without the newline (RE2's \\s has no \\v)
_FORWARD = re.compile(rb"=" + _BLANKS + rb"(" + _VALUE + rb"|)")
# A value (as the default filter takes it: no backtracking into it) running into a name character.
_VALUE_RUNS_ON = re.compile(rb"=" + _BLANKS + rb"(?>" + _VALUE + rb")" + _NAME_CHAR)
_BACKWARD = re.compile(rb"=" + _BLANKS + rb"(" + _NAME_CHAR + rb"*)")
_MAY_BE_DIGIT = frozenset(b"0123456789") | frozenset(range(0x80, 0x100))  # str.isdigit() of a first character


class DefaultFilterScan:
    """The default filter over a whole block of lines at once, with the per-line path's results.

    Per `=` of the block: its line's number (from each line's count of `=`), the name before it
    and the value after it, each list built by C code; Python code runs once per metric found.
    Where a value runs straight into a name character (`loss=1e`, `loss=info`, `a=1b=2`), RE2's
    left-to-right matching can start the next match inside that run, so such a line is read by
    the plain path. A line holding `=` and a metric name but no value of a wanted metric is
    counted unreadable, as on the plain path.
    """

    def __init__(self, parser: TextParser) -> None:
        self.parser = parser
        self.reversed_names = {name.encode("utf-8", "surrogatepass")[::-1]: name for name in parser.names}
        self.encoded_names = [name.encode("utf-8", "surrogatepass") for name in parser.names]

    def read(self, data: bytes, first: int) -> tuple[list[Found], int]:
        if b"=" not in data:
            return [], 0
        lines = data.split(b"\n")
        lines.pop()
        if _VALUE_RUNS_ON.search(data):
            return self._split_at_runs(lines, first)
        equals = list(map(bytes.count, lines, repeat(b"=")))
        names = _BACKWARD.findall(data[::-1])
        names.reverse()
        numbers = chain.from_iterable(map(repeat, count(first), equals))  # the line of each `=`
        wanted = list(map(self.reversed_names.get, names))
        values = _FORWARD.findall(data)
        hit = list(map(and_, map(is_not, wanted, repeat(None)), map(bool, values)))
        found: list[Found] = []
        stamps: dict[int, str] = {}
        if any(hit):
            hit_numbers = list(compress(numbers, hit))
            stamps = self._stamps(lines, first, list(dict.fromkeys(hit_numbers)))
            texts = b"\0".join(compress(values, hit)).decode("ascii").split("\0")  # one decode for all
            found = list(zip(compress(wanted, hit), texts, map(stamps.__getitem__, hit_numbers), strict=True))  # type: ignore[arg-type]
        unsure = [
            lines[number - first] for number, n in zip(count(first), equals) if n and number not in stamps
        ]
        unreadable = sum(1 for line in unsure if any(name in line for name in self.encoded_names))
        return found, unreadable

    @staticmethod
    def _stamps(lines: list[bytes], first: int, numbers: list[int]) -> dict[int, str]:
        """The time text of each of these lines: its leading timestamp, else the zero time plus its number."""
        dated = [n for n in numbers if lines[n - first][0] in _MAY_BE_DIGIT]
        stamps = dict(zip(numbers, rfc3339.zero_times_plus(numbers), strict=True))
        for number in dated:
            stamps[number] = time_text(_line_time(lines[number - first].decode("utf-8")), number)
        return stamps

    def _split_at_runs(self, lines: list[bytes], first: int) -> tuple[list[Found], int]:
        """The lines where a value runs into a name read the plain way; the lines between, in bulk."""
        plain = [number for number, line in enumerate(lines, first) if _VALUE_RUNS_ON.search(line)]
        found: list[Found] = []
        unreadable = 0
        start = first
        for number in [*plain, first + len(lines)]:
            if number > start:
                part = self.read(
                    b"".join(line + b"\n" for line in lines[start - first : number - first]), start
                )
                found += part[0]
                unreadable += part[1]
            if number < first + len(lines):
                part = read_lines(self.parser, [(number, lines[number - first].decode("utf-8"))])
                found += part[0]
                unreadable += part[1]
            start = number + 1
        return found, unreadable


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
