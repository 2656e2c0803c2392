"""kopf's webhook server, speaking Katib's URL paths.

kopf routes `POST /<handler id>`; Katib's webhook configurations (and our helm chart) call
`/mutate-experiment`, `/validate-experiment` and `/mutate-pod`. The server maps those paths to
the handler ids, and copies the request's namespace into the object: the API server sends pods
created from a controller's template (e.g. a Job's) without `metadata.namespace`, and kopf
passes handlers only the object.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import aiohttp.web
import kopf

from katib_py.webhook.handlers import EXPERIMENT_DEFAULTER, EXPERIMENT_VALIDATOR, POD_MUTATOR

KATIB_PATHS = {
    "mutate-experiment": EXPERIMENT_DEFAULTER,
    "validate-experiment": EXPERIMENT_VALIDATOR,
    "mutate-pod": POD_MUTATOR,
}
HANDLER_PATHS = {handler: f"/{path}" for path, handler in KATIB_PATHS.items()}


def prepare_review(review: dict[str, Any]) -> dict[str, Any]:
    """Fill `request.object.metadata.namespace` from `request.namespace` when the object lacks it."""
    request = review.get("request") or {}
    namespace = request.get("namespace")
    for key in ("object", "oldObject"):
        obj = request.get(key)
        if namespace and isinstance(obj, dict):
            metadata = obj.setdefault("metadata", {})
            if isinstance(metadata, dict) and not metadata.get("namespace"):
                metadata["namespace"] = namespace
    return review


def handler_for_path(webhook: str | None) -> str | None:
    if webhook is None:
        return None
    name = webhook.strip("/")
    return KATIB_PATHS.get(name, name)


# Kubernetes objects nest a few dozen levels (a TFJob inside an Experiment's trialSpec: ~25).
MAX_DEPTH = 100


def _depth(value: Any) -> int:
    """How deep lists and objects nest in `value` (iteratively: no recursion to exhaust)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            if level <= MAX_DEPTH:
                children = node.values() if isinstance(node, dict) else node
                stack.extend((child, level + 1) for child in children)
    return deepest


def review_problem(review: Any) -> str | None:
    """What makes `review` no AdmissionReview an API server would send, if anything.

    kopf reads the review's fields as given; a body of another shape made it fail with a 500.
    """
    if not isinstance(review, dict):
        return f"the body is a JSON {type(review).__name__}, not an AdmissionReview object"
    request = review.get("request")
    if not isinstance(request, dict):
        return "the AdmissionReview has no request object"
    if not isinstance(request.get("uid"), str):
        return "request.uid must be a string"
    for key in ("resource", "userInfo"):  # kopf routes by the one and requires the other
        if not isinstance(request.get(key), dict):
            return f"request.{key} must be an object"
    for key in ("group", "version", "resource"):
        if not isinstance(request["resource"].get(key), str):
            return f"request.resource.{key} must be a string"
    for key in ("object", "oldObject"):
        obj = request.get(key)
        if obj is None:
            continue
        if not isinstance(obj, dict):
            return f"request.{key} must be an object"
        metadata = obj.get("metadata", {})
        if not isinstance(metadata, dict):
            return f"request.{key}.metadata must be an object"
        for field in ("name", "generateName", "namespace", "uid", "resourceVersion"):
            if metadata.get(field) is not None and not isinstance(metadata[field], str):
                return f"request.{key}.metadata.{field} must be a string"
        for field in ("labels", "annotations"):
            values = metadata.get(field)
            if values is not None and not (
                isinstance(values, dict) and all(isinstance(v, str) for v in values.values())
            ):
                return f"request.{key}.metadata.{field} must map strings to strings"
        if _depth(obj) > MAX_DEPTH:
            return f"request.{key} nests deeper than {MAX_DEPTH} levels"
    if request.get("object") is None and request.get("oldObject") is None:
        return "the request holds neither object nor oldObject"
    for key in ("operation", "namespace", "subResource"):
        if request.get(key) is not None and not isinstance(request[key], str):
            return f"request.{key} must be a string"
    return None


class KatibWebhookServer(kopf.WebhookServer):
    """A `kopf.WebhookServer` (same arguments) that accepts Katib's webhook paths.

    A body that is no AdmissionReview (bad UTF-8, JSON too deep, another shape) is a 400, where
    kopf answered 500.
    """

    async def __call__(self, fn: Any) -> AsyncGenerator[Any, None]:
        async def katib_fn(request: Any, *, webhook: str | None = None, **kwargs: Any) -> Any:
            problem = review_problem(request)
            if problem is not None:
                raise aiohttp.web.HTTPBadRequest(reason=f"not an admission review: {problem}")
            return await fn(prepare_review(request), webhook=handler_for_path(webhook), **kwargs)

        async for client_config in super().__call__(katib_fn):
            yield client_config

    @staticmethod
    async def _serve(fn: Any, request: aiohttp.web.Request) -> aiohttp.web.Response:
        try:
            response: aiohttp.web.Response = await kopf.WebhookServer._serve(fn, request)
        except (UnicodeDecodeError, RecursionError) as exc:
            reason = (
                "the body is not UTF-8" if isinstance(exc, UnicodeDecodeError) else "the JSON nests too deep"
            )
            raise aiohttp.web.HTTPBadRequest(reason=f"not an admission review: {reason}") from None
        return response
