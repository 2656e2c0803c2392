"""One error tree for the Kubernetes API, on both sides of the wire.

A client reading a non-2xx answer and the embedded API server writing one use the same classes:
`ApiError` carries the HTTP status and the `Status` body, and a subclass per status (the
`StatusReason`s of `k8s.io/apimachinery/pkg/api/errors`) lets callers write `except NotFound`
instead of comparing numbers. `AlreadyExists` is a `Conflict` (both are 409), as client-go's
`IsConflict` counts both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

Status = dict[str, Any]


def status_body(code: int, message: str, reason: str, details: Mapping[str, Any] | None = None) -> Status:
    """A `Status` object with status Failure, as the API server sends it."""
    body: Status = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        body["details"] = dict(details)
    return body


def success_status(details: Mapping[str, Any]) -> Status:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": dict(details),
    }


class ApiError(Exception):
    """A non-2xx answer of the Kubernetes API: `status` (HTTP code) and `body` (the `Status`)."""

    code: ClassVar[int] = 500
    default_reason: ClassVar[str] = "InternalError"

    def __init__(
        self,
        message: str = "",
        *,
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
        status: int | None = None,
        body: Any = None,
    ) -> None:
        self.status: int = self.code if status is None else status
        self.body: Any = (
            status_body(self.status, message, reason or self.default_reason, details)
            if body is None
            else body
        )
        super().__init__(f"{self.status}: {self.message}")

    @property
    def message(self) -> str:
        if isinstance(self.body, dict):
            return str(self.body.get("message") or "")
        return str(self.body or "")

    @property
    def reason(self) -> str:
        return str(self.body.get("reason") or "") if isinstance(self.body, dict) else ""

    @property
    def details(self) -> dict[str, Any] | None:
        details = self.body.get("details") if isinstance(self.body, dict) else None
        return details if isinstance(details, dict) else None


class BadRequest(ApiError):
    code, default_reason = 400, "BadRequest"


class Unauthorized(ApiError):
    code, default_reason = 401, "Unauthorized"


class Forbidden(ApiError):
    code, default_reason = 403, "Forbidden"


class NotFound(ApiError):
    code, default_reason = 404, "NotFound"


class MethodNotAllowed(ApiError):
    code, default_reason = 405, "MethodNotAllowed"


class NotAcceptable(ApiError):
    code, default_reason = 406, "NotAcceptable"


class Conflict(ApiError):
    """409: an optimistic-concurrency write lost a race (or, as AlreadyExists, a create did)."""

    code, default_reason = 409, "Conflict"


class AlreadyExists(Conflict):
    code, default_reason = 409, "AlreadyExists"


class Expired(ApiError):
    """410: the resourceVersion asked for is gone (a watch must relist)."""

    code, default_reason = 410, "Expired"


class RequestEntityTooLarge(ApiError):
    code, default_reason = 413, "RequestEntityTooLarge"


class UnsupportedMediaType(ApiError):
    code, default_reason = 415, "UnsupportedMediaType"


class Invalid(ApiError):
    code, default_reason = 422, "Invalid"


class TooManyRequests(ApiError):
    code, default_reason = 429, "TooManyRequests"


class InternalError(ApiError):
    code, default_reason = 500, "InternalError"


class ServerTimeout(ApiError):
    code, default_reason = 504, "Timeout"


_BY_CODE: dict[int, type[ApiError]] = {
    cls.code: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        NotAcceptable,
        Conflict,
        Expired,
        RequestEntityTooLarge,
        UnsupportedMediaType,
        Invalid,
        TooManyRequests,
        InternalError,
        ServerTimeout,
    )
}


def error_class(status: int, reason: str = "") -> type[ApiError]:
    if status == 409 and reason == "AlreadyExists":
        return AlreadyExists
    return _BY_CODE.get(status, ApiError)


def from_response(status: int, payload: Any) -> ApiError:
    """The error for an HTTP answer: `payload` is its decoded body (a Status, or text)."""
    reason = str(payload.get("reason") or "") if isinstance(payload, dict) else ""
    return error_class(status, reason)(status=status, body=payload)


def api_error(
    status: int, message: str, reason: str | None = None, details: Mapping[str, Any] | None = None
) -> ApiError:
    """An error to answer with, of the class its status (and reason) names."""
    cls = error_class(status, reason or "")
    return cls(message, reason=reason, details=details, status=status)


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def _details(resource: str, group: str, name: str) -> dict[str, Any]:
    return {"name": name, "group": group, "kind": resource}


def not_found(resource: str, group: str, name: str) -> NotFound:
    return NotFound(
        f'{_qualified(resource, group)} "{name}" not found', details=_details(resource, group, name)
    )


def already_exists(resource: str, group: str, name: str) -> AlreadyExists:
    return AlreadyExists(
        f'{_qualified(resource, group)} "{name}" already exists', details=_details(resource, group, name)
    )


def conflict(resource: str, group: str, name: str, why: str) -> Conflict:
    return Conflict(
        f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": {why}',
        details=_details(resource, group, name),
    )


def invalid(kind: str, group: str, name: str, causes: list[dict[str, str]]) -> Invalid:
    """422 with one cause per field, the message listing them the way kube joins field errors."""
    parts = [f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes]
    joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    subject = f'{kind}.{group} "{name}"' if group else f'{kind} "{name}"'
    return Invalid(
        f"{subject} is invalid: {joined}", details={**_details(kind, group, name), "causes": causes}
    )


def bad_request(message: str) -> BadRequest:
    return BadRequest(message)
