"""Request decoding with bounded cost: JSON and YAML bodies, and integer query parameters.

Pure functions (no I/O), so the handlers can run them off the event loop and the rules can be
tested alone. Every refusal is a 400 BadRequest, as kube-apiserver answers a body or a query it
cannot decode.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import yaml

from katib_py.kube import errors

from .limits import MAX_REQUEST_BYTES

# kube-apiserver refuses JSON and YAML nested deeper than 10000 (k8s.io/apimachinery/pkg/util/json,
# sigs.k8s.io/yaml/goyaml.v2 decode.go). Go stacks grow; Python's do not: deepcopy, json and the
# schema and patch walkers share a 1000-frame recursion limit at up to three frames a level, so
# this server stops at 100 levels, far deeper than any built-in or Katib object (about 22) or a
# CRD's openAPIV3Schema (about 50).
MAX_DEPTH = 100

YAML_TYPES = ("application/yaml", "application/apply-patch+yaml")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# a \uD800-\uDFFF escape, or a surrogate's UTF-8 form (Python's json decodes bytes with surrogatepass)
_MAY_HOLD_SURROGATES = re.compile(rb"\\[uU][dD][89a-fA-F]|\xed[\xa0-\xbf]")


def decode_body(raw: bytes, content_type: str, as_yaml: bool = False) -> Any:
    """A request body as Python data; 400 for bodies that cannot be decoded or are too deep."""
    too_deep = f"exceeded max depth of {MAX_DEPTH}"
    try:
        if as_yaml or content_type in YAML_TYPES:
            return load_yaml(raw)
        data = json.loads(raw, parse_constant=_no_constant)
        if _MAY_HOLD_SURROGATES.search(raw):
            data = go_strings(data)
    except RecursionError as exc:
        raise errors.bad_request(f"the body of the request could not be decoded: {too_deep}") from exc
    except (ValueError, yaml.YAMLError) as exc:
        raise errors.bad_request(f"the body of the request could not be decoded: {exc}") from exc
    if json_depth(data) > MAX_DEPTH:
        raise errors.bad_request(f"the body of the request could not be decoded: {too_deep}")
    return data


def go_strings(data: Any) -> Any:
    """`data` with each lone UTF-16 surrogate replaced by U+FFFD, as Go's encoding/json decodes one:
    Python keeps them, and they cannot be written back as UTF-8 (a 500 where kube stores U+FFFD)."""
    if isinstance(data, str):
        return _LONE_SURROGATE.sub("\ufffd", data)
    if isinstance(data, list):
        return [go_strings(v) for v in data]
    if isinstance(data, dict):
        return {go_strings(k): go_strings(v) for k, v in data.items()}
    return data


def _no_constant(name: str) -> Any:
    """Python's json takes NaN and Infinity; JSON (and so kube) has no such values."""
    raise ValueError(f"invalid character '{name[0]}' looking for beginning of value")


def json_depth(data: Any) -> int:
    """How many levels of maps and lists `data` nests (a tree: walked once, without recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


# ---------------------------------------------------------------- YAML

# go-yaml's alias rule (sigs.k8s.io/yaml/goyaml.v2 decode.go, the fix of CVE-2019-11253): once a
# document decodes to more than 1000 nodes of which more than 100 came from aliases, the share
# of alias-made nodes may not pass 99% (up to 400,000 nodes), falling to 10% at 4,000,000.
_RATIO_LOW, _RATIO_HIGH = 400_000, 4_000_000
EXCESSIVE_ALIASING = "yaml: document contains excessive aliasing"


def allowed_alias_ratio(decoded: int) -> float:
    if decoded <= _RATIO_LOW:
        return 0.99
    if decoded >= _RATIO_HIGH:
        return 0.10
    return 0.99 - 0.89 * (decoded - _RATIO_LOW) / (_RATIO_HIGH - _RATIO_LOW)


def load_yaml(raw: bytes | str) -> Any:
    """One YAML document, refused before construction when its aliases expand too far.

    PyYAML composes a graph in which an alias is the anchored node itself, and builds Python
    objects that share it: cheap to load, but every later deepcopy, json.dumps or merge walks the
    expansion (8 levels of 9 aliases: 43 million nodes from 563 bytes). PyYAML has no expansion
    limit of its own, so the composed graph is measured here by hand: go-yaml's alias ratio, and
    an expanded size no larger than a body the server would take without aliases.
    """
    loader = yaml.CSafeLoader(raw) if yaml.__with_libyaml__ else yaml.SafeLoader(raw)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        check_expansion(node, len(raw))
        return loader.construct_document(node)
    finally:
        loader.dispose()


def check_expansion(root: yaml.Node, body_bytes: int, max_bytes: int = MAX_REQUEST_BYTES) -> None:
    """Refuse a composed YAML graph whose alias expansion is excessive or that contains itself.

    Counts, without recursion and once per distinct node, what a decode of the expanded tree
    visits: nodes (go-yaml's decodeCount), an estimate of its JSON size (scalar lengths plus a
    few bytes a node) and its depth. Nodes visited beyond the distinct ones come from aliases
    (aliasCount). An alias can put a deep anchor deep again, so the depth is measured here, on
    the expansion, and not on the constructed objects.
    """
    nodes: dict[int, int] = {}  # id(node) -> expanded node count
    sizes: dict[int, int] = {}  # id(node) -> expanded size estimate in bytes
    heights: dict[int, int] = {}  # id(node) -> levels of sequences and mappings in its expansion
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            count, size, height = 1, 4, 0
            for child in _children(node):
                count += nodes[id(child)]
                size += sizes[id(child)]
                height = max(height, heights[id(child)])
            nodes[key], sizes[key], heights[key] = count, size, height + 1
            if height + 1 > MAX_DEPTH:
                raise yaml.YAMLError(f"yaml: exceeded max depth of {MAX_DEPTH}")
            continue
        if key in nodes:
            continue
        if key in on_path:
            raise yaml.YAMLError("yaml: an anchor's value contains itself")
        if isinstance(node, yaml.ScalarNode):
            nodes[key], sizes[key], heights[key] = 1, 4 + len(str(node.value)), 0
            continue
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in nodes)
    decoded = nodes[id(root)]
    aliased = decoded - len(nodes)
    if aliased > 100 and decoded > 1000 and aliased / decoded > allowed_alias_ratio(decoded):
        raise yaml.YAMLError(EXCESSIVE_ALIASING)
    if sizes[id(root)] > max(max_bytes, 2 * body_bytes):
        raise yaml.YAMLError(EXCESSIVE_ALIASING)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


# ---------------------------------------------------------------- query parameters

_INT = re.compile(r"[+-]?[0-9]+")
_INT64 = (-(2**63), 2**63 - 1)


def query_int(query: Mapping[str, str], name: str) -> int | None:
    """An integer query parameter as kube parses it (Go's strconv.ParseInt, base 10, 64 bits).

    None when absent or empty; 400 with Go's message otherwise, as the parameter codec answers
    (k8s.io/apimachinery/pkg/runtime/conversion.go).
    """
    text = query.get(name)
    if text is None or text == "":
        return None
    if not _INT.fullmatch(text):
        raise errors.bad_request(f'strconv.ParseInt: parsing "{text}": invalid syntax')
    value = int(text)
    if not _INT64[0] <= value <= _INT64[1]:
        raise errors.bad_request(f'strconv.ParseInt: parsing "{text}": value out of range')
    return value
