"""Deployments, Services/Endpoints, garbage collection and namespace deletion."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import yaml

from .conftest import get_json, kubectl, wait_for

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: http
        image: python
        command: [python3, -m, http.server, "8000", --bind, "$(POD_IP)", --directory, /srv]
        env:
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        ports: [{name: http, containerPort: 8000}]
        readinessProbe:
          httpGet: {path: /, port: http}
          periodSeconds: 1
        volumeMounts: [{name: content, mountPath: /srv}]
      volumes:
      - name: content
        configMap: {name: web-content}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-content}
data: {index.html: "hello from web"}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
"""


def test_deployment_becomes_available_and_its_service_answers(local_cluster: Any, namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", stdin=DEPLOYMENT)
    kubectl("wait", "-n", namespace, "--for=condition=available", "deployment/web", "--timeout=60s")
    kubectl("rollout", "status", "-n", namespace, "deployment/web", "--timeout=60s")
    dep = get_json("-n", namespace, "deployment/web")
    status = dep["status"]
    assert (
        status["replicas"],
        status["readyReplicas"],
        status["availableReplicas"],
        status["updatedReplicas"],
    ) == (2, 2, 2, 2)
    assert status["observedGeneration"] == dep["metadata"]["generation"]
    conds = {c["type"]: c for c in status["conditions"]}
    assert conds["Available"]["reason"] == "MinimumReplicasAvailable"
    assert conds["Progressing"]["reason"] == "NewReplicaSetAvailable"
    pods = get_json("-n", namespace, "pods", "-l", "app=web")["items"]
    assert len({p["status"]["podIP"] for p in pods}) == 2
    assert len({p["metadata"]["labels"]["pod-template-hash"] for p in pods}) == 1

    def service_ip() -> str:
        return str(get_json("-n", namespace, "service/web")["spec"].get("clusterIP") or "")

    ip = wait_for(service_ip)
    assert ip in {p["status"]["podIP"] for p in pods}
    ep = get_json("-n", namespace, "endpoints/web")
    assert sorted(a["ip"] for a in ep["subsets"][0]["addresses"]) == sorted(
        p["status"]["podIP"] for p in pods
    )
    assert ep["subsets"][0]["ports"] == [{"name": "http", "port": 8000, "protocol": "TCP"}]
    with urllib.request.urlopen(f"http://{ip}:8000/index.html", timeout=10) as resp:
        assert resp.read() == b"hello from web"

    # A template change rolls out new Pods and retires the old ones.
    kubectl("set", "env", "-n", namespace, "deployment/web", "ROLL=1")
    kubectl("rollout", "status", "-n", namespace, "deployment/web", "--timeout=60s")

    def rolled() -> bool:
        items = get_json("-n", namespace, "pods", "-l", "app=web")["items"]
        live = [p for p in items if not p["metadata"].get("deletionTimestamp")]
        return len(live) == 2 and all(
            any(e.get("name") == "ROLL" for e in p["spec"]["containers"][0].get("env") or []) for p in live
        )

    wait_for(rolled, timeout=60)
    new_ip = wait_for(lambda: service_ip() if service_ip() != ip else "", timeout=60)
    with urllib.request.urlopen(f"http://{new_ip}:8000/index.html", timeout=10) as resp:
        assert resp.read() == b"hello from web"
    kubectl("delete", "-n", namespace, "deployment/web", "--timeout=60s")
    wait_for(lambda: not get_json("-n", namespace, "pods", "-l", "app=web")["items"], timeout=60)


def test_selectorless_service_takes_its_manual_endpoint(local_cluster: Any, namespace: str) -> None:
    docs = [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "db"},
            "spec": {"ports": [{"port": 6789}]},
        },
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "db"},
            "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": 6789}]}],
        },
    ]
    kubectl("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump_all(docs))
    wait_for(lambda: get_json("-n", namespace, "service/db")["spec"].get("clusterIP") == "127.0.0.1")


def test_pods_resolve_service_names(local_cluster: Any, namespace: str) -> None:
    docs = [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "backend"},
            "spec": {"ports": [{"port": 1}]},
        },
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "backend"},
            "subsets": [{"addresses": [{"ip": "127.0.0.7"}], "ports": [{"port": 1}]}],
        },
    ]
    kubectl("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump_all(docs))
    wait_for(lambda: get_json("-n", namespace, "service/backend")["spec"].get("clusterIP") == "127.0.0.7")
    script = (
        "import socket\n"
        f"svc = 'backend.{namespace}'\n"
        "for n in ['backend', svc, svc + '.svc', svc + '.svc.cluster.local']:\n"
        "    print(socket.gethostbyname(n))\n"
    )
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "resolver"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "m", "image": "python", "command": ["python3", "-c", script]}],
        },
    }
    kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(pod))
    wait_for(
        lambda: get_json("-n", namespace, "pod/resolver")["status"].get("phase") in ("Succeeded", "Failed")
    )
    assert kubectl("logs", "-n", namespace, "resolver").stdout.split() == ["127.0.0.7"] * 4


def _job(name: str) -> str:
    return json.dumps(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name},
            "spec": {
                "parallelism": 2,
                "completions": 2,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [
                            {
                                "name": "m",
                                "image": "busybox",
                                "command": [
                                    "sh",
                                    "-c",
                                    "trap 'sleep 1; exit 0' TERM; while true; do sleep 0.1; done",
                                ],
                            }
                        ],
                    }
                },
            },
        }
    )


def _running_pods(namespace: str, job: str) -> list[dict[str, Any]]:
    return [
        p
        for p in get_json("-n", namespace, "pods", "-l", f"job-name={job}")["items"]
        if (p.get("status") or {}).get("phase") == "Running"
    ]


def test_deleting_a_job_deletes_its_pods_background(local_cluster: Any, namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", stdin=_job("bg"))
    wait_for(lambda: len(_running_pods(namespace, "bg")) == 2, timeout=60)
    kubectl("delete", "-n", namespace, "job/bg", "--cascade=background")
    wait_for(lambda: not get_json("-n", namespace, "pods", "-l", "job-name=bg")["items"], timeout=60)


def test_deleting_a_job_deletes_its_pods_foreground(local_cluster: Any, namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", stdin=_job("fg"))
    wait_for(lambda: len(_running_pods(namespace, "fg")) == 2, timeout=60)
    held = _running_pods(namespace, "fg")[0]["metadata"]["name"]
    kubectl(
        "patch",
        "-n",
        namespace,
        f"pod/{held}",
        "--type=json",
        "-p",
        '[{"op": "add", "path": "/metadata/finalizers/-", "value": "example.com/hold"}]',
    )
    kubectl("delete", "-n", namespace, "job/fg", "--cascade=foreground", "--wait=false")
    # Foreground: the owner stays (foregroundDeletion) while a blocking dependent exists.
    wait_for(
        lambda: get_json("-n", namespace, f"pod/{held}")["metadata"].get("deletionTimestamp"), timeout=60
    )
    job = get_json("-n", namespace, "job/fg")
    assert job["metadata"]["deletionTimestamp"] and "foregroundDeletion" in job["metadata"]["finalizers"]
    kubectl(
        "patch", "-n", namespace, f"pod/{held}", "--type=merge", "-p", '{"metadata": {"finalizers": null}}'
    )
    kubectl("wait", "-n", namespace, "--for=delete", "job/fg", "--timeout=60s")
    assert not get_json("-n", namespace, "pods", "-l", "job-name=fg")["items"]


def test_orphan_deletion_keeps_pods_and_drops_the_owner_reference(local_cluster: Any, namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", stdin=_job("orph"))
    wait_for(lambda: len(_running_pods(namespace, "orph")) == 2, timeout=60)
    kubectl("delete", "-n", namespace, "job/orph", "--cascade=orphan", "--timeout=60s")
    pods = get_json("-n", namespace, "pods", "-l", "job-name=orph")["items"]
    assert len(pods) == 2 and all(not p["metadata"].get("ownerReferences") for p in pods)
    kubectl("delete", "-n", namespace, "pods", "-l", "job-name=orph", "--grace-period=1", "--timeout=60s")


def test_namespace_deletion_cascades(local_cluster: Any, namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", stdin=_job("inns"))
    kubectl(
        "create",
        "-n",
        namespace,
        "-f",
        "-",
        stdin=json.dumps(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}}
        ),
    )
    wait_for(lambda: len(_running_pods(namespace, "inns")) == 2, timeout=60)
    kubectl("delete", "namespace", namespace, "--timeout=90s", timeout=100)
    assert kubectl("get", "namespace", namespace, check=False).returncode != 0
    assert not get_json("pods", "-A", "-l", "job-name=inns")["items"]


CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"""


def test_garbage_collection_follows_custom_resource_owners(local_cluster: Any, namespace: str) -> None:
    kubectl("apply", "-f", "-", stdin=CRD)
    kubectl("wait", "--for=condition=established", "crd/widgets.example.com", "--timeout=30s")
    wait_for(lambda: kubectl("get", "-n", namespace, "widgets", check=False).returncode == 0, timeout=30)
    kubectl(
        "apply",
        "-n",
        namespace,
        "-f",
        "-",
        stdin=json.dumps({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}),
    )
    owner = get_json("-n", namespace, "widget/w")
    child = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "child",
            "ownerReferences": [
                {
                    "apiVersion": "example.com/v1",
                    "kind": "Widget",
                    "name": "w",
                    "uid": owner["metadata"]["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
    }
    kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(child))
    kubectl("delete", "-n", namespace, "widget/w", "--timeout=60s")
    wait_for(
        lambda: kubectl("get", "-n", namespace, "configmap/child", check=False).returncode != 0, timeout=60
    )


def test_deployment_scales_and_recreates(local_cluster: Any, namespace: str) -> None:
    dep = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "s"},
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": {"app": "s"}},
            "template": {
                "metadata": {"labels": {"app": "s"}},
                "spec": {"containers": [{"name": "m", "image": "busybox", "command": ["sleep", "300"]}]},
            },
        },
    }
    kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(dep))
    kubectl("scale", "-n", namespace, "deployment/s", "--replicas=3")
    kubectl("rollout", "status", "-n", namespace, "deployment/s", "--timeout=60s")

    def live() -> list[dict[str, Any]]:
        return [
            p
            for p in get_json("-n", namespace, "pods", "-l", "app=s")["items"]
            if not p["metadata"].get("deletionTimestamp")
        ]

    wait_for(lambda: len(live()) == 3, timeout=60)
    kubectl("scale", "-n", namespace, "deployment/s", "--replicas=1")
    wait_for(
        lambda: len(live()) == 1 and get_json("-n", namespace, "deployment/s")["status"].get("replicas") == 1,
        timeout=60,
    )
    old_hash = live()[0]["metadata"]["labels"]["pod-template-hash"]
    kubectl("set", "env", "-n", namespace, "deployment/s", "V=2")
    kubectl("rollout", "status", "-n", namespace, "deployment/s", "--timeout=60s")
    wait_for(
        lambda: (
            [p for p in live() if p["metadata"]["labels"]["pod-template-hash"] != old_hash]
            and all(p["metadata"]["labels"]["pod-template-hash"] != old_hash for p in live())
        ),
        timeout=60,
    )
    kubectl("delete", "-n", namespace, "deployment/s", "--timeout=60s")
