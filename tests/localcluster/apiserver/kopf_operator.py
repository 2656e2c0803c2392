"""A small kopf operator for the conformance test: finalizer, status, child object, admission webhook."""

from __future__ import annotations

import os
from typing import Any

import kopf
import kubernetes


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    kubernetes.config.load_kube_config()
    settings.admission.server = kopf.WebhookServer(
        host="127.0.0.1",
        port=int(os.environ["HOOK_PORT"]),
        certfile=os.environ["HOOK_CERT"],
        pkeyfile=os.environ["HOOK_KEY"],
        cafile=os.environ["HOOK_CA"],
    )
    settings.admission.managed = "widgets.example.com"
    settings.persistence.finalizer = "example.com/kopf-finalizer"
    settings.watching.server_timeout = 20


@kopf.on.validate("example.com", "v1", "widgets", id="size-check")
def check_size(spec: Any, userinfo: Any, **_: Any) -> None:
    if spec.get("size", 0) > 50:
        raise kopf.AdmissionError(
            f"size {spec['size']} is too big (asked by {userinfo['username']})", code=400
        )


@kopf.on.create("example.com", "v1", "widgets")
def create_child(spec: Any, name: str, namespace: Any, **_: Any) -> dict[str, str]:
    child = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{name}-child"},
        "data": {"size": str(spec["size"])},
    }
    kopf.adopt(child)
    kubernetes.client.CoreV1Api().create_namespaced_config_map(namespace, child)
    return {"child": f"{name}-child"}


@kopf.on.delete("example.com", "v1", "widgets")
def delete_child(name: str, namespace: Any, **_: Any) -> None:
    kubernetes.client.CoreV1Api().patch_namespaced_config_map(
        f"{name}-child", namespace, {"metadata": {"annotations": {"example.com/parent-deleted": "yes"}}}
    )
