"""What the metrics collector sidecar is given: RE2 filters and `;`-joined flag lists.

One module for both sides, so that admission accepts exactly what the collector runs, and the
pod webhook joins lists the way the collector splits them.

Filters are RE2, as in Katib (Go's `regexp` in
`pkg/metricscollector/v1beta1/file-metricscollector/file-metricscollector.go`): matching takes time
linear in the line, where Python `re` backtracks (a 200 KB line of one word held a collector for
minutes). RE2 refuses what it cannot run in linear time (lookaround, backreferences, possessive
quantifiers), and its `\\w`, `\\d`, `\\s` are ASCII, as in Go.

`-m` (metric names) and `-f` (filters) are lists joined with `;` (`inject_webhook.go`), which
Katib's collector splits on every `;`, so a name containing `;` cannot reach it. Here a `;`
preceded by an odd number of backslashes belongs to the item: `join_flag_list` writes `;` inside
an item as `\\;`, and a list whose items hold no `;` (and, but for the last, end in no backslash)
comes out byte-identical to Katib's join.
Filters are split the same way: `\\;` in RE2 is `;` anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import re2

_BACKSLASHES_THEN_SEMICOLON = re2.compile(r"(\\*);")


class FilterError(ValueError):
    """A metrics filter the collector could not run."""


def filter_options() -> Any:
    """RE2's defaults (UTF-8, leftmost-first like Go), without RE2 writing parse errors to stderr."""
    options = re2.Options()
    options.log_errors = False
    return options


def compile_filter(text: str) -> Any:
    """The compiled filter (an `re2` pattern); FilterError says why RE2 refuses it or why it is unusable.

    A filter needs two groups: the metric name, then the value.
    """
    try:
        pattern = re2.compile(text, filter_options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise FilterError(f"invalid filter {text!r}: RE2 syntax: {reason}") from None
    if pattern.groups < 2:
        raise FilterError(
            f"two top subexpressions are required: a filter needs two groups (metric name, then value); "
            f"{text!r} has {pattern.groups}"
        )
    return pattern


def join_flag_list(items: Iterable[str]) -> str:
    """The items joined with `;` as Katib joins them; a `;` inside an item is written `\\;`.

    Backslashes that come before a `;` (inside an item, or at the end of an item that another
    follows) are doubled, so that `split_flag_list` gives every item back.
    """
    escaped = [_BACKSLASHES_THEN_SEMICOLON.sub(lambda m: m.group(1) * 2 + "\\;", item) for item in items]
    for index in range(len(escaped) - 1):
        trailing = len(escaped[index]) - len(escaped[index].rstrip("\\"))
        escaped[index] += "\\" * trailing
    return ";".join(escaped)


def split_flag_list(text: str) -> list[str]:
    """The items of a `;`-joined list; empty items are left out, as in Katib.

    A `;` after an odd number of backslashes belongs to its item; a run of backslashes before a
    `;` is halved (the join doubled it) and the escaping one dropped. A filter written `\\;` (RE2's
    escaped `;`) therefore reads as `;`, the same pattern.
    """
    items: list[str] = []
    current: list[str] = []
    start = 0
    for match in _BACKSLASHES_THEN_SEMICOLON.finditer(text):
        slashes = len(match.group(1))
        current.append(text[start : match.start()] + "\\" * (slashes // 2))
        start = match.end()
        if slashes % 2:
            current.append(";")
            continue
        items.append("".join(current))
        current = []
    current.append(text[start:])
    items.append("".join(current))
    return [item for item in items if item]
