"""The error type every rule reports, and the callback rules report it through.

Katib's validator (`pkg/webhook/v1beta1/experiment/validator/validator.go`) collects
apimachinery `field.Error`s, each with the path of the field it rejects; `FieldError` is that
pair of path and message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One rejected field: `path` like `spec.parameters[2].feasibleSpace.min`, and why."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


Add = Callable[[FieldError], None]
"""How a rule reports an error: `errors.append`."""
