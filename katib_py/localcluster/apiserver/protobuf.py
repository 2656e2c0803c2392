"""Just enough of Kubernetes' protobuf encoding to accept `kubectl create namespace|configmap|secret|
serviceaccount|role|clusterrole|rolebinding|clusterrolebinding` and `kubectl auth can-i` (kubectl
sends those in protobuf). Other kinds get 415.
"""

from __future__ import annotations

import base64
from typing import Any

from katib_py.kube.errors import api_error

MAGIC = b"k8s\x00"

Fields = list[tuple[int, int | bytes]]


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def fields(buf: bytes) -> Fields:
    """(field number, value) pairs of one message: ints for varints, bytes for length-delimited."""
    out: Fields = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            out.append((num, value))
        elif wire == 2:
            size, pos = _varint(buf, pos)
            out.append((num, buf[pos : pos + size]))
            pos += size
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return out


def _str(v: int | bytes) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _map(entries: list[int | bytes], as_b64: bool = False) -> dict[str, str]:
    out = {}
    for entry in entries:
        kv = dict(fields(entry)) if isinstance(entry, bytes) else {}
        key = _str(kv.get(1, b""))
        raw = kv.get(2, b"")
        out[key] = base64.b64encode(raw).decode() if as_b64 and isinstance(raw, bytes) else _str(raw)
    return out


def _group(fs: Fields) -> dict[int, list[int | bytes]]:
    grouped: dict[int, list[int | bytes]] = {}
    for num, value in fs:
        grouped.setdefault(num, []).append(value)
    return grouped


def _metadata(buf: bytes) -> dict[str, Any]:
    g = _group(fields(buf))
    meta: dict[str, Any] = {}
    for num, key in ((1, "name"), (2, "generateName"), (3, "namespace")):
        if num in g:
            meta[key] = _str(g[num][0])
    if 11 in g:
        meta["labels"] = _map(g[11])
    if 12 in g:
        meta["annotations"] = _map(g[12])
    if 14 in g:
        meta["finalizers"] = [_str(v) for v in g[14]]
    return meta


def _strings(buf: bytes, names: tuple[str, ...]) -> dict[str, str]:
    """A message of optional strings numbered 1.. in the order of `names` (empty ones left out, as
    the JSON of such a field is `omitempty`)."""
    g = _group(fields(buf))
    return {name: _str(g[i + 1][0]) for i, name in enumerate(names) if i + 1 in g and g[i + 1][0]}


def _policy_rule(buf: bytes) -> dict[str, list[str]]:
    """rbac/v1 PolicyRule: verbs, apiGroups, resources, resourceNames, nonResourceURLs (1-5)."""
    g = _group(fields(buf))
    keys = ("verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs")
    return {key: [_str(v) for v in g[i + 1]] for i, key in enumerate(keys) if i + 1 in g}


_RESOURCE_ATTRIBUTES = ("namespace", "verb", "group", "version", "resource", "subresource", "name")


def _access_review_spec(g: dict[int, list[int | bytes]]) -> dict[str, Any]:
    """SelfSubjectAccessReviewSpec (k8s.io/api/authorization/v1): what `kubectl auth can-i` asks."""
    spec: dict[str, Any] = {}
    raw = g.get(2, [b""])[0]
    sg = _group(fields(raw if isinstance(raw, bytes) else b""))
    for num, key, names in (
        (1, "resourceAttributes", _RESOURCE_ATTRIBUTES),
        (2, "nonResourceAttributes", ("path", "verb")),
    ):
        if num in sg:
            value = sg[num][0]
            ag = _group(fields(value if isinstance(value, bytes) else b""))
            spec[key] = {name: _str(ag[i + 1][0]) for i, name in enumerate(names) if i + 1 in ag}
    return spec


def decode(body: bytes) -> dict[str, Any]:
    if not body.startswith(MAGIC):
        raise api_error(415, "the body of the request was in an unknown format", "UnsupportedMediaType")
    try:
        envelope = _group(fields(body[len(MAGIC) :]))
        type_meta = (
            _group(fields(envelope[1][0])) if 1 in envelope and isinstance(envelope[1][0], bytes) else {}
        )
        api_version = _str(type_meta.get(1, [b""])[0])
        kind = _str(type_meta.get(2, [b""])[0])
        raw = envelope.get(2, [b""])[0]
        g = _group(fields(raw if isinstance(raw, bytes) else b""))
        obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
        if 1 in g and isinstance(g[1][0], bytes):
            obj["metadata"] = _metadata(g[1][0])
        if api_version == "v1" and kind == "Namespace":
            return obj
        if api_version == "v1" and kind == "ServiceAccount":
            return obj
        if api_version == "v1" and kind == "ConfigMap":
            if 2 in g:
                obj["data"] = _map(g[2])
            if 3 in g:
                obj["binaryData"] = _map(g[3], as_b64=True)
            return obj
        if api_version == "v1" and kind == "Secret":
            if 2 in g:
                obj["data"] = _map(g[2], as_b64=True)
            if 3 in g:
                obj["type"] = _str(g[3][0])
            if 4 in g:
                obj["stringData"] = _map(g[4])
            return obj
        if api_version == "rbac.authorization.k8s.io/v1" and kind in ("Role", "ClusterRole"):
            obj["rules"] = [_policy_rule(r) for r in g.get(2, []) if isinstance(r, bytes)]
            return obj
        if api_version == "rbac.authorization.k8s.io/v1" and kind in ("RoleBinding", "ClusterRoleBinding"):
            obj["subjects"] = [
                _strings(s, ("kind", "apiGroup", "name", "namespace"))
                for s in g.get(2, [])
                if isinstance(s, bytes)
            ]
            ref = g.get(3, [b""])[0]
            obj["roleRef"] = _strings(ref if isinstance(ref, bytes) else b"", ("apiGroup", "kind", "name"))
            return obj
        if api_version == "authorization.k8s.io/v1" and kind == "SelfSubjectAccessReview":
            obj["spec"] = _access_review_spec(g)
            return obj
    except (ValueError, UnicodeDecodeError, IndexError) as exc:
        raise api_error(400, f"the protobuf body could not be decoded: {exc}", "BadRequest") from exc
    raise api_error(
        415,
        f"protobuf bodies are supported for Namespace, ConfigMap, Secret, ServiceAccount and the RBAC "
        f"kinds only (got {api_version} {kind}); send application/json instead",
        "UnsupportedMediaType",
    )
