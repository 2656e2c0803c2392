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


class KatibWebhookServer(kopf.WebhookServer):
    """A `kopf.WebhookServer` (same arguments) that accepts Katib's webhook paths."""

    async def __call__(self, fn: Any) -> AsyncGenerator[Any, None]:
        async def katib_fn(request: Any, *, webhook: str | None = None, **kwargs: Any) -> Any:
            return await fn(prepare_review(request), webhook=handler_for_path(webhook), **kwargs)

        async for client_config in super().__call__(katib_fn):
            yield client_config
