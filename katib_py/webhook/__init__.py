"""Katib's admission webhooks on kopf: Experiment defaulting and validation, trial Pod mutation.

How `katib-py operator` wires them (call `register` before `kopf.run`/`kopf.operator`):

    from katib_py import webhook

    # embedded control plane: plain HTTP on 127.0.0.1
    server = webhook.KatibWebhookServer(addr="127.0.0.1", port=port, insecure=True)
    endpoint = webhook.WebhookEndpoint(url=f"http://127.0.0.1:{port}")

    # a cluster: HTTPS with the self-signed certificate kept in Secret katib-webhook-cert
    bundle = await webhook.certs.ensure_certificate(kube, namespace)
    certfile, keyfile = bundle.write(Path("/tmp/cert"))
    server = webhook.KatibWebhookServer(addr="0.0.0.0", port=8443, certfile=certfile, pkeyfile=keyfile)
    endpoint = webhook.WebhookEndpoint(service_name="katib-controller", service_namespace=namespace,
                                       ca_bundle=bundle.ca_pem)

    webhook.register(settings, server)               # handlers (default registry) + settings.admission
    await webhook.write_configurations(kube, endpoint, operator_username=...)  # Katib's names

`register` sets `settings.admission.server` and leaves `settings.admission.managed` unset: we
write the `katib.kubeflow.org` configurations ourselves (Katib's names, rules, namespaceSelector
and the matchCondition that excludes the operator's own user), instead of kopf's generated ones.
With the helm chart (which ships those configurations), only `register` is needed, plus
`certs.patch_ca_bundle` when cert-manager is not used.

The handlers read the cluster through `webhook.configure(kube=...)` (default: the same
credentials kopf uses) and honour KATIB_CORE_NAMESPACE, KATIB_DB_MANAGER_SERVICE_*,
KATIB_OPERATOR_USERNAME and KATIB_NATIVE_SIDECAR (default: native sidecars on Kubernetes >= 1.29).
"""

from __future__ import annotations

import kopf

from katib_py.webhook import certs, handlers
from katib_py.webhook.configurations import (
    CONFIGURATION_NAME,
    WebhookEndpoint,
    build_configurations,
    patch_ca_bundle,
    write_configurations,
)
from katib_py.webhook.context import CONTEXT, WebhookContext, configure
from katib_py.webhook.server import KatibWebhookServer

__all__ = [
    "CONFIGURATION_NAME",
    "CONTEXT",
    "KatibWebhookServer",
    "WebhookContext",
    "WebhookEndpoint",
    "build_configurations",
    "certs",
    "configure",
    "handlers",
    "patch_ca_bundle",
    "register",
    "write_configurations",
]


def register(
    settings: kopf.OperatorSettings,
    server: kopf.WebhookServer,
    registry: kopf.OperatorRegistry | None = None,
) -> None:
    """Register the admission handlers in `registry` (kopf's default one) and serve them from `server`."""
    handlers.register_handlers(registry)
    settings.admission.server = server
    settings.admission.managed = None
