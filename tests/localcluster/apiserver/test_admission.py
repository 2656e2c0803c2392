"""Admission webhooks called by the API server: a real HTTPS webhook, by service reference and by URL."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from katib_py.localcluster.apiserver import tls

from .harness import ServerThread, raw


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Webhook:
    """An HTTPS admission webhook: mutates by adding a label, denies ConfigMaps carrying data.bad."""

    def __init__(self, workdir: Path) -> None:
        self.material = tls.generate(extra_names=["hook.default.svc"])
        self.ssl = self.material.server_context(workdir)
        self.port = _free_port()
        self.reviews: list[dict[str, Any]] = []
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/mutate", self.mutate)
        app.router.add_post("/validate", self.validate)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port, ssl_context=self.ssl).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def mutate(self, request: web.Request) -> web.Response:
        review = await request.json()
        self.reviews.append(review)
        patch = [{"op": "add", "path": "/metadata/labels/mutated", "value": "true"}]
        return web.json_response(
            {
                "apiVersion": "admission.k8s.io/v1",
                "kind": "AdmissionReview",
                "response": {
                    "uid": review["request"]["uid"],
                    "allowed": True,
                    "patchType": "JSONPatch",
                    "patch": base64.b64encode(json.dumps(patch).encode()).decode(),
                },
            }
        )

    async def validate(self, request: web.Request) -> web.Response:
        review = await request.json()
        self.reviews.append(review)
        obj = review["request"]["object"] or {}
        allowed = "bad" not in (obj.get("data") or {})
        response: dict[str, Any] = {"uid": review["request"]["uid"], "allowed": allowed}
        if not allowed:
            response["status"] = {"code": 400, "message": "bad data"}
        return web.json_response(
            {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}
        )

    @property
    def ca_bundle(self) -> str:
        return base64.b64encode(self.material.ca_pem).decode()


@pytest.fixture(scope="module")
def hook(cluster: ServerThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webhook]:
    wh = Webhook(Path(tmp_path_factory.mktemp("webhook")))
    cluster.run(wh.start())
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "hook"},
        "spec": {"clusterIP": "127.0.0.1", "ports": [{"port": 443, "targetPort": wh.port}]},
    }
    assert raw(cluster, "POST", "/api/v1/namespaces/default/services", svc)[0] == 201
    mutating = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "labeler"},
        "webhooks": [
            {
                "name": "labeler.example.com",
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
                "clientConfig": {
                    "service": {"namespace": "default", "name": "hook", "path": "/mutate"},
                    "caBundle": wh.ca_bundle,
                },
                "rules": [
                    {
                        "operations": ["CREATE"],
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "resources": ["configmaps"],
                    }
                ],
                "objectSelector": {"matchLabels": {"hook": "yes"}},
                "matchConditions": [
                    {
                        "name": "not-skipper",
                        "expression": 'request.userInfo.username != "system:serviceaccount:default:skipper"',
                    }
                ],
            }
        ],
    }
    validating = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "denier"},
        "webhooks": [
            {
                "name": "deny.example.com",
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
                "clientConfig": {"url": f"https://127.0.0.1:{wh.port}/validate", "caBundle": wh.ca_bundle},
                "rules": [
                    {
                        "operations": ["CREATE", "UPDATE"],
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "resources": ["configmaps"],
                        "scope": "Namespaced",
                    }
                ],
                "namespaceSelector": {"matchLabels": {"guarded": "yes"}},
            }
        ],
    }
    assert (
        raw(cluster, "POST", "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", mutating)[
            0
        ]
        == 201
    )
    assert (
        raw(
            cluster,
            "POST",
            "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
            validating,
        )[0]
        == 201
    )
    cluster.kubectl(
        "apply",
        "-f",
        "-",
        input=json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": "guarded", "labels": {"guarded": "yes"}},
            }
        ),
    )
    try:
        yield wh
    finally:
        cluster.run(wh.stop())


def _cm(name: str, labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels or {}},
        "data": data,
    }


def test_mutating_webhook_by_service_reference(cluster: ServerThread, hook: Webhook) -> None:
    status, made = raw(cluster, "POST", "/api/v1/namespaces/default/configmaps", _cm("m1", {"hook": "yes"}))
    assert status == 201 and made["metadata"]["labels"] == {"hook": "yes", "mutated": "true"}
    request = hook.reviews[-1]["request"]
    assert request["operation"] == "CREATE" and request["userInfo"]["username"] == "kubernetes-admin"
    assert request["resource"] == {"group": "", "version": "v1", "resource": "configmaps"}
    assert request["kind"]["kind"] == "ConfigMap" and request["namespace"] == "default"
    status, plain = raw(cluster, "POST", "/api/v1/namespaces/default/configmaps", _cm("m2"))
    assert status == 201 and plain["metadata"]["labels"] == {}
    assert cluster.server is not None
    token = cluster.call(cluster.server.mint_service_account_token, "default", "skipper")
    editor = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "skipper-edit", "namespace": "default"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"kind": "ServiceAccount", "name": "skipper", "namespace": "default"}],
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(editor))
    status, skipped = raw(
        cluster, "POST", "/api/v1/namespaces/default/configmaps", _cm("m3", {"hook": "yes"}), token=token
    )
    assert status == 201 and skipped["metadata"]["labels"] == {"hook": "yes"}


def test_validating_webhook_denies_with_its_message(cluster: ServerThread, hook: Webhook) -> None:
    denied = cluster.kubectl(
        "apply", "-n", "guarded", "-f", "-", input=json.dumps(_cm("v1", bad="1")), check=False
    )
    assert denied.returncode != 0
    assert 'admission webhook "deny.example.com" denied the request: bad data' in denied.stderr
    cluster.kubectl("apply", "-n", "guarded", "-f", "-", input=json.dumps(_cm("v2", good="1")))
    update = cluster.kubectl(
        "patch",
        "configmap",
        "v2",
        "-n",
        "guarded",
        "--type",
        "merge",
        "-p",
        '{"data":{"bad":"x"}}',
        check=False,
    )
    assert "denied the request: bad data" in update.stderr
    assert hook.reviews[-1]["request"]["operation"] == "UPDATE"
    assert hook.reviews[-1]["request"]["oldObject"]["data"] == {"good": "1"}
    # outside the selected namespaces the webhook is not called
    cluster.kubectl("apply", "-f", "-", input=json.dumps(_cm("v3", bad="1")))


def test_failure_policy_and_match_condition_syntax(cluster: ServerThread, hook: Webhook) -> None:
    dead = _free_port()

    def config(name: str, policy: str) -> dict[str, Any]:
        return {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": name},
            "webhooks": [
                {
                    "name": f"{name}.example.com",
                    "sideEffects": "None",
                    "admissionReviewVersions": ["v1"],
                    "failurePolicy": policy,
                    "timeoutSeconds": 2,
                    "clientConfig": {"url": f"https://127.0.0.1:{dead}/x"},
                    "rules": [
                        {
                            "operations": ["CREATE"],
                            "apiGroups": [""],
                            "apiVersions": ["v1"],
                            "resources": ["secrets"],
                        }
                    ],
                }
            ],
        }

    path = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"
    assert raw(cluster, "POST", path, config("lenient", "Ignore"))[0] == 201
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s1"}}
    assert raw(cluster, "POST", "/api/v1/namespaces/default/secrets", secret)[0] == 201
    assert raw(cluster, "POST", path, config("strict", "Fail"))[0] == 201
    status, body = raw(
        cluster, "POST", "/api/v1/namespaces/default/secrets", {**secret, "metadata": {"name": "s2"}}
    )
    assert status == 500 and 'failed calling webhook "strict.example.com"' in body["message"]
    assert raw(cluster, "DELETE", f"{path}/strict")[0] == 200
    assert raw(cluster, "DELETE", f"{path}/lenient")[0] == 200
    bad = config("cel", "Fail")
    bad["webhooks"][0]["matchConditions"] = [{"name": "x", "expression": "object.spec.size() > 3"}]
    status, body = raw(cluster, "POST", path, bad)
    assert status == 422 and "unsupported matchCondition expression" in body["message"]


def test_concurrent_patches_through_a_webhook_are_not_lost(cluster: ServerThread, hook: Webhook) -> None:
    from concurrent.futures import ThreadPoolExecutor

    cluster.kubectl("apply", "-n", "guarded", "-f", "-", input=json.dumps(_cm("race", seed="0")))
    path = "/api/v1/namespaces/guarded/configmaps/race"

    def patch(i: int) -> int:
        return raw(cluster, "PATCH", path, {"data": {f"k{i}": str(i)}}, ctype="application/merge-patch+json")[
            0
        ]

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(patch, range(12))) == {200}
    data = raw(cluster, "GET", path)[1]["data"]
    assert {f"k{i}" for i in range(12)} <= set(data)
