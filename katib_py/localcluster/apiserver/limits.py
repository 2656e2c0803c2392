"""etcd's and kube-apiserver's size limits."""

from __future__ import annotations

from katib_py.kube.errors import ApiError, api_error

MAX_OBJECT_BYTES = 1_572_864  # etcd --max-request-bytes default (1.5 MiB)
MAX_REQUEST_BYTES = 3 * 1024 * 1024  # kube-apiserver's request body limit


def check_object_size(serialized: bytes | str) -> None:
    if len(serialized) > MAX_OBJECT_BYTES:
        raise api_error(413, "etcdserver: request is too large", "RequestEntityTooLarge")


def request_too_large() -> ApiError:
    return api_error(413, "Request entity too large: limit is 3145728", "RequestEntityTooLarge")
