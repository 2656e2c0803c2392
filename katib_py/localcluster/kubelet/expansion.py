"""`$(VAR)` expansion exactly as Kubernetes expands env values, command and args.

Rules (k8s third_party/forked/golang/expansion): `$(NAME)` becomes the value of NAME when NAME is
defined and stays as written otherwise; `$$` is an escaped `$`, so `$$(NAME)` yields the literal
`$(NAME)`; an unterminated `$(` and a `$` before any other character are kept unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence


def expand(text: str, lookup: Callable[[str], str | None]) -> str:
    """Expand one string; `lookup(name)` returns None for an undefined variable."""
    out: list[str] = []
    checkpoint = 0
    cursor = 0
    n = len(text)
    while cursor < n:
        if text[cursor] == "$" and cursor + 1 < n:
            out.append(text[checkpoint:cursor])
            nxt = text[cursor + 1]
            advance = 1
            if nxt == "$":
                out.append("$")
            elif nxt == "(":
                close = text.find(")", cursor + 2)
                if close == -1:
                    out.append("$(")
                else:
                    name = text[cursor + 2 : close]
                    value = lookup(name)
                    out.append(f"$({name})" if value is None else value)
                    advance = close - cursor
            else:
                out.append("$" + nxt)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    out.append(text[checkpoint:])
    return "".join(out)


def expand_all(items: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """Expand each command/args item against the container's final environment."""
    return [expand(item, env.get) for item in items]
