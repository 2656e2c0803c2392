"""Trial parameter values in shell text: data, never code.

The Pod webhook runs the primary container under `sh -c` with its argv joined by spaces
(Katib: `wrapWorkerContainer` in pkg/webhook/v1beta1/pod/inject_webhook.go), so the author's
arguments are shell text, as in Katib: `--x="${trialParameters.x}"` relies on the shell removing
the quotes. Katib substitutes the values raw, so a value `0.1; touch /tmp/x` runs a command. Here a
value is escaped for the shell context it lands in (bare, inside double quotes, inside single
quotes), found by scanning the author's text that precedes it, so the shell hands the program the
value as it is. A benign value gives the same argv as Katib.

An argv is kept as segments (`Part`s): the author's text, and the values substituted into it
(`Value`), recorded when the trial is rendered (katib_py.core.template).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any


@dataclass(frozen=True)
class Value:
    """A substituted trial parameter value."""

    value: str


Part = str | Value
Element = tuple[Part, ...]  # one argv element
Argv = tuple[Element, ...]


class Context(Enum):
    BARE = "bare"
    DOUBLE = "double"  # inside "..."
    SINGLE = "single"  # inside '...'


_SAFE_BARE = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")


def escape(value: str, context: Context) -> str:
    """`value` written so that the shell reads it back literally in `context`."""
    if context is Context.SINGLE:
        return value.replace("'", "'\\''")  # close, an escaped quote, reopen
    if context is Context.DOUBLE:
        return re.sub(r'([\\"$`])', r"\\\1", value)
    if _SAFE_BARE.fullmatch(value):
        return value
    return "'" + value.replace("'", "'\\''") + "'"


class _Scanner:
    """The quoting state of POSIX shell text read so far (quotes, backslashes, `$(`/backquote nesting)."""

    def __init__(self) -> None:
        self._stack: list[str] = []  # '"', "'", "$(", "`"
        self._escaped = False
        self._dollar = False

    @property
    def context(self) -> Context:
        top = self._stack[-1] if self._stack else ""
        if top == "'":
            return Context.SINGLE
        if top == '"':
            return Context.DOUBLE
        return Context.BARE

    def feed(self, text: str) -> None:
        for ch in text:
            top = self._stack[-1] if self._stack else ""
            if self._escaped:
                self._escaped = False
                self._dollar = False
                continue
            if top == "'":
                if ch == "'":
                    self._stack.pop()
                continue
            if ch == "\\":
                self._escaped = True
                self._dollar = False
                continue
            if ch == "(" and self._dollar:
                self._stack.append("$(")
            elif ch == ")" and top == "$(":
                self._stack.pop()
            elif ch == "`":
                if top == "`":
                    self._stack.pop()
                else:
                    self._stack.append("`")
            elif ch == '"':
                if top == '"':
                    self._stack.pop()
                else:
                    self._stack.append('"')
            elif ch == "'" and top != '"':
                self._stack.append("'")
            self._dollar = ch == "$"


def shell_text(elements: Iterable[Element]) -> str:
    """The elements joined by spaces as Katib joins them, each value escaped for its context."""
    scanner = _Scanner()
    out: list[str] = []
    for i, element in enumerate(elements):
        if i:
            out.append(" ")
            scanner.feed(" ")
        for part in element:
            text = escape(part.value, scanner.context) if isinstance(part, Value) else part
            out.append(text)
            scanner.feed(text)
    return "".join(out)


def plain(element: Element) -> str:
    """The element as rendered: the author's text with the values as they are."""
    return "".join(p.value if isinstance(p, Value) else p for p in element)


def match(argv: Sequence[str], candidates: Iterable[Argv]) -> Argv | None:
    """The recorded argv whose plain rendering is `argv`, if any."""
    for candidate in candidates:
        if len(candidate) == len(argv) and all(plain(e) == a for e, a in zip(candidate, argv, strict=True)):
            return candidate
    return None


# ---------------------------------------------------------------- the Trial annotation


ARGV_ANNOTATION = "katib-py.kubeflow.org/primary-argv"


def encode(argvs: Iterable[Argv]) -> list[list[list[Any]]]:
    """JSON form: per argv, per element, its parts (a string, or {"value": ...})."""
    return [[[{"value": p.value} if isinstance(p, Value) else p for p in e] for e in argv] for argv in argvs]


def decode(data: Any) -> list[Argv]:
    """The argvs of `encode`'s form; anything malformed is dropped (the caller falls back)."""
    out: list[Argv] = []
    if not isinstance(data, list):
        return out
    for argv in data:
        if not isinstance(argv, list):
            continue
        elements: list[Element] = []
        for element in argv:
            if not isinstance(element, list):
                break
            parts: list[Part] = []
            for part in element:
                if isinstance(part, str):
                    parts.append(part)
                elif isinstance(part, dict) and isinstance(part.get("value"), str):
                    parts.append(Value(part["value"]))
                else:
                    break
            else:
                elements.append(tuple(parts))
                continue
            break
        else:
            out.append(tuple(elements))
    return out
