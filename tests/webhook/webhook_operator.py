"""A kopf operator serving only katib-py's admission webhooks (plain HTTP), for the end-to-end test.

Usage: python webhook_operator.py PORT  (KUBECONFIG names the cluster). It writes Katib's webhook
configurations pointing at http://127.0.0.1:PORT, then runs kopf until terminated.
"""

from __future__ import annotations

import asyncio
import logging
import sys

import kopf

from katib_py import webhook
from katib_py.kube.client import KubeClient


async def main(port: int) -> None:
    registry = kopf.OperatorRegistry()
    kopf.on.login(registry=registry)(kopf.login_via_client)  # a fresh registry has no login handler
    settings = kopf.OperatorSettings()
    settings.posting.enabled = False
    server = webhook.KatibWebhookServer(addr="127.0.0.1", port=port, insecure=True)
    webhook.register(settings, server, registry)
    kube = KubeClient.from_environment()
    try:
        endpoint = webhook.WebhookEndpoint(url=f"http://127.0.0.1:{port}")
        await webhook.write_configurations(kube, endpoint, operator_username=None)
    finally:
        await kube.close()
    await kopf.operator(registry=registry, settings=settings, standalone=True, clusterwide=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(int(sys.argv[1])))
