"""Webhook configurations with Katib's names, and the self-signed TLS for clusters."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import ssl
from pathlib import Path

import pytest
from aiohttp import web

from katib_py.kube.client import KubeClient
from katib_py.webhook import certs
from katib_py.webhook.configurations import (
    CONFIGURATION_NAME,
    MUTATING_CONFIGURATIONS,
    VALIDATING_CONFIGURATIONS,
    WebhookEndpoint,
    build_configurations,
    patch_ca_bundle,
    write_configurations,
)

from .conftest import make_namespace

OPERATOR = "system:serviceaccount:kubeflow:katib-controller"


def test_service_endpoint_configurations_match_katib() -> None:
    endpoint = WebhookEndpoint(
        service_name="katib-controller", service_namespace="kubeflow", ca_bundle=b"PEM"
    )
    mutating, validating = build_configurations(endpoint, operator_username=OPERATOR)
    assert mutating["metadata"]["name"] == validating["metadata"]["name"] == "katib.kubeflow.org"
    defaulter, pod = mutating["webhooks"]
    (validator,) = validating["webhooks"]
    assert defaulter["name"] == "defaulter.experiment.katib.kubeflow.org"
    assert validator["name"] == "validator.experiment.katib.kubeflow.org"
    assert pod["name"] == "mutator.pod.katib.kubeflow.org"
    assert defaulter["clientConfig"] == {
        "service": {
            "name": "katib-controller",
            "namespace": "kubeflow",
            "path": "/mutate-experiment",
            "port": 443,
        },
        "caBundle": base64.b64encode(b"PEM").decode(),
    }
    assert validator["clientConfig"]["service"]["path"] == "/validate-experiment"
    assert pod["clientConfig"]["service"]["path"] == "/mutate-pod"
    assert defaulter["rules"] == validator["rules"]
    assert defaulter["rules"][0]["operations"] == ["CREATE", "UPDATE"]
    assert defaulter["rules"][0]["resources"] == ["experiments"]
    assert pod["rules"][0]["resources"] == ["pods"] and pod["rules"][0]["operations"] == ["CREATE"]
    assert pod["namespaceSelector"] == {
        "matchLabels": {"katib.kubeflow.org/metrics-collector-injection": "enabled"}
    }
    assert pod["matchConditions"] == [
        {"name": "exclude-katib-controller", "expression": f"request.userInfo.username != '{OPERATOR}'"}
    ]
    for hook in (defaulter, validator, pod):
        assert hook["sideEffects"] == "None"
        assert hook["admissionReviewVersions"] == ["v1"]
        assert hook["failurePolicy"] == "Fail"


def test_url_endpoint_without_operator_exclusion() -> None:
    mutating, _ = build_configurations(WebhookEndpoint(url="http://127.0.0.1:9443/"), operator_username=None)
    assert mutating["webhooks"][0]["clientConfig"] == {"url": "http://127.0.0.1:9443/mutate-experiment"}
    assert "matchConditions" not in mutating["webhooks"][1]
    with pytest.raises(ValueError, match="needs a url or a service"):
        WebhookEndpoint().client_config("/x")


async def test_write_then_rewrite_and_patch_ca_bundle(kube: KubeClient) -> None:
    try:
        await write_configurations(
            kube, WebhookEndpoint(url="http://127.0.0.1:1"), operator_username=OPERATOR
        )
        await write_configurations(
            kube, WebhookEndpoint(url="http://127.0.0.1:2"), operator_username=OPERATOR
        )
        stored = await kube.get_or_none(MUTATING_CONFIGURATIONS, CONFIGURATION_NAME)
        assert stored is not None
        assert [h["clientConfig"]["url"] for h in stored["webhooks"]] == [
            "http://127.0.0.1:2/mutate-experiment",
            "http://127.0.0.1:2/mutate-pod",
        ]
        assert await patch_ca_bundle(kube, b"CA PEM") == 3
        assert await patch_ca_bundle(kube, b"CA PEM") == 0
        validating = await kube.get_or_none(VALIDATING_CONFIGURATIONS, CONFIGURATION_NAME)
        assert validating is not None
        assert validating["webhooks"][0]["clientConfig"]["caBundle"] == base64.b64encode(b"CA PEM").decode()
    finally:
        # leave no configuration behind that would send this cluster's requests to a dead port
        await kube.delete(MUTATING_CONFIGURATIONS, CONFIGURATION_NAME)
        await kube.delete(VALIDATING_CONFIGURATIONS, CONFIGURATION_NAME)


def test_generated_certificate_is_usable_and_checked() -> None:
    names = certs.service_dns_names("katib-controller", "kubeflow")
    assert names[-1] == "katib-controller.kubeflow.svc.cluster.local"
    bundle = certs.generate([*names, "127.0.0.1"])
    assert certs.is_usable(bundle, names)
    assert certs.is_usable(bundle, ["127.0.0.1"])
    assert not certs.is_usable(bundle, ["other.kubeflow.svc"])
    later = dt.datetime.now(dt.UTC) + certs.VALIDITY - dt.timedelta(days=1)
    assert not certs.is_usable(bundle, names, now=later)
    other = certs.generate(names)
    assert not certs.is_usable(certs.CertBundle(other.ca_pem, bundle.cert_pem, bundle.key_pem), names)


async def test_certificate_serves_tls_verified_by_its_ca(tmp_path: Path) -> None:
    bundle = certs.generate(["127.0.0.1", "localhost"])
    certfile, keyfile = bundle.write(tmp_path / "cert")
    assert oct(keyfile.stat().st_mode & 0o777) == "0o600"
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(certfile, keyfile)
    app = web.Application()

    async def ok(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.router.add_get("/", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
    await site.start()
    port = runner.addresses[0][1]
    try:
        client_ctx = ssl.create_default_context(cadata=bundle.ca_pem.decode())
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"
        )
        writer.write(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        await writer.drain()
        answer = await reader.read()
        writer.close()
        assert answer.endswith(b"ok")
    finally:
        await runner.cleanup()


async def test_ensure_certificate_stores_and_reuses_the_secret(kube: KubeClient) -> None:
    ns = await make_namespace(kube, labelled=False)
    first = await certs.ensure_certificate(kube, ns)
    again = await certs.ensure_certificate(kube, ns)
    assert again == first
    secret = await kube.get_or_none(certs.SECRETS, certs.DEFAULT_SECRET_NAME, ns)
    assert secret is not None and secret["type"] == "kubernetes.io/tls"
    assert base64.b64decode(secret["data"]["tls.crt"]) == first.cert_pem
    # a certificate that does not cover the requested names is replaced in place
    wider = await certs.ensure_certificate(kube, ns, extra_hostnames=["127.0.0.1"])
    assert wider.cert_pem != first.cert_pem
    assert certs.is_usable(wider, ["127.0.0.1", f"katib-controller.{ns}.svc"])
