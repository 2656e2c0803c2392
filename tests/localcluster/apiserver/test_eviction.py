"""The `pods/eviction` subresource, as kube-apiserver serves it (pkg/registry/core/pod/storage/
eviction.go): DisruptionTarget first, then a graceful delete; and the kubelet keeps the condition."""

from __future__ import annotations

import json
from typing import Any

import pytest

from katib_py.kube.errors import BadRequest
from katib_py.localcluster.apiserver import eviction
from katib_py.localcluster.kubelet import status as kubelet_status

from .harness import ServerThread, raw


def _pod(name: str, node: str | None = "local") -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "9"]}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def _evict(st: ServerThread, name: str, body: Any = None) -> tuple[int, Any]:
    body = body or {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name}}
    return raw(st, "POST", f"/api/v1/namespaces/default/pods/{name}/eviction", body)


def test_an_evicted_pod_is_marked_as_disrupted_then_deleted_gracefully(cluster: ServerThread) -> None:
    cluster.kubectl("apply", "-f", "-", input=json.dumps(_pod("evictee")))
    path = "/api/v1/namespaces/default/pods/evictee/eviction"
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "evictee"}}
    out = cluster.kubectl("create", "--raw", path, "-f", "-", input=json.dumps(body))
    assert json.loads(out.stdout) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {},
        "code": 201,
    }
    pod = cluster.kubectl_json("get", "pod", "evictee")
    assert pod["metadata"]["deletionTimestamp"]
    (target,) = [c for c in pod["status"]["conditions"] if c["type"] == "DisruptionTarget"]
    assert (target["status"], target["reason"], target["message"]) == (
        "True",
        "EvictionByEvictionAPI",
        "Eviction API: evicting",
    )


def test_an_unscheduled_pod_goes_at_once(cluster: ServerThread) -> None:
    cluster.kubectl("apply", "-f", "-", input=json.dumps(_pod("pending", node=None)))
    assert _evict(cluster, "pending")[0] == 201
    assert cluster.kubectl("get", "pod", "pending", check=False).returncode != 0


def test_evictions_of_the_wrong_or_a_missing_pod_are_refused(cluster: ServerThread) -> None:
    cluster.kubectl("apply", "-f", "-", input=json.dumps(_pod("keeper")))
    code, status = _evict(cluster, "keeper", {"kind": "Eviction", "metadata": {"name": "other"}})
    assert code == 400 and status["message"] == "name in URL does not match name in Eviction object"
    assert _evict(cluster, "nobody")[0] == 404
    code, _ = raw(cluster, "GET", "/api/v1/namespaces/default/pods/keeper/eviction")
    assert code == 405
    assert "deletionTimestamp" not in cluster.kubectl_json("get", "pod", "keeper")["metadata"]


def test_discovery_lists_the_subresource(cluster: ServerThread) -> None:
    code, doc = raw(cluster, "GET", "/api/v1")
    assert code == 200
    (entry,) = [r for r in doc["resources"] if r["name"] == "pods/eviction"]
    assert (entry["kind"], entry["group"], entry["version"], entry["verbs"]) == (
        "Eviction",
        "policy",
        "v1",
        ["create"],
    )


def test_eviction_bodies() -> None:
    assert eviction.check_body({"kind": "Eviction", "deleteOptions": {"gracePeriodSeconds": 0}}, "p") == {
        "gracePeriodSeconds": 0
    }
    with pytest.raises(BadRequest):
        eviction.check_body({"kind": "Pod"}, "p")
    with pytest.raises(BadRequest):
        eviction.check_body([], "p")
    marked = {"status": {"conditions": [{"type": "DisruptionTarget", "status": "True"}]}}
    assert eviction.disruption_conditions(marked, "t") is None


def test_the_kubelet_keeps_conditions_it_does_not_own() -> None:
    previous = [
        {"type": "Ready", "status": "True"},
        {"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI"},
    ]
    assert kubelet_status.foreign_conditions(previous) == [previous[1]]
    assert kubelet_status.foreign_conditions(None) == []
