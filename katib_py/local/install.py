"""Install katib-py into a cluster: CRDs, the core namespace, katib-config, the db-manager Service.

`katib-py up` and the end-to-end tests use it on the embedded control plane; it only speaks the
Kubernetes API, so it works on any cluster (the helm chart is the usual way there).
"""

from __future__ import annotations

import asyncio
import time

from katib_py.api.config import default_config_text
from katib_py.api.crd import KINDS, build_crd
from katib_py.kube.client import KubeClient, Obj
from katib_py.kube.errors import ApiError
from katib_py.kube.resource import CONFIGMAPS, CRDS, ENDPOINTS, NAMESPACES, SERVICES, Resource

INJECTION_LABEL = "katib.kubeflow.org/metrics-collector-injection"
DB_MANAGER_SERVICE = "katib-db-manager"
DB_MANAGER_PORT = 6789


async def apply(kube: KubeClient, kind: Resource, obj: Obj, namespace: str | None = None) -> Obj:
    """Create, or replace what exists (keeping its resourceVersion)."""
    created = await kube.create_if_absent(kind, obj, namespace)
    if created is not None:
        return created
    current = await kube.get_or_none(kind, obj["metadata"]["name"], namespace)
    assert current is not None
    obj = {
        **obj,
        "metadata": {**obj["metadata"], "resourceVersion": current["metadata"].get("resourceVersion")},
    }
    replaced: Obj = await kube.request("PUT", kind.path(namespace, obj["metadata"]["name"]), body=obj)
    return replaced


async def install_crds(kube: KubeClient, timeout: float = 30.0) -> None:
    for kind in KINDS:
        await apply(kube, CRDS, build_crd(kind))
    deadline = time.monotonic() + timeout
    while True:
        try:
            listing = await kube.request("GET", "/apis/kubeflow.org/v1beta1")
            served = {r.get("name") for r in listing.get("resources") or []}
            if {"experiments", "suggestions", "trials"} <= served:
                return
        except ApiError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("the Katib CRDs were not served in time")
        await asyncio.sleep(0.1)


async def install(
    kube: KubeClient,
    *,
    db_manager_ip: str,
    db_manager_port: int = DB_MANAGER_PORT,
    db_manager_service_port: int = DB_MANAGER_PORT,
    core_namespace: str = "kubeflow",
    katib_config_text: str | None = None,
    trial_namespaces: tuple[str, ...] = ("default",),
) -> None:
    """Everything but the processes: CRDs, namespace, katib-config, db-manager Service + Endpoints.

    `db_manager_service_port`: the Service's port (Katib's 6789 unless the host holds it; the
    operator is then told with KATIB_DB_MANAGER_SERVICE_PORT)."""
    await install_crds(kube)
    await kube.create_if_absent(
        NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": core_namespace}}
    )
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "katib-config", "namespace": core_namespace},
        "data": {"katib-config.yaml": katib_config_text or default_config_text()},
    }
    await apply(kube, CONFIGMAPS, config, core_namespace)
    ports = [
        {"name": "api", "port": db_manager_service_port, "targetPort": db_manager_port, "protocol": "TCP"}
    ]
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": DB_MANAGER_SERVICE, "namespace": core_namespace},
        "spec": {"ports": ports},
    }
    if await kube.create_if_absent(SERVICES, service, core_namespace) is None:  # kept from a previous run
        await kube.patch(SERVICES, DB_MANAGER_SERVICE, {"spec": {"ports": ports}}, core_namespace)
    endpoints = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": DB_MANAGER_SERVICE, "namespace": core_namespace},
        "subsets": [
            {
                "addresses": [{"ip": db_manager_ip}],
                "ports": [{"name": "api", "port": db_manager_port, "protocol": "TCP"}],
            }
        ],
    }
    await apply(kube, ENDPOINTS, endpoints, core_namespace)
    for namespace in trial_namespaces:
        await kube.create_if_absent(
            NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        )
        await kube.patch(NAMESPACES, namespace, {"metadata": {"labels": {INJECTION_LABEL: "enabled"}}})
