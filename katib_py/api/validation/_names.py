"""The Experiment's name.

Katib (`ValidateExperiment` in `pkg/webhook/v1beta1/experiment/validator/validator.go`) checks the
name against `^[a-z]([-a-z0-9]*[a-z0-9])?` and a length of at most 40 characters, but its match is
not anchored at the end, so in effect only the first character is checked. Here the whole name must
match (a DNS-1035 label); a missing name is allowed when `generateName` is set.
"""

from __future__ import annotations

import re

from katib_py.api.validation._errors import Add, FieldError

MAX_NAME_LENGTH = 40
NAME_PATTERN = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")  # used with fullmatch


def validate_name(name: str | None, generate_name: str | None, add: Add) -> None:
    if not name:
        if not generate_name:
            add(FieldError("metadata.name", "must be specified"))
        return
    if not NAME_PATTERN.fullmatch(name):
        add(
            FieldError(
                "metadata.name",
                f"invalid name {name!r}: must consist of lower case alphanumeric characters or '-', start "
                "with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name', or "
                "'abc-123', regex used for validation is '^[a-z]([-a-z0-9]*[a-z0-9])?$')",
            )
        )
    if len(name) > MAX_NAME_LENGTH:
        add(
            FieldError("metadata.name", f"must be no more than {MAX_NAME_LENGTH} characters, got {len(name)}")
        )
