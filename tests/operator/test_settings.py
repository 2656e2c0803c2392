"""One settings object: the operator, the Suggestion it writes and the sidecar it injects agree."""

from __future__ import annotations

import pytest

from katib_py.controller.operator import Operator, OperatorOptions
from katib_py.kube.client import KubeClient
from katib_py.settings import Settings
from katib_py.webhook.context import WebhookContext

CASES = [
    ({}, "kubeflow", "katib-db-manager.kubeflow:6789"),
    ({"KATIB_CORE_NAMESPACE": "katib"}, "katib", "katib-db-manager.katib:6789"),
    ({"KATIB_CORE_NAMESPACE": ""}, "kubeflow", "katib-db-manager.kubeflow:6789"),
    (
        {"KATIB_DB_MANAGER_SERVICE_IP": "katib-db-manager.kubeflow.svc.cluster.local"},
        "kubeflow",
        "katib-db-manager.kubeflow.svc.cluster.local:6789",
    ),
    (
        {"KATIB_DB_MANAGER_SERVICE_NAMESPACE": "db", "KATIB_DB_MANAGER_SERVICE_PORT": "7000"},
        "kubeflow",
        "katib-db-manager.db:7000",
    ),
    (
        {"KATIB_DB_MANAGER_SERVICE_IP": "10.0.0.7", "KATIB_DB_MANAGER_SERVICE_PORT": ""},
        "kubeflow",
        "10.0.0.7:6789",
    ),
]


@pytest.mark.parametrize(("env", "namespace", "address"), CASES)
async def test_operator_and_webhook_derive_the_same_names(
    env: dict[str, str], namespace: str, address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "KATIB_CORE_NAMESPACE",
        "KATIB_DB_MANAGER_SERVICE_NAMESPACE",
        "KATIB_DB_MANAGER_SERVICE_IP",
        "KATIB_DB_MANAGER_SERVICE_PORT",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    kube = KubeClient("https://127.0.0.1:1", authorization=None)
    operator = Operator(kube, OperatorOptions(metrics_addr=""))
    webhook = WebhookContext(kube=kube)
    # what the Suggestion carries, what the operator dials, what the injected sidecar gets (-s-db)
    assert operator.settings.db_manager.address == address
    assert operator.ctx.services.db_manager_address == address
    assert webhook.db_manager_address == address
    # where katib-config is read and the Lease is held, by the controllers and the webhooks alike
    assert operator.ctx.config.namespace == webhook.core_namespace == namespace
    await kube.close()


def test_a_port_that_is_not_a_number_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="KATIB_DB_MANAGER_SERVICE_PORT must be a port number, got 'x'"):
        Settings.from_env({"KATIB_DB_MANAGER_SERVICE_PORT": "x"})
