"""One embedded control plane for the webhook tests, with Katib's CRDs and a labelled namespace."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from katib_py.kube.client import KubeClient
from katib_py.kube.resource import CRDS
from katib_py.localcluster.cluster import LocalCluster
from katib_py.localcluster.pytest_plugin import local_cluster_fixture
from katib_py.webhook import context

REPO = Path(__file__).resolve().parents[2]

webhook_cluster = local_cluster_fixture("webhook_cluster", scope="session")


def kube_for(cluster: LocalCluster) -> KubeClient:
    assert cluster.server is not None
    return KubeClient(
        cluster.url, authorization=f"Bearer {cluster.token}", ssl_context=cluster.server.client_ssl_context()
    )


@pytest.fixture(scope="session")
def cluster(webhook_cluster: LocalCluster) -> Iterator[LocalCluster]:
    """The cluster with Katib's CRDs installed."""

    async def install() -> None:
        kube = kube_for(webhook_cluster)
        try:
            for doc in yaml.safe_load_all((REPO / "crds" / "all.yaml").read_text()):
                if doc:
                    await kube.create_if_absent(CRDS, doc)
        finally:
            await kube.close()

    asyncio.run(install())
    yield webhook_cluster


@pytest.fixture
async def kube(cluster: LocalCluster) -> AsyncIterator[KubeClient]:
    """A client for this test's event loop, also installed as the webhook handlers' client."""
    client = kube_for(cluster)
    saved = copy.copy(context.CONTEXT)
    context.configure(kube=client, core_namespace="kubeflow", operator_username=None, native_sidecar=None)
    try:
        yield client
    finally:
        for field in ("kube", "settings", "detected_native_sidecar"):
            setattr(context.CONTEXT, field, getattr(saved, field))
        await client.close()


async def make_namespace(kube: KubeClient, labelled: bool = True) -> str:
    from katib_py.kube.resource import NAMESPACES

    name = f"ns-{uuid.uuid4().hex[:8]}"
    labels = {"katib.kubeflow.org/metrics-collector-injection": "enabled"} if labelled else {}
    await kube.create(
        NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
    )
    return name


def experiment(name: str = "random-exp", namespace: str = "default", **spec_overrides: Any) -> dict[str, Any]:
    """A valid, defaulted-or-not Experiment in Katib's shape."""
    spec: dict[str, Any] = {
        "objective": {"type": "maximize", "goal": 0.99, "objectiveMetricName": "accuracy"},
        "algorithm": {"algorithmName": "random"},
        "parallelTrialCount": 2,
        "maxTrialCount": 4,
        "maxFailedTrialCount": 1,
        "parameters": [
            {"name": "lr", "parameterType": "double", "feasibleSpace": {"min": "0.01", "max": "0.1"}},
        ],
        "trialTemplate": {
            "primaryContainerName": "training-container",
            "trialParameters": [{"name": "learningRate", "reference": "lr"}],
            "trialSpec": {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [
                                {
                                    "name": "training-container",
                                    "image": "python:3.11",
                                    "command": [
                                        "python3",
                                        "-c",
                                        "print('accuracy=${trialParameters.learningRate}')",
                                    ],
                                }
                            ],
                            "restartPolicy": "Never",
                        }
                    }
                },
            },
        },
    }
    spec.update(spec_overrides)
    return {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Experiment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
