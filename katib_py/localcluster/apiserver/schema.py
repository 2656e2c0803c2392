"""CRD structural schemas: pruning of unknown fields, defaulting and validation.

Covers what CRDs in practice declare: type, properties, additionalProperties, items, required,
enum, minimum/maximum (+exclusive), min/max length and items, pattern, nullable, a few formats,
anyOf/oneOf/allOf/not, x-kubernetes-preserve-unknown-fields, x-kubernetes-int-or-string and
x-kubernetes-embedded-resource. CEL rules (x-kubernetes-validations) are not evaluated.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

Schema = dict[str, Any]

_ROOT_META = ("apiVersion", "kind", "metadata")


@dataclass
class SchemaResult:
    unknown: list[str] = field(default_factory=list)
    causes: list[dict[str, str]] = field(default_factory=list)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def prune_and_default(
    obj: Any, schema: Schema | None, result: SchemaResult, path: str = "", root: bool = False
) -> Any:
    """Drop fields the schema does not declare (recording them) and fill declared defaults."""
    if schema is None or not isinstance(schema, dict):
        return obj
    if isinstance(obj, dict):
        props: dict[str, Schema] = schema.get("properties") or {}
        addl = schema.get("additionalProperties")
        preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        embedded = bool(schema.get("x-kubernetes-embedded-resource"))
        for key in list(obj):
            if (root or embedded) and (key == "metadata" or (key in _ROOT_META and key not in props)):
                continue
            sub_path = _join(path, key)
            if key in props:
                obj[key] = prune_and_default(obj[key], props[key], result, sub_path)
            elif isinstance(addl, dict):
                obj[key] = prune_and_default(obj[key], addl, result, sub_path)
            elif addl is True or preserve:
                continue
            else:
                result.unknown.append(sub_path)
                del obj[key]
        for key, sub in props.items():
            if key not in obj and isinstance(sub, dict) and "default" in sub:
                obj[key] = prune_and_default(copy.deepcopy(sub["default"]), sub, result, _join(path, key))
        return obj
    if isinstance(obj, list):
        items = schema.get("items")
        if isinstance(items, dict):
            return [prune_and_default(v, items, result, f"{path}[{i}]") for i, v in enumerate(obj)]
    return obj


def _type_ok(value: Any, typ: str, schema: Schema) -> bool:
    if schema.get("x-kubernetes-int-or-string"):
        return (isinstance(value, int) and not isinstance(value, bool)) or isinstance(value, str)
    if typ == "object":
        return isinstance(value, dict)
    if typ == "array":
        return isinstance(value, list)
    if typ == "string":
        return isinstance(value, str)
    if typ == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if typ == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if typ == "boolean":
        return isinstance(value, bool)
    return True


def _show(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else json.dumps(value, default=str)


_FORMATS = {
    "int32": None,
    "int64": None,
    "date-time": re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"),
    "date": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "uuid": re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"),
}


def validate(value: Any, schema: Schema | None, path: str, causes: list[dict[str, str]]) -> None:
    if schema is None or not isinstance(schema, dict):
        return
    shown = path or "<root>"
    if value is None:
        if not schema.get("nullable") and schema.get("type"):
            causes.append(
                _cause(
                    "FieldValueInvalid",
                    path,
                    f'Invalid value: "null": {shown} in body must be of type {schema["type"]}: "null"',
                )
            )
        return
    typ = schema.get("type") or ("integer or string" if schema.get("x-kubernetes-int-or-string") else None)
    if typ and not _type_ok(value, typ, schema):
        causes.append(
            _cause(
                "FieldValueInvalid",
                path,
                f"Invalid value: {_show(value)}: {shown} in body must be of type {typ}: "
                f'"{_type_name(value)}"',
            )
        )
        return
    if "enum" in schema and value not in schema["enum"]:
        supported = ", ".join(_show(v) for v in schema["enum"])
        causes.append(
            _cause(
                "FieldValueNotSupported",
                path,
                f"Unsupported value: {_show(value)}: supported values: {supported}",
            )
        )
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_number(value, schema, path, causes)
    if isinstance(value, str):
        _check_string(value, schema, path, causes)
    for combinator in ("allOf", "anyOf", "oneOf"):
        subs = schema.get(combinator)
        if not subs:
            continue
        passes = 0
        for sub in subs:
            sub_causes: list[dict[str, str]] = []
            validate(value, sub, path, sub_causes)
            if combinator == "allOf":
                causes.extend(sub_causes)
            passes += not sub_causes
        if combinator == "anyOf" and passes == 0:
            causes.append(
                _cause(
                    "FieldValueInvalid",
                    path,
                    f"Invalid value: {_show(value)}: {shown} in body must match at least one schema in anyOf",
                )
            )
        if combinator == "oneOf" and passes != 1:
            causes.append(
                _cause(
                    "FieldValueInvalid",
                    path,
                    f"Invalid value: {_show(value)}: {shown} in body must match exactly one schema in oneOf",
                )
            )
    if isinstance(schema.get("not"), dict):
        sub_causes = []
        validate(value, schema["not"], path, sub_causes)
        if not sub_causes:
            causes.append(
                _cause(
                    "FieldValueInvalid",
                    path,
                    f"Invalid value: {_show(value)}: {shown} in body must not validate the schema (not)",
                )
            )
    if isinstance(value, dict):
        for req in schema.get("required") or []:
            if req not in value:
                causes.append(_cause("FieldValueRequired", _join(path, req), "Required value"))
        props = schema.get("properties") or {}
        addl = schema.get("additionalProperties")
        for key, sub_value in value.items():
            if key in props:
                validate(sub_value, props[key], _join(path, key), causes)
            elif isinstance(addl, dict):
                validate(sub_value, addl, _join(path, key), causes)
        _check_count(len(value), schema, "minProperties", "maxProperties", path, causes, "properties")
    if isinstance(value, list):
        items = schema.get("items")
        for i, item in enumerate(value):
            validate(item, items if isinstance(items, dict) else None, f"{path}[{i}]", causes)
        _check_count(len(value), schema, "minItems", "maxItems", path, causes, "items")
        if schema.get("uniqueItems"):
            seen = [json.dumps(v, sort_keys=True) for v in value]
            if len(set(seen)) != len(seen):
                causes.append(_cause("FieldValueDuplicate", path, "Duplicate value"))


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _cause(reason: str, path: str, message: str) -> dict[str, str]:
    return {"reason": reason, "message": message, "field": path}


def _check_number(value: float, schema: Schema, path: str, causes: list[dict[str, str]]) -> None:
    if "minimum" in schema:
        low = schema["minimum"]
        if value < low or (schema.get("exclusiveMinimum") and value == low):
            rel = "greater than" if schema.get("exclusiveMinimum") else "greater than or equal to"
            causes.append(
                _cause(
                    "FieldValueInvalid",
                    path,
                    f"Invalid value: {_show(value)}: {path} in body should be {rel} {low}",
                )
            )
    if "maximum" in schema:
        high = schema["maximum"]
        if value > high or (schema.get("exclusiveMaximum") and value == high):
            rel = "less than" if schema.get("exclusiveMaximum") else "less than or equal to"
            causes.append(
                _cause(
                    "FieldValueInvalid",
                    path,
                    f"Invalid value: {_show(value)}: {path} in body should be {rel} {high}",
                )
            )
    if "multipleOf" in schema and schema["multipleOf"] and value % schema["multipleOf"] != 0:
        causes.append(
            _cause(
                "FieldValueInvalid",
                path,
                f"Invalid value: {_show(value)}: {path} in body "
                f"should be a multiple of {schema['multipleOf']}",
            )
        )


def _check_string(value: str, schema: Schema, path: str, causes: list[dict[str, str]]) -> None:
    if "minLength" in schema and len(value) < schema["minLength"]:
        causes.append(
            _cause(
                "FieldValueInvalid",
                path,
                f"Invalid value: {_show(value)}: {path} in body "
                f"should be at least {schema['minLength']} chars long",
            )
        )
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        causes.append(
            _cause("FieldValueTooLong", path, f"Too long: may not be more than {schema['maxLength']} bytes")
        )
    if "pattern" in schema and not re.search(schema["pattern"], value):
        causes.append(
            _cause(
                "FieldValueInvalid",
                path,
                f"Invalid value: {_show(value)}: {path} in body should match '{schema['pattern']}'",
            )
        )
    fmt = _FORMATS.get(schema.get("format", ""))
    if fmt is not None and not fmt.match(value):
        causes.append(
            _cause(
                "FieldValueInvalid",
                path,
                f"Invalid value: {_show(value)}: {path} in body "
                f"must be of type {schema['format']}: {_show(value)}",
            )
        )


def _check_count(
    n: int, schema: Schema, lo: str, hi: str, path: str, causes: list[dict[str, str]], what: str
) -> None:
    if lo in schema and n < schema[lo]:
        causes.append(
            _cause(
                "FieldValueInvalid",
                path,
                f"Invalid value: {n}: {path} in body should have at least {schema[lo]} {what}",
            )
        )
    if hi in schema and n > schema[hi]:
        causes.append(
            _cause("FieldValueTooMany", path, f"Too many: {n}: must have at most {schema[hi]} {what}")
        )


def process(obj: dict[str, Any], schema: Schema | None) -> SchemaResult:
    """Prune, default, then validate `obj` in place against a CRD version's openAPIV3Schema."""
    result = SchemaResult()
    if not schema:
        return result
    prune_and_default(obj, schema, result, "", root=True)
    body = {k: v for k, v in obj.items() if k not in _ROOT_META}
    root_schema = dict(schema)
    root_schema["required"] = [r for r in schema.get("required") or [] if r not in _ROOT_META]
    root_schema["properties"] = {
        k: v for k, v in (schema.get("properties") or {}).items() if k not in _ROOT_META
    }
    validate(body, root_schema, "", result.causes)
    return result
