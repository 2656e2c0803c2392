"""Katib's Mutating/ValidatingWebhookConfiguration objects, written by the operator.

Same names, webhooks, rules, namespace selector and operator-exclusion matchCondition as Katib's
`manifests/v1beta1/components/webhook/webhooks.yaml`. The client config points either at the
operator's Service (a cluster: HTTPS with our CA in `caBundle`) or at a URL (the embedded
control plane: plain `http://127.0.0.1:PORT`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from katib_py.kube.client import KubeClient
from katib_py.kube.resource import Resource
from katib_py.webhook.handlers import (
    EXPERIMENT_DEFAULTER,
    EXPERIMENT_VALIDATOR,
    INJECTION_ENABLED,
    INJECTION_LABEL,
    POD_MUTATOR,
)
from katib_py.webhook.server import HANDLER_PATHS

CONFIGURATION_NAME = "katib.kubeflow.org"
MUTATING_CONFIGURATIONS = Resource(
    "admissionregistration.k8s.io",
    "v1",
    "mutatingwebhookconfigurations",
    "MutatingWebhookConfiguration",
    False,
)
VALIDATING_CONFIGURATIONS = Resource(
    "admissionregistration.k8s.io",
    "v1",
    "validatingwebhookconfigurations",
    "ValidatingWebhookConfiguration",
    False,
)
EXPERIMENT_RULES = [
    {
        "apiGroups": ["kubeflow.org"],
        "apiVersions": ["v1beta1"],
        "operations": ["CREATE", "UPDATE"],
        "resources": ["experiments"],
        "scope": "Namespaced",
    }
]
POD_RULES = [
    {
        "apiGroups": [""],
        "apiVersions": ["v1"],
        "operations": ["CREATE"],
        "resources": ["pods"],
        "scope": "Namespaced",
    }
]


@dataclass(frozen=True)
class WebhookEndpoint:
    """Where the API server reaches the webhooks: a Service (cluster) or a base URL (embedded)."""

    service_name: str | None = None
    service_namespace: str | None = None
    service_port: int = 443
    url: str | None = None
    ca_bundle: bytes | None = None  # PEM of the CA that signed the serving certificate

    def client_config(self, path: str) -> dict[str, Any]:
        config: dict[str, Any]
        if self.url:
            config = {"url": self.url.rstrip("/") + path}
        elif self.service_name and self.service_namespace:
            config = {
                "service": {
                    "name": self.service_name,
                    "namespace": self.service_namespace,
                    "path": path,
                    "port": self.service_port,
                }
            }
        else:
            raise ValueError("a webhook endpoint needs a url or a service name and namespace")
        if self.ca_bundle:
            config["caBundle"] = base64.b64encode(self.ca_bundle).decode("ascii")
        return config


def _webhook(
    name: str, endpoint: WebhookEndpoint, rules: list[dict[str, Any]], timeout: int
) -> dict[str, Any]:
    return {
        "name": name,
        "admissionReviewVersions": ["v1"],
        "sideEffects": "None",
        "failurePolicy": "Fail",
        "timeoutSeconds": timeout,
        "clientConfig": endpoint.client_config(HANDLER_PATHS[name]),
        "rules": [dict(r) for r in rules],
    }


def build_configurations(
    endpoint: WebhookEndpoint, *, operator_username: str | None, timeout_seconds: int = 10
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(MutatingWebhookConfiguration, ValidatingWebhookConfiguration) named `katib.kubeflow.org`."""
    pod_hook = _webhook(POD_MUTATOR, endpoint, POD_RULES, timeout_seconds)
    pod_hook["reinvocationPolicy"] = "Never"
    pod_hook["namespaceSelector"] = {"matchLabels": {INJECTION_LABEL: INJECTION_ENABLED}}
    if operator_username:
        pod_hook["matchConditions"] = [
            {
                "name": "exclude-katib-controller",
                "expression": f"request.userInfo.username != '{operator_username}'",
            }
        ]
    mutating = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": CONFIGURATION_NAME},
        "webhooks": [_webhook(EXPERIMENT_DEFAULTER, endpoint, EXPERIMENT_RULES, timeout_seconds), pod_hook],
    }
    validating = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": CONFIGURATION_NAME},
        "webhooks": [_webhook(EXPERIMENT_VALIDATOR, endpoint, EXPERIMENT_RULES, timeout_seconds)],
    }
    return mutating, validating


async def write_configurations(
    kube: KubeClient, endpoint: WebhookEndpoint, *, operator_username: str | None, timeout_seconds: int = 10
) -> None:
    """Create the two configurations, or replace their webhooks when they exist."""
    mutating, validating = build_configurations(
        endpoint, operator_username=operator_username, timeout_seconds=timeout_seconds
    )
    for kind, obj in ((MUTATING_CONFIGURATIONS, mutating), (VALIDATING_CONFIGURATIONS, validating)):
        existing = await kube.get_or_none(kind, CONFIGURATION_NAME)
        if existing is None:
            await kube.create(kind, obj)
        else:
            await kube.patch(kind, CONFIGURATION_NAME, {"webhooks": obj["webhooks"]})


async def patch_ca_bundle(kube: KubeClient, ca_pem: bytes, name: str = CONFIGURATION_NAME) -> int:
    """Set `caBundle` on every webhook of both configurations named `name`; how many were patched."""
    encoded = base64.b64encode(ca_pem).decode("ascii")
    patched = 0
    for kind in (MUTATING_CONFIGURATIONS, VALIDATING_CONFIGURATIONS):
        existing = await kube.get_or_none(kind, name)
        if existing is None:
            continue
        ops = [
            {"op": "add", "path": f"/webhooks/{i}/clientConfig/caBundle", "value": encoded}
            for i, hook in enumerate(existing.get("webhooks") or [])
            if (hook.get("clientConfig") or {}).get("caBundle") != encoded
        ]
        if ops:
            await kube.patch(kind, name, ops, patch_type="json")
            patched += len(ops)
    return patched
