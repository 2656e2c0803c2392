"""Turn what users hand the SDK into wire dicts (camelCase JSON), whatever model family it comes from.

Accepted: katib-py pydantic models, plain dicts, kubernetes-client / kubeflow-katib OpenAPI
models (anything with `openapi_types` + `attribute_map`), and other objects with `to_dict()`.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client as k8s
from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from katib_py.api.models import KatibModel

_serializer = k8s.ApiClient()


def _camelize(value: Any) -> Any:
    if isinstance(value, dict):
        return {to_camel(k) if isinstance(k, str) else k: _camelize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camelize(v) for v in value]
    return value


def to_wire(obj: Any) -> Any:
    """The JSON form of `obj` (None stays None; nested models inside dicts/lists are converted)."""
    if obj is None:
        return None
    if isinstance(obj, KatibModel):
        return obj.dump()
    if isinstance(obj, BaseModel):
        return obj.model_dump(by_alias=True, exclude_none=True, mode="json")
    if isinstance(obj, dict):
        return {k: to_wire(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_wire(v) for v in obj]
    if hasattr(obj, "openapi_types") and hasattr(obj, "attribute_map"):
        # Walked here rather than by the kubernetes client, so that katib-py models nested in
        # OpenAPI ones (a search spec in a V1beta1ExperimentSpec) are converted too.
        values = {attr: getattr(obj, attr) for attr in obj.openapi_types}
        return {obj.attribute_map[attr]: to_wire(v) for attr, v in values.items() if v is not None}
    if hasattr(obj, "to_dict"):
        # No attribute map: to_dict() gives snake_case keys, which the API spells in camelCase.
        return _camelize(obj.to_dict())
    if isinstance(obj, str | int | float | bool):
        return obj
    return _serializer.sanitize_for_serialization(obj)
