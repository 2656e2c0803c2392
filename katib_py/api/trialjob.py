"""Check a batch/v1 Job trial template against the Kubernetes Job type.

Katib (`validateTrialJob` and `validatePatchJob` in
`pkg/webhook/v1beta1/experiment/validator/validator.go`) converts the rendered template to a typed
`batchv1.Job` and back, and rejects it when a field was lost (a typo such as `comand`) or has the
wrong type. We walk the same type information, taken from the `kubernetes` client's generated
models, and report each problem with its exact path.
"""

from __future__ import annotations

import re
from typing import Any

# Quantity-valued maps and fields: Kubernetes accepts numbers there as well as strings.
_QUANTITY_KEYS = frozenset({"limits", "requests", "sizeLimit", "overhead", "capacity", "hard"})
_LIST = re.compile(r"^list\[(.+)\]$")
_DICT = re.compile(r"^dict\((\w+), (.+)\)$")


def job_problems(job: dict[str, Any]) -> list[tuple[str, str]]:
    """(path suffix, message) for every field of `job` that a batch/v1 Job cannot hold."""
    problems: list[tuple[str, str]] = []
    _walk(job, "V1Job", "", "", problems)
    return problems


def _model(name: str) -> Any:
    import kubernetes.client.models as models  # slow import: only when a Job is checked

    return getattr(models, name, None)


def _kind(type_name: str) -> str:
    """V1PodSpec -> PodSpec: the Kubernetes name of a client model."""
    return re.sub(r"^(?:Core)?V\d+(?:(?:alpha|beta)\d+)?", "", type_name)


def _walk(value: Any, type_name: str, path: str, key: str, problems: list[tuple[str, str]]) -> None:
    if value is None:
        return  # null means "not set" for every Kubernetes field
    if m := _LIST.match(type_name):
        if not isinstance(value, list):
            problems.append((path, "must be a list"))
            return
        for i, item in enumerate(value):
            _walk(item, m.group(1), f"{path}[{i}]", key, problems)
        return
    if m := _DICT.match(type_name):
        if not isinstance(value, dict):
            problems.append((path, "must be a map"))
            return
        for k, item in value.items():
            _walk(item, m.group(2), f"{path}[{k}]", key, problems)
        return
    if type_name in ("str", "datetime", "date"):
        if isinstance(value, str):
            return
        if key in _QUANTITY_KEYS and isinstance(value, int | float) and not isinstance(value, bool):
            return
        problems.append((path, "must be a string"))
        return
    if type_name == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append((path, "must be an integer"))
        return
    if type_name == "float":
        if not isinstance(value, int | float) or isinstance(value, bool):
            problems.append((path, "must be a number"))
        return
    if type_name == "bool":
        if not isinstance(value, bool):
            problems.append((path, "must be true or false"))
        return
    if type_name == "object":
        return  # int-or-string and free-form fields
    model = _model(type_name)
    if model is None:
        return
    if not isinstance(value, dict):
        problems.append((path, "must be an object"))
        return
    by_wire = {wire: attr for attr, wire in model.attribute_map.items()}
    for k, item in value.items():
        attr = by_wire.get(k)
        sub = f"{path}.{k}" if path else k
        if attr is None:
            problems.append((sub, f"unknown field {k!r} (not part of {_kind(type_name)})"))
            continue
        _walk(item, model.openapi_types[attr], sub, k, problems)
