"""KatibWebhookServer: kopf's HTTPS server, reached on Katib's paths, with the request namespace filled in."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Any

import aiohttp

from katib_py.webhook import certs
from katib_py.webhook.handlers import EXPERIMENT_VALIDATOR, POD_MUTATOR
from katib_py.webhook.server import KatibWebhookServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_https_server_maps_katib_paths_and_fills_the_namespace(tmp_path: Path) -> None:
    bundle = certs.generate(["localhost", "127.0.0.1"])
    certfile, keyfile = bundle.write(tmp_path)
    calls: list[tuple[str | None, dict[str, Any]]] = []

    async def webhook_fn(request: dict[str, Any], *, webhook: str | None = None, **_: Any) -> dict[str, Any]:
        calls.append((webhook, request))
        return {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "response": {"uid": "u", "allowed": True},
        }

    port = free_port()
    server = KatibWebhookServer(
        addr="127.0.0.1", port=port, certfile=certfile, pkeyfile=keyfile, cadata=bundle.ca_pem
    )
    configs = server(webhook_fn)
    client_config = await configs.__anext__()
    try:
        assert client_config["url"] == f"https://127.0.0.1:{port}"
        review = {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": "u",
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "userInfo": {"username": "system:kube-controller-manager"},
                "namespace": "team-a",
                "operation": "CREATE",
                "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "x-"}},
            },
        }
        client_ssl = ssl.create_default_context(cadata=bundle.ca_pem.decode())
        async with aiohttp.ClientSession() as session:
            for path in ("mutate-pod", "validate-experiment"):
                async with session.post(
                    f"https://localhost:{port}/{path}", json=review, ssl=client_ssl
                ) as resp:
                    assert resp.status == 200
                    assert (await resp.json())["response"]["allowed"] is True
            async with session.post(
                f"https://localhost:{port}/mutate-pod", data=b"[1, 2]", ssl=client_ssl
            ) as resp:
                assert resp.status == 400
                assert (
                    resp.reason
                    == "not an admission review: the body is a JSON list, not an AdmissionReview object"
                )
    finally:
        await configs.aclose()
    assert [webhook for webhook, _ in calls] == [POD_MUTATOR, EXPERIMENT_VALIDATOR]
    assert calls[0][1]["request"]["object"]["metadata"]["namespace"] == "team-a"
