"""Loading a raw Experiment, with every wrongly typed field reported at its path.

Katib's validating webhook (`pkg/webhook/v1beta1/experiment/validation_webhook.go`) decodes the
admission request into its typed Experiment and answers the first decoding error alone. Here
pydantic's errors become one `FieldError` each, with the path of the field and what it must be.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from katib_py.api.models import Experiment
from katib_py.api.validation._errors import FieldError


def load_experiment(raw: Any) -> tuple[Experiment | None, list[FieldError]]:
    """Parse a raw object; wrongly typed fields become FieldErrors instead of an exception."""
    if not isinstance(raw, dict):
        return None, [
            FieldError("<root>", "an Experiment must be a mapping (apiVersion, kind, metadata, spec)")
        ]
    errors: list[FieldError] = []
    if raw.get("apiVersion") != "kubeflow.org/v1beta1":
        errors.append(
            FieldError("apiVersion", f"must be kubeflow.org/v1beta1, got {raw.get('apiVersion')!r}")
        )
    if raw.get("kind") != "Experiment":
        errors.append(FieldError("kind", f"must be Experiment, got {raw.get('kind')!r}"))
    try:
        exp = Experiment.load(raw)
    except ValidationError as exc:
        for err in exc.errors():
            errors.append(FieldError(_loc_path(err["loc"]), _type_message(err)))
        return None, errors
    return (None if errors else exp), errors


def _loc_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "[" in part:
            continue  # pydantic's type labels, e.g. list[str]
        else:
            out += f".{part}" if out else str(part)
    return out or "<root>"


_WANTS = {
    "int_parsing": "an integer",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_parsing": "a number",
    "float_type": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def _type_message(err: ErrorDetails) -> str:
    kind = err.get("type", "")
    got = err.get("input")
    if kind in _WANTS:
        return f"must be {_WANTS[kind]}, got {got!r}"
    return str(err.get("msg", "invalid value"))
