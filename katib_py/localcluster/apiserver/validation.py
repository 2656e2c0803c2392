"""What kube-apiserver checks of every object before storing it: field types, then metadata rules.

Two steps, as in kube. Decoding into the typed Go structs refuses a value of the wrong JSON type
(a list where a string goes) with a 400 BadRequest; validation then refuses well-typed values
that break a rule (a label value with a space) with a 422 Invalid naming the field. Pure
functions (no I/O): most return what is wrong and leave raising to the object service.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from katib_py.kube import errors

from .registry import ResourceInfo

Obj = dict[str, Any]
Cause = dict[str, str]

# ---------------------------------------------------------------- names and keys
# staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go and
# staging/src/k8s.io/apimachinery/pkg/api/validate/content/{kube,path}.go

_DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = _DNS1123_LABEL + "(\\." + _DNS1123_LABEL + ")*"
_DNS1035_LABEL = "[a-z]([-a-z0-9]*[a-z0-9])?"
_LABEL_KEY = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = "(" + _LABEL_KEY + ")?"
_RE = {
    name: re.compile(pattern)
    for name, pattern in (
        ("label", _DNS1123_LABEL),
        ("subdomain", _DNS1123_SUBDOMAIN),
        ("dns1035", _DNS1035_LABEL),
        ("key", _LABEL_KEY),
        ("value", _LABEL_VALUE),
    )
}


def _regex_error(msg: str, pattern: str, *examples: str) -> str:
    shown = "".join(f"{' or ' if i else ''}'{e}', " for i, e in enumerate(examples))
    return f"{msg} (e.g. {shown}regex used for validation is '{pattern}')"


def _max_len(n: int) -> str:
    return f"must be no more than {n} characters"


def dns1123_label(value: str) -> list[str]:
    errs = [_max_len(63)] if len(value) > 63 else []
    if not _RE["label"].fullmatch(value):
        if _RE["subdomain"].fullmatch(value):
            errs.append("must not contain dots")
        else:
            errs.append(
                _regex_error(
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
                    "or '-', and must start and end with an alphanumeric character",
                    _DNS1123_LABEL,
                    "my-name",
                    "123-abc",
                )
            )
    return errs


def dns1123_subdomain(value: str) -> list[str]:
    errs = [_max_len(253)] if len(value) > 253 else []
    if not _RE["subdomain"].fullmatch(value):
        errs.append(
            _regex_error(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                "'-' or '.', and must start and end with an alphanumeric character",
                _DNS1123_SUBDOMAIN,
                "example.com",
            )
        )
    return errs


def dns1035_label(value: str) -> list[str]:
    errs = [_max_len(63)] if len(value) > 63 else []
    if not _RE["dns1035"].fullmatch(value):
        errs.append(
            _regex_error(
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
                "with an alphabetic character, and end with an alphanumeric character",
                _DNS1035_LABEL,
                "my-name",
                "abc-123",
            )
        )
    return errs


def path_segment_name(value: str) -> list[str]:
    """content.IsPathSegmentName: what RBAC objects' names must be (they end up in URL paths)."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in value]


def qualified_name(value: str) -> list[str]:
    """content.IsLabelKey: an optional DNS subdomain prefix and '/', then a name part."""
    parts = value.split("/")
    errs: list[str] = []
    key_msg = _regex_error(
        "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
        "alphanumeric character",
        _LABEL_KEY,
        "MyName",
        "my.name",
        "123-abc",
    )
    if len(parts) > 2:
        return [
            f"a valid label key {key_msg} with an optional DNS subdomain prefix and '/' "
            "(e.g. 'example.com/MyName')"
        ]
    name = parts[-1]
    if len(parts) == 2:
        if not parts[0]:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in dns1123_subdomain(parts[0]))
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + _max_len(63))
    if not _RE["key"].fullmatch(name):
        errs.append("name part " + key_msg)
    return errs


def label_value(value: str) -> list[str]:
    errs = [_max_len(63)] if len(value) > 63 else []
    if not _RE["value"].fullmatch(value):
        errs.append(
            _regex_error(
                "a valid label must be an empty string or consist of alphanumeric characters, '-', "
                "'_' or '.', and must start and end with an alphanumeric character",
                _LABEL_VALUE,
                "MyValue",
                "my_value",
                "12345",
            )
        )
    return errs


_PATH_SEGMENT_GROUPS = ("rbac.authorization.k8s.io",)


def name_problems(info: ResourceInfo, name: str) -> list[str]:
    """The rule each kind's name follows in kube (the nameFn of its ValidateXxx in pkg/apis/*/validation):
    a DNS-1123 label for Namespaces, a DNS-1035 label for Services, a path segment for RBAC
    objects, a DNS-1123 subdomain for everything else, custom resources included."""
    if info.group in _PATH_SEGMENT_GROUPS:
        return path_segment_name(name)
    if info.group == "" and info.plural == "namespaces":
        return dns1123_label(name)
    if info.group == "" and info.plural == "services":
        return dns1035_label(name)
    return dns1123_subdomain(name)


# ---------------------------------------------------------------- object metadata
# staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go and
# staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/validation/validation.go (ValidateLabels)

ANNOTATIONS_LIMIT = 256 * (1 << 10)
_ORPHAN, _FOREGROUND = "orphan", "foregroundDeletion"


def show(value: Any) -> str:
    """A value as kube's field errors print it (Go's %q for strings)."""
    return json.dumps(value, ensure_ascii=False, default=str)


def invalid(path: str, value: Any, message: str) -> Cause:
    return {
        "reason": "FieldValueInvalid",
        "field": path,
        "message": f"Invalid value: {show(value)}: {message}",
    }


def meta_causes(info: ResourceInfo, meta: Obj) -> list[Cause]:
    """ValidateObjectMetaAccessor's checks of a well-typed metadata (after name generation)."""
    causes: list[Cause] = []
    name = meta.get("name") or ""
    if not name:
        causes.append(
            {
                "reason": "FieldValueRequired",
                "field": "metadata.name",
                "message": "Required value: name or generateName is required",
            }
        )
    else:
        causes.extend(invalid("metadata.name", name, m) for m in name_problems(info, name))
    for key, value in (meta.get("labels") or {}).items():
        causes.extend(invalid("metadata.labels", key, m) for m in qualified_name(key))
        causes.extend(invalid("metadata.labels", value, m) for m in label_value(value))
    annotations = meta.get("annotations") or {}
    for key in annotations:
        causes.extend(invalid("metadata.annotations", key, m) for m in qualified_name(key.lower()))
    if sum(_utf8_len(k) + _utf8_len(v) for k, v in annotations.items()) > ANNOTATIONS_LIMIT:
        causes.append(
            {
                "reason": "FieldValueTooLong",
                "field": "metadata.annotations",
                "message": f"Too long: must have at most {ANNOTATIONS_LIMIT} bytes",
            }
        )
    causes.extend(_owner_causes(meta.get("ownerReferences") or []))
    finalizers = meta.get("finalizers") or []
    for finalizer in finalizers:
        causes.extend(invalid("metadata.finalizers", finalizer, m) for m in qualified_name(finalizer))
    if _ORPHAN in finalizers and _FOREGROUND in finalizers:
        causes.append(
            invalid(
                "metadata.finalizers",
                finalizers,
                f"finalizer {_ORPHAN} and {_FOREGROUND} cannot be both set",
            )
        )
    return causes


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))  # JSON may carry lone surrogates


def _owner_causes(refs: list[Obj]) -> list[Cause]:
    causes: list[Cause] = []
    path = "metadata.ownerReferences"
    first_controller = ""
    for ref in refs:
        api_version, kind = ref.get("apiVersion") or "", ref.get("kind") or ""
        version = api_version.rsplit("/", 1)[-1] if api_version.count("/") <= 1 else ""
        if not version:
            causes.append(invalid(f"{path}.apiVersion", api_version, "version must not be empty"))
        for field in ("kind", "name", "uid"):
            if not ref.get(field):
                causes.append(invalid(f"{path}.{field}", ref.get(field) or "", "must not be empty"))
        if api_version == "v1" and kind == "Event":
            causes.append(invalid(path, ref, "/v1, Kind=Event is disallowed from being an owner"))
        if ref.get("controller") is True:
            current = f"{kind}/{ref.get('name') or ''}"
            if first_controller:
                causes.append(
                    invalid(
                        path,
                        refs,
                        'Only one reference can have Controller set to true. Found "true" in '
                        f"references for {first_controller} and {current}",
                    )
                )
            else:
                first_controller = current
    return causes


# ---------------------------------------------------------------- field types
# What decoding into the Go structs refuses (encoding/json's UnmarshalTypeError, as
# k8s.io/apimachinery/pkg/runtime/serializer/json reports it). The structs' shapes come from the
# `kubernetes` client's models (`openapi_types`: 'str', 'int', 'bool', 'float', 'datetime',
# 'object', 'list[T]', 'dict(str, T)' or a model class), which the client generates from the same
# Go types; the Go type names in messages are derived from them and are close, not exact
# ('int' may be int32 or int64 in Go).

# Fields of type resource.Quantity (a string or a number in JSON) and maps of them; the client
# types them as strings.
_QUANTITY_FIELDS = frozenset(
    {
        "limits",
        "requests",
        "capacity",
        "allocatable",
        "hard",
        "used",
        "default",
        "defaultRequest",
        "max",
        "min",
        "maxLimitRequestRatio",
        "allocatedResources",
        "overhead",
        "sizeLimit",
        "maximumVolumeSize",
    }
)
_GROUP_PREFIX = {"": "Core"}


def _models() -> Any:
    # imported on first use: the package loads every model of the API (about half a second)
    import kubernetes.client.models as models

    return models


@functools.cache
def _fields(class_name: str) -> dict[str, str] | None:
    """JSON field name -> client type string of one model class (None when there is none)."""
    cls = getattr(_models(), class_name, None)
    types = getattr(cls, "openapi_types", None)
    names = getattr(cls, "attribute_map", None)
    if not isinstance(types, dict) or not isinstance(names, dict):
        return None
    return {names[attr]: typ for attr, typ in types.items() if attr in names}


@functools.cache
def model_name(group: str, version: str, kind: str) -> str | None:
    """The client's model class of a built-in kind (CoreV1Event, V1Pod, EventsV1Event...)."""
    ver = version[:1].upper() + version[1:]
    prefix = _GROUP_PREFIX.get(group, group.split(".")[0].capitalize())
    for name in (f"{prefix}{ver}{kind}", f"{ver}{kind}"):
        if _fields(name) is not None:
            return name
    return None


def _go_name(class_name: str) -> str:
    m = re.match(r"^(?:[A-Z][a-z]+)?(V\d+(?:(?:alpha|beta)\d+)?)([A-Z].*)$", class_name)
    if m is None:
        return class_name
    return f"{m.group(1).lower()}.{m.group(2)}"


def _go_type(typ: str) -> str:
    if typ.startswith("list["):
        return "[]" + _go_type(typ[5:-1])
    if typ.startswith("dict(str, "):
        return "map[string]" + _go_type(typ[10:-1])
    return {"str": "string", "int": "int32", "bool": "bool", "float": "float64", "datetime": "string"}.get(
        typ, _go_name(typ)
    )


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _fits(value: Any, typ: str, quantity: bool) -> bool:
    """Whether a JSON value decodes into a field of this client type (null always does)."""
    if value is None or typ == "object":
        return True
    if quantity and typ == "str":
        return isinstance(value, str | int | float) and not isinstance(value, bool)
    if typ in ("str", "datetime"):
        return isinstance(value, str)
    if typ == "int":
        return (
            (isinstance(value, int) and not isinstance(value, bool))
            or (isinstance(value, float) and value.is_integer())
        ) and -(2**63) <= value < 2**63
    if typ == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if typ == "bool":
        return isinstance(value, bool)
    if typ.startswith("list["):
        return isinstance(value, list)
    return isinstance(value, dict)


def type_error(info: ResourceInfo, body: Obj) -> str | None:
    """kube's 400 message when `body` does not decode into the kind's Go type, else None.

    Built-in kinds are checked whole; custom resources only their metadata (the rest is their
    CRD schema's job).
    """
    name = model_name(info.group, info.version, info.kind) if info.builtin else None
    if name is not None:
        found = _first_mismatch(body, name, "", _go_name(name).split(".")[-1])
    elif "metadata" in body:
        found = _first_mismatch({"metadata": body["metadata"]}, "_Root", "", info.kind)
    else:
        found = None
    if found is None:
        return None
    return (
        f'{info.kind} in version "{info.version}" cannot be handled as a {info.kind}: '
        f"json: cannot unmarshal {found}"
    )


def _first_mismatch(obj: Obj, class_name: str, path: str, struct: str) -> str | None:
    fields = {"metadata": "V1ObjectMeta"} if class_name == "_Root" else _fields(class_name) or {}
    for key, value in obj.items():
        typ = fields.get(key)
        if typ is None:
            continue  # unknown fields are dropped by decoding, not refused
        found = _check(value, typ, f"{path}.{key}" if path else key, struct, key in _QUANTITY_FIELDS)
        if found is not None:
            return found
    return None


def _check(value: Any, typ: str, path: str, struct: str, quantity: bool) -> str | None:
    """The first mismatch in `value` against `typ` ("<json type> into Go struct field ..."), or None."""
    if not _fits(value, typ, quantity):
        go = "resource.Quantity" if quantity and typ == "str" else _go_type(typ)
        return f"{_json_type(value)} into Go struct field {struct}.{path} of type {go}"
    if value is None or typ == "object":
        return None
    if typ.startswith("list[") or typ.startswith("dict(str, "):
        inner = typ[5:-1] if typ.startswith("list[") else typ[10:-1]
        items = value if isinstance(value, list) else list(value.values())
        for item in items:
            found = _check(item, inner, path, struct, quantity)
            if found is not None:
                return found
        return None
    if isinstance(value, dict) and _fields(typ) is not None:
        return _first_mismatch(value, typ, path, _go_name(typ).split(".")[-1])
    return None


def _model_error(class_name: str, kind: str, version: str, body: Obj) -> str | None:
    found = _first_mismatch(body, class_name, "", kind)
    if found is None:
        return None
    return f'{kind} in version "{version}" cannot be handled as a {kind}: json: cannot unmarshal {found}'


def options_type_error(options: Obj) -> str | None:
    """kube's 400 message for a DeleteOptions body that does not decode, else None."""
    return _model_error("V1DeleteOptions", "DeleteOptions", "v1", options)


def scale_replicas(body: Any) -> int | None:
    """spec.replicas of a Scale body (autoscaling/v1): None when absent, 400 when mistyped, 422
    when negative (pkg/apis/autoscaling/validation ValidateScale)."""
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request must be a JSON object")
    problem = _model_error("V1Scale", "Scale", "v1", body)
    if problem is not None:
        raise errors.bad_request(problem)
    replicas = (body.get("spec") or {}).get("replicas")
    if replicas is None:
        return None
    if replicas < 0:
        name = str((body.get("metadata") or {}).get("name") or "")
        negative = invalid("spec.replicas", replicas, "must be greater than or equal to 0")
        raise errors.invalid("Scale", "autoscaling", name, [negative])
    return int(replicas)


_ZERO: dict[str, Any] = {"str": "", "int": 0, "bool": False, "float": 0.0, "datetime": None, "object": None}


def drop_nulls(info: ResourceInfo, obj: Obj) -> None:
    """What decoding a (well-typed) object does with JSON nulls, in place: a null field is absent,
    a null in a list or map is its type's zero value ({} for a struct, "" for a string)."""
    name = model_name(info.group, info.version, info.kind) if info.builtin else None
    if name is not None:
        _drop_in(obj, name)
    elif isinstance(obj.get("metadata"), dict):
        _drop_in(obj["metadata"], "V1ObjectMeta")


def _drop_in(obj: Obj, class_name: str) -> None:
    fields = _fields(class_name) or {}
    for key in [k for k, v in obj.items() if v is None and k in fields]:
        del obj[key]
    for key, value in obj.items():
        typ = fields.get(key)
        if typ is not None:
            _drop_value(value, typ)


def _drop_value(value: Any, typ: str) -> None:
    if typ.startswith("list[") or typ.startswith("dict(str, "):
        inner = typ[5:-1] if typ.startswith("list[") else typ[10:-1]
        zero = _ZERO.get(inner, {}) if not inner.startswith(("list[", "dict(")) else None
        keys = range(len(value)) if isinstance(value, list) else list(value)
        for key in keys:
            if value[key] is None and zero is not None:
                value[key] = {} if zero == {} else zero
            _drop_value(value[key], inner)
    elif isinstance(value, dict) and typ not in _ZERO and _fields(typ) is not None:
        _drop_in(value, typ)
