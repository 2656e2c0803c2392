"""An embedded control plane with Katib's CRDs (applied with real kubectl), a KatibClient per test
in a fresh namespace, and a real db-manager on SQLite."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from katib_py.dbmanager.server import DBManagerServer
from katib_py.dbmanager.settings import DBSettings, load
from katib_py.localcluster.cluster import LocalCluster
from katib_py.localcluster.pytest_plugin import local_cluster_fixture
from katib_py.sdk import KatibClient

REPO = Path(__file__).resolve().parents[2]
KUBECTL = "/usr/bin/kubectl"
GROUP, VERSION = "kubeflow.org", "v1beta1"

sdk_cluster = local_cluster_fixture("sdk_cluster", scope="session")


def kubectl(kubeconfig: Path, *args: str) -> str:
    proc = subprocess.run(
        [KUBECTL, "--kubeconfig", str(kubeconfig), *args], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, f"kubectl {' '.join(args)} failed: {proc.stderr}{proc.stdout}"
    return proc.stdout


@pytest.fixture(scope="session")
def cluster(sdk_cluster: LocalCluster) -> LocalCluster:
    """The cluster with the CRDs installed and established."""
    kubectl(sdk_cluster.kubeconfig, "apply", "-f", str(REPO / "crds" / "all.yaml"))
    for crd in ("experiments", "suggestions", "trials"):
        kubectl(
            sdk_cluster.kubeconfig,
            "wait",
            "--for=condition=Established",
            f"crd/{crd}.kubeflow.org",
            "--timeout=60s",
        )
    return sdk_cluster


@pytest.fixture(scope="session")
def kube_api(cluster: LocalCluster) -> Iterator[k8s.ApiClient]:
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(config_file=str(cluster.kubeconfig), client_configuration=configuration)
    api = k8s.ApiClient(configuration)
    yield api
    api.close()


@pytest.fixture
def namespace(kube_api: k8s.ApiClient) -> Iterator[str]:
    name = f"sdk-{uuid.uuid4().hex[:8]}"
    core = k8s.CoreV1Api(kube_api)
    core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    core.delete_namespace(name)


@pytest.fixture
def katib(cluster: LocalCluster, namespace: str) -> Iterator[KatibClient]:
    katib_client = KatibClient(config_file=str(cluster.kubeconfig), namespace=namespace)
    yield katib_client
    katib_client.close()


@pytest.fixture
def custom(kube_api: k8s.ApiClient) -> k8s.CustomObjectsApi:
    return k8s.CustomObjectsApi(kube_api)


def patch_status(custom: k8s.CustomObjectsApi, plural: str, namespace: str, name: str, status: Any) -> None:
    """What the controller does: merge-patch the status subresource."""
    custom.patch_namespaced_custom_object_status(GROUP, VERSION, namespace, plural, name, {"status": status})


@pytest.fixture
def db_manager(tmp_path: Path) -> Iterator[str]:
    """A real db-manager gRPC server on SQLite; yields its address."""
    settings = DBSettings(load(env={}, db_url=f"sqlite:///{tmp_path / 'katib.db'}").url)
    server = DBManagerServer(settings, "127.0.0.1:0", connect_timeout=2)
    server.start()
    try:
        assert server.ready.wait(60), "db-manager never reached its database"
        yield f"127.0.0.1:{server.port}"
    finally:
        server.stop(grace=1)


@pytest.fixture
def trial_env(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Set KATIB_TRIAL_NAME the way the pod webhook does for report_metrics."""

    def set_trial(name: str) -> None:
        monkeypatch.setenv("KATIB_TRIAL_NAME", name)

    yield set_trial
    os.environ.pop("KATIB_TRIAL_NAME", None)
