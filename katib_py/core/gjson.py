"""A GJSON path evaluator (github.com/tidwall/gjson syntax) over parsed JSON values.

Katib decides whether a trial's job succeeded or failed by evaluating the user's (or the default)
`successCondition` / `failureCondition` GJSON expressions against the job object
(`GetDeployedJobStatus` in `pkg/controller.v1beta1/trial/util/job_util.go`), so a Katib user's
expressions must mean here exactly what they mean there. No maintained Python library implements
GJSON's query language, hence this module.

Supported: dotted paths with `\\` escapes and `*` / `?` key wildcards; array indexes; `#`
(count, or `#.path` to map a path over the elements); first-match `#(...)` and all-match
`#(...)#` queries with `==` (or `=`), `!=`, `<`, `<=`, `>`, `>=`, `%` (like), `!%` (not like),
the `~` truthiness operators and nested query paths; the `|` pipe (and `.` vs `|` after `#`
and queries, as gjson distinguishes them); multipaths `[a,b]` and `{a,"k":b}`; `!` literals;
the modifiers `@this`, `@reverse`, `@flatten`, `@join`, `@keys`, `@values`, `@valid`, `@ugly`,
`@pretty`, `@tostr` and `@fromstr`.

`get(value, path)` works on Python values (dicts keep their key order, which gjson follows
for wildcards); `get_json(text, path)` parses JSON text first.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

_MISSING: Any = object()
_DECODER = json.JSONDecoder()


class Result:
    """What a path found, with gjson's Result semantics (a missing value is not `null`)."""

    __slots__ = ("_value",)

    def __init__(self, value: Any = _MISSING) -> None:
        self._value = value

    @property
    def exists(self) -> bool:
        return self._value is not _MISSING

    @property
    def value(self) -> Any:
        """The Python value found (None when nothing was found or the value is null)."""
        return None if self._value is _MISSING else self._value

    @property
    def type(self) -> str:
        """gjson's type name: Null, False, Number, String, True or JSON."""
        return _type_of(self._value)

    def is_array(self) -> bool:
        return isinstance(self._value, list)

    def is_object(self) -> bool:
        return isinstance(self._value, dict)

    def array(self) -> list[Result]:
        """The elements of an array; a scalar is a one-element array; null, missing or an object: []."""
        v = self._value
        if isinstance(v, list):
            return [Result(e) for e in v]
        if v is _MISSING or v is None or isinstance(v, dict):
            return []
        return [self]

    def map(self) -> dict[str, Result]:
        v = self._value
        return {k: Result(e) for k, e in v.items()} if isinstance(v, dict) else {}

    def string(self) -> str:
        """gjson's Result.String(): strings unquoted, JSON as compact text, missing/null as ""."""
        v = self._value
        if v is _MISSING or v is None:
            return ""
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return v
        if isinstance(v, int | float):
            return _number_text(v)
        return json.dumps(v, separators=(",", ":"), ensure_ascii=False)

    def get(self, path: str) -> Result:
        return _get(self._value, path) if self.exists else Result()

    def __repr__(self) -> str:
        return f"Result({self.string()!r})" if self.exists else "Result(<missing>)"


def get(document: Any, path: str) -> Result:
    """Evaluate a GJSON path against a parsed JSON value."""
    return _get(document, path)


def get_json(text: str, path: str) -> Result:
    """Evaluate a GJSON path against JSON text."""
    return _get(json.loads(text), path)


# ---------------------------------------------------------------- values


def _type_of(v: Any) -> str:
    if v is _MISSING or v is None:
        return "Null"
    if v is True:
        return "True"
    if v is False:
        return "False"
    if isinstance(v, int | float):
        return "Number"
    if isinstance(v, str):
        return "String"
    return "JSON"


def _number_text(v: int | float) -> str:
    if isinstance(v, int):
        return str(v)
    return str(int(v)) if v.is_integer() else repr(v)


_GO_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|infinity|nan)$", re.I)


def _go_parse_float(text: str) -> float:
    """strconv.ParseFloat as gjson uses it: an unparsable text counts as 0."""
    t = text.strip()
    return float(t) if _GO_FLOAT.match(t) else 0.0


# ---------------------------------------------------------------- the walk


def _get(cur: Any, path: str) -> Result:
    if not path or cur is _MISSING:
        return Result()
    head = path[0]
    if head == "@":
        name, arg, rest = _split_modifier(path)
        modifier = _MODIFIERS.get(name)
        if modifier is not None:
            return _pipe(modifier(cur, arg), rest)
    if head == "!":
        literal, rest = _split_literal(path)
        if literal is not _MISSING:
            return _pipe(literal, rest)
        return Result()
    if head in "[{":
        built, rest = _multipath(cur, path)
        return _pipe(built, rest) if built is not _MISSING else Result()
    comp, sep, rest = _split_component(path)
    if isinstance(cur, list):
        return _array_step(cur, comp, sep, rest)
    if isinstance(cur, dict):
        child = _lookup_key(cur, comp)
        if child is _MISSING:
            return Result()
        return Result(child) if sep is None else _get(child, rest)
    return Result()


def _pipe(value: Any, rest: str) -> Result:
    """After a modifier, literal or multipath, `.` and `|` both apply the rest to the whole value."""
    if value is _MISSING:
        return Result()
    if not rest:
        return Result(value)
    if rest[0] in ".|":
        return _get(value, rest[1:])
    return Result()


def _array_step(arr: list[Any], comp: str, sep: str | None, rest: str) -> Result:
    if comp == "#":
        if sep == ".":  # map the rest of the path over every element, keeping what exists
            return Result([r.value for e in arr if (r := _get(e, rest)).exists])
        if sep == "|":
            return _get(len(arr), rest)
        return Result(len(arr))
    if comp[:2] in ("#(", "#["):
        query, match_all = _parse_query(comp)
        if match_all:
            matches = [e for e in arr if query.matches(e)]
            if sep == ".":
                return Result([r.value for e in matches if (r := _get(e, rest)).exists])
            if sep == "|":
                return _get(matches, rest)
            return Result(matches)
        for e in arr:
            if query.matches(e):
                return Result(e) if sep is None else _get(e, rest)
        return Result()
    if comp.isascii() and comp.isdigit():
        idx = int(comp)
        if idx >= len(arr):
            return Result()
        return Result(arr[idx]) if sep is None else _get(arr[idx], rest)
    return Result()


@lru_cache(maxsize=4096)
def _split_component(path: str) -> tuple[str, str | None, str]:
    """The first component, the separator after it (`.`, `|` or None at the end), the rest."""
    i = 0
    n = len(path)
    if path[:2] in ("#(", "#["):
        i = _skip_bracketed(path, 1)
        if i < n and path[i] == "#":
            i += 1
    while i < n:
        c = path[i]
        if c == "\\":
            i += 2
            continue
        if c in ".|":
            return path[:i], c, path[i + 1 :]
        i += 1
    return path, None, ""


def _skip_bracketed(text: str, start: int) -> int:
    """Index just past the bracket group opening at text[start], honouring quotes and nesting."""
    depth = 0
    i = start
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            i = _skip_string(text, i)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def _skip_string(text: str, start: int) -> int:
    """Index just past the JSON string literal starting at text[start] (a quote)."""
    i = start + 1
    n = len(text)
    while i < n:
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i + 1
        i += 1
    return n


# ---------------------------------------------------------------- keys


def _lookup_key(obj: dict[str, Any], comp: str) -> Any:
    pattern, wild = _key_pattern(comp)
    if not wild:
        return obj.get(pattern, _MISSING)
    for key, value in obj.items():
        if _glob_match(key, comp):
            return value
    return _MISSING


@lru_cache(maxsize=4096)
def _key_pattern(comp: str) -> tuple[str, bool]:
    """The unescaped key, and whether the component holds unescaped wildcards."""
    out: list[str] = []
    wild = False
    i = 0
    while i < len(comp):
        c = comp[i]
        if c == "\\" and i + 1 < len(comp):
            out.append(comp[i + 1])
            i += 2
            continue
        if c in "*?":
            wild = True
        out.append(c)
        i += 1
    return "".join(out), wild


def _glob_match(text: str, pattern: str) -> bool:
    """tidwall/match: `*` any run, `?` any one character, `\\` escapes the next character."""
    return _glob_regex(pattern).fullmatch(text) is not None


@lru_cache(maxsize=1024)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    regex: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            regex.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        regex.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
        i += 1
    return re.compile("".join(regex), re.S)


# ---------------------------------------------------------------- queries

_OPERATORS = ("==", "!=", "<=", ">=", "!%", "=", "<", ">", "%")


class _Query:
    __slots__ = ("op", "path", "value")

    def __init__(self, path: str, op: str, value: str) -> None:
        self.path = path
        self.op = op
        self.value = value

    def matches(self, element: Any) -> bool:
        found = Result(element) if not self.path else _get(element, self.path)
        rpv = self.value
        v = found._value
        if rpv.startswith("~"):
            wanted = rpv[1:]
            if wanted == "*":
                ish = v is not _MISSING
            elif wanted == "null":
                ish = v is None
            elif wanted == "true":
                ish = _trueish(v)
            elif wanted == "false":
                ish = _falseish(v)
            else:
                return False
            v, rpv = ish, "true"
        if v is _MISSING:
            return False
        if not self.op:
            return True
        return _compare(v, self.op, rpv)


def _trueish(v: Any) -> bool:
    if v is True:
        return True
    if isinstance(v, str):
        return v.lower() in ("1", "t", "true")
    if isinstance(v, int | float) and not isinstance(v, bool):
        return v != 0
    return False


def _falseish(v: Any) -> bool:
    if v is None or v is False:
        return True
    if isinstance(v, str):
        return v.lower() in ("0", "f", "false")
    if isinstance(v, int | float) and not isinstance(v, bool):
        return v == 0
    return False


def _compare(v: Any, op: str, rpv: str) -> bool:
    if v is True or v is False:
        name = "true" if v else "false"
        if op == "=":
            return rpv == name
        if op == "!=":
            return rpv != name
        if v is True:
            return (op == ">" and rpv == "false") or op == ">="
        return (op == "<" and rpv == "true") or op == "<="
    if isinstance(v, str):
        fn = _STRING_OPS.get(op)
        return fn(v, rpv) if fn else False
    if isinstance(v, int | float):
        nfn = _NUMBER_OPS.get(op)
        return nfn(float(v), _go_parse_float(rpv)) if nfn else False
    return False  # null, objects and arrays never compare


_STRING_OPS: dict[str, Callable[[str, str], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "%": lambda a, b: _glob_match(a, b),
    "!%": lambda a, b: not _glob_match(a, b),
}
_NUMBER_OPS: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@lru_cache(maxsize=1024)
def _parse_query(comp: str) -> tuple[_Query, bool]:
    """`#(path op value)` or `#(...)#` (also the legacy `#[...]`)."""
    end = _skip_bracketed(comp, 1)
    inner = comp[2 : end - 1]
    match_all = comp[end : end + 1] == "#"
    # the operator is the first one at nesting depth 0, outside string literals
    for i, c in _top_level(inner):
        if c in "!=<>%":
            for op in _OPERATORS:
                if inner.startswith(op, i):
                    left = inner[:i].strip()
                    value = _query_value(inner[i + len(op) :].strip())
                    return _Query(left, "=" if op == "==" else op, value), match_all
    return _Query(inner.strip(), "", ""), match_all


def _top_level(text: str) -> Iterator[tuple[int, str]]:
    """Index and character of each position of `text` at bracket depth 0, outside strings and escapes."""
    depth = 0
    i = 0
    while i < len(text):
        c = text[i]
        if c == '"':
            i = _skip_string(text, i)
            continue
        if c == "\\":
            i += 2
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0:
            yield i, c
        i += 1


def _query_value(raw: str) -> str:
    if raw.startswith('"'):
        try:
            decoded, end = _DECODER.raw_decode(raw)
        except json.JSONDecodeError:
            return raw.strip('"')
        if isinstance(decoded, str) and raw[end:].strip() == "":
            return decoded
    return raw


# ---------------------------------------------------------------- modifiers, literals, multipaths


def _split_modifier(path: str) -> tuple[str, Any, str]:
    """`@name[:arg]` -> (name, parsed argument or None, the rest starting at its separator)."""
    i = 1
    while i < len(path) and path[i] not in ".|:":
        i += 1
    name = path[1:i]
    if i < len(path) and path[i] == ":":
        body = path[i + 1 :]
        if body[:1] in ("{", "[", '"'):
            try:
                arg, end = _DECODER.raw_decode(body)
                return name, arg, body[end:]
            except json.JSONDecodeError:
                pass
        j = 0
        while j < len(body) and body[j] not in ".|":
            j += 1
        return name, body[:j], body[j:]
    return name, None, path[i:]


def _split_literal(path: str) -> tuple[Any, str]:
    try:
        value, end = _DECODER.raw_decode(path[1:])
    except json.JSONDecodeError:
        return _MISSING, ""
    return value, path[1 + end :]


def _multipath(cur: Any, path: str) -> tuple[Any, str]:
    end = _skip_bracketed(path, 0)
    if end > len(path) or path[end - 1] not in "]}":
        return _MISSING, ""
    kind = path[0]
    items = _split_top_level(path[1 : end - 1])
    rest = path[end:]
    if kind == "[":
        out_list = [r.value for item in items if (r := _get(cur, item.strip())).exists]
        return out_list, rest
    out: dict[str, Any] = {}
    for item in items:
        item = item.strip()
        name: str | None = None
        if item.startswith('"'):
            close = _skip_string(item, 0)
            if item[close : close + 1] == ":":
                name = json.loads(item[:close])
                item = item[close + 1 :]
        r = _get(cur, item)
        if r.exists:
            out[name if name is not None else _name_of_last(item)] = r.value
    return out, rest


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    start = 0
    for i, c in _top_level(text):
        if c == ",":
            parts.append(text[start:i])
            start = i + 1
    if text[start:].strip() or parts:
        parts.append(text[start:])
    return [p for p in parts if p.strip()]


def _name_of_last(path: str) -> str:
    last = path
    for i in range(len(path) - 1, -1, -1):
        if path[i] in ".|" and (i == 0 or path[i - 1] != "\\"):
            last = path[i + 1 :]
            break
    key, _ = _key_pattern(last)
    if not key or any(c in key for c in "[]{}()#|!@") or any(ord(c) < 32 for c in key):
        return "_"
    return key


def _mod_reverse(v: Any, _arg: Any) -> Any:
    if isinstance(v, list):
        return list(reversed(v))
    if isinstance(v, dict):
        return dict(reversed(list(v.items())))
    return v


def _mod_flatten(v: Any, arg: Any) -> Any:
    if not isinstance(v, list):
        return v
    deep = isinstance(arg, dict) and arg.get("deep") is True

    def flat(items: list[Any]) -> list[Any]:
        out: list[Any] = []
        for e in items:
            if isinstance(e, list):
                out.extend(flat(e) if deep else e)
            else:
                out.append(e)
        return out

    return flat(v)


def _mod_join(v: Any, _arg: Any) -> Any:
    if not isinstance(v, list):
        return v
    out: dict[str, Any] = {}
    for e in v:
        if isinstance(e, dict):
            out.update(e)
    return out


def _mod_keys(v: Any, _arg: Any) -> Any:
    return list(v.keys()) if isinstance(v, dict) else []


def _mod_values(v: Any, _arg: Any) -> Any:
    if isinstance(v, dict):
        return list(v.values())
    return v if isinstance(v, list) else []


def _mod_tostr(v: Any, _arg: Any) -> Any:
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def _mod_fromstr(v: Any, _arg: Any) -> Any:
    if not isinstance(v, str):
        return _MISSING
    try:
        return json.loads(v)
    except json.JSONDecodeError:
        return _MISSING


_MODIFIERS: dict[str, Callable[[Any, Any], Any]] = {
    "this": lambda v, _arg: v,
    "valid": lambda v, _arg: v,
    "ugly": lambda v, _arg: v,
    "pretty": lambda v, _arg: v,
    "reverse": _mod_reverse,
    "flatten": _mod_flatten,
    "join": _mod_join,
    "keys": _mod_keys,
    "values": _mod_values,
    "tostr": _mod_tostr,
    "fromstr": _mod_fromstr,
}
