"""Drive the API server with the real kubectl: CRDs, CRUD, patch types, status, Table, watch, explain."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from .harness import KUBECTL, ServerThread, raw, widget


def test_requests_without_token_get_401(cluster: ServerThread) -> None:
    assert cluster.server is not None
    ctx = cluster.server.client_ssl_context()
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        req = urllib.request.Request(cluster.server.url + "/api/v1/namespaces", headers=headers)
        try:
            urllib.request.urlopen(req, context=ctx)
            raise AssertionError("expected 401")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
            body = json.loads(exc.read())
            assert body["kind"] == "Status" and body["reason"] == "Unauthorized"
    with urllib.request.urlopen(cluster.server.url + "/healthz", context=ctx) as resp:
        assert resp.read() == b"ok"


def test_version_and_discovery(cluster: ServerThread) -> None:
    assert "Server Version: v1.32" in cluster.kubectl("version").stdout
    resources = cluster.kubectl("api-resources").stdout
    assert "widgets" in resources and "wd" in resources and "example.com/v1" in resources
    assert "deployments" in resources and "customresourcedefinitions" in resources
    kinds = cluster.kubectl("api-resources", "--api-group=example.com", "-o", "wide").stdout
    assert "Widget" in kinds and "watch" in kinds


def test_apply_get_in_every_output(cluster: ServerThread) -> None:
    cluster.kubectl("apply", "-f", "-", input=widget("w1", size=3, note="hello"))
    obj = cluster.kubectl_json("get", "widget", "w1")
    meta = obj["metadata"]
    assert meta["uid"] and meta["creationTimestamp"] and meta["generation"] == 1
    assert int(meta["resourceVersion"]) > 0
    assert obj["spec"]["color"] == "red"  # schema default
    assert "size: 3" in cluster.kubectl("get", "widget", "w1", "-o", "yaml").stdout
    assert cluster.kubectl("get", "wd", "-o", "name").stdout.split() == ["widget.example.com/w1"]
    table = cluster.kubectl("get", "widgets").stdout.splitlines()
    assert table[0].split() == ["NAME", "SIZE", "COLOR", "PHASE", "AGE"]
    assert table[1].split()[:3] == ["w1", "3", "red"]
    wide = cluster.kubectl("get", "widgets", "-o", "wide").stdout.splitlines()
    assert wide[0].split()[-1] == "NOTE" and wide[1].split()[-1] == "hello"
    everything = cluster.kubectl("get", "all").stdout
    assert "widget.example.com/w1" in everything


def test_reapply_bumps_generation_and_strict_validation(cluster: ServerThread) -> None:
    cluster.kubectl("apply", "-f", "-", input=widget("w2", size=1))
    cluster.kubectl("apply", "-f", "-", input=widget("w2", size=2))
    assert cluster.kubectl_json("get", "widget", "w2")["metadata"]["generation"] == 2
    bad = cluster.kubectl("apply", "-f", "-", input=widget("w3", size=1, foo="x"), check=False)
    assert bad.returncode != 0 and 'unknown field "spec.foo"' in bad.stderr
    free = cluster.kubectl("apply", "-f", "-", input=widget("w3", size=1, free={"any": {"thing": 1}}))
    assert free.returncode == 0
    assert cluster.kubectl_json("get", "widget", "w3")["spec"]["free"] == {"any": {"thing": 1}}
    enum = cluster.kubectl("apply", "-f", "-", input=widget("w4", size=1, color="pink"), check=False)
    assert 'spec.color: Unsupported value: "pink": supported values: "red", "green", "blue"' in enum.stderr
    big = cluster.kubectl("apply", "-f", "-", input=widget("w4", size=101), check=False)
    assert "spec.size in body should be less than or equal to 100" in big.stderr
    missing = cluster.kubectl(
        "apply",
        "-f",
        "-",
        input=json.dumps(
            {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w4"}, "spec": {}}
        ),
        check=False,
    )
    assert "spec.size: Required value" in missing.stderr


def test_patch_types_and_status_subresource(cluster: ServerThread) -> None:
    cluster.kubectl("apply", "-f", "-", input=widget("p1", size=1))
    cluster.kubectl("patch", "widget", "p1", "--type", "merge", "-p", '{"spec":{"size":5}}')
    cluster.kubectl(
        "patch",
        "widget",
        "p1",
        "--type",
        "json",
        "-p",
        '[{"op":"test","path":"/spec/size","value":5},{"op":"replace","path":"/spec/color","value":"blue"}]',
    )
    obj = cluster.kubectl_json("get", "widget", "p1")
    assert obj["spec"] == {"size": 5, "color": "blue"} and obj["metadata"]["generation"] == 3
    failed = cluster.kubectl(
        "patch",
        "widget",
        "p1",
        "--type",
        "json",
        "-p",
        '[{"op":"test","path":"/spec/size","value":9}]',
        check=False,
    )
    assert failed.returncode != 0 and "test failed" in failed.stderr
    strategic = cluster.kubectl(
        "patch", "widget", "p1", "--type", "strategic", "-p", '{"spec":{"size":1}}', check=False
    )
    assert strategic.returncode != 0 and "strategic-merge-patch" in strategic.stderr
    cluster.kubectl(
        "patch",
        "widget",
        "p1",
        "--subresource=status",
        "--type",
        "merge",
        "-p",
        '{"status":{"conditions":[{"type":"Ready","status":"True"}]}}',
    )
    # status sent to the main resource is ignored when the status subresource exists
    cluster.kubectl("patch", "widget", "p1", "--type", "merge", "-p", '{"status":{"conditions":[]}}')
    obj = cluster.kubectl_json("get", "widget", "p1")
    assert obj["status"]["conditions"][0]["type"] == "Ready" and obj["metadata"]["generation"] == 3
    assert cluster.kubectl("get", "widget", "p1", "--no-headers").stdout.split()[3] == "Ready"
    cluster.kubectl("label", "widget", "p1", "tier=gold")
    cluster.kubectl("annotate", "widget", "p1", "note=x")
    obj = cluster.kubectl_json("get", "widget", "p1")
    assert obj["metadata"]["labels"] == {"tier": "gold"} and obj["metadata"]["generation"] == 3


def test_server_side_apply_creates_then_merges(cluster: ServerThread) -> None:
    cluster.kubectl("apply", "--server-side", "-f", "-", input=widget("ssa", size=4))
    cluster.kubectl("apply", "--server-side", "-f", "-", input=widget("ssa", size=6, note="n"))
    obj = cluster.kubectl_json("get", "widget", "ssa")
    assert obj["spec"]["size"] == 6 and obj["spec"]["note"] == "n"


def test_strategic_merge_on_deployment_uses_merge_keys(cluster: ServerThread) -> None:
    deploy: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "a",
                            "image": "x",
                            "env": [{"name": "E1", "value": "1"}],
                            "ports": [{"containerPort": 80}],
                        },
                        {"name": "b", "image": "y"},
                    ]
                },
            },
        },
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(deploy))
    cluster.kubectl(
        "patch",
        "deployment",
        "web",
        "--type",
        "strategic",
        "-p",
        json.dumps(
            {
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [
                                {
                                    "name": "a",
                                    "env": [{"name": "E2", "value": "2"}],
                                    "ports": [{"containerPort": 81}],
                                },
                                {"name": "b", "$patch": "delete"},
                            ]
                        }
                    }
                }
            }
        ),
    )
    containers = cluster.kubectl_json("get", "deployment", "web")["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["a"]
    assert [e["name"] for e in containers[0]["env"]] == ["E1", "E2"]
    assert [p["containerPort"] for p in containers[0]["ports"]] == [80, 81]
    # kubectl apply of a built-in goes through strategic merge too
    deploy["spec"]["replicas"] = 3
    cluster.kubectl("apply", "-f", "-", input=json.dumps(deploy))
    assert cluster.kubectl_json("get", "deployment", "web")["spec"]["replicas"] == 3
    header = cluster.kubectl("get", "deployments").stdout.splitlines()[0].split()
    assert header == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    cluster.kubectl("scale", "deployment", "web", "--replicas=2")
    assert cluster.kubectl_json("get", "deployment", "web")["spec"]["replicas"] == 2


def test_replace(cluster: ServerThread) -> None:
    cluster.kubectl("apply", "-f", "-", input=widget("r1", size=1))
    obj = cluster.kubectl_json("get", "widget", "r1")
    obj["spec"]["size"] = 42
    cluster.kubectl("replace", "-f", "-", input=json.dumps(obj))
    assert cluster.kubectl_json("get", "widget", "r1")["spec"]["size"] == 42
    stale = cluster.kubectl("replace", "-f", "-", input=json.dumps(obj), check=False)
    assert stale.returncode != 0 and "the object has been modified" in stale.stderr


def test_delete_with_finalizer_then_release(cluster: ServerThread) -> None:
    doc = json.loads(widget("f1", size=1))
    doc["metadata"]["finalizers"] = ["example.com/hold"]
    cluster.kubectl("apply", "-f", "-", input=json.dumps(doc))
    cluster.kubectl("delete", "widget", "f1", "--wait=false")
    obj = cluster.kubectl_json("get", "widget", "f1")
    assert obj["metadata"]["deletionTimestamp"]
    cluster.kubectl(
        "patch", "widget", "f1", "--type", "json", "-p", '[{"op":"remove","path":"/metadata/finalizers"}]'
    )
    gone = cluster.kubectl("get", "widget", "f1", check=False)
    assert gone.returncode != 0 and 'widgets.example.com "f1" not found' in gone.stderr
    cluster.kubectl("apply", "-f", "-", input=widget("f2", size=1))
    cluster.kubectl("delete", "widget", "f2", "--timeout=20s")
    assert cluster.kubectl("get", "widget", "f2", "--ignore-not-found").stdout == ""


def test_wait_for_condition(cluster: ServerThread) -> None:
    cluster.kubectl("apply", "-f", "-", input=widget("cond", size=1))

    def later() -> None:
        time.sleep(0.5)
        cluster.kubectl(
            "patch",
            "widget",
            "cond",
            "--subresource=status",
            "--type",
            "merge",
            "-p",
            '{"status":{"conditions":[{"type":"Done","status":"True"}]}}',
        )

    t = threading.Thread(target=later)
    t.start()
    out = cluster.kubectl("wait", "--for=condition=Done", "widget/cond", "--timeout=20s")
    t.join()
    assert "condition met" in out.stdout


def test_get_watch_streams_changes(cluster: ServerThread) -> None:
    cluster.kubectl("apply", "-f", "-", input=widget("watch-a", size=1))
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
    proc = subprocess.Popen(
        [
            KUBECTL,
            f"--cache-dir={cluster.cache_dir}",
            "get",
            "widgets",
            "-w",
            "-l",
            "watched=yes",
            "--request-timeout=20s",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        time.sleep(1.0)
        doc = json.loads(widget("watch-b", size=7))
        doc["metadata"]["labels"] = {"watched": "yes"}
        cluster.kubectl("apply", "-f", "-", input=json.dumps(doc))
        cluster.kubectl("patch", "widget", "watch-b", "--type", "merge", "-p", '{"spec":{"size":8}}')
        deadline = time.monotonic() + 15
        lines: list[str] = []
        assert proc.stdout is not None
        while time.monotonic() < deadline and len(lines) < 3:
            line = proc.stdout.readline()
            if line:
                lines.append(line)
    finally:
        proc.kill()
        proc.wait()
    assert lines[0].split()[0] == "NAME"
    assert [ln.split()[1] for ln in lines[1:3]] == ["7", "8"]
    assert all(ln.split()[0] == "watch-b" for ln in lines[1:3])


def test_explain_uses_crd_schema(cluster: ServerThread) -> None:
    out = cluster.kubectl("explain", "widget.spec").stdout
    assert "What the widget should be." in out and "size" in out and "How big the widget is." in out


def test_describe_shows_object_and_events(cluster: ServerThread) -> None:
    cluster.kubectl("apply", "-f", "-", input=widget("desc", size=2))
    uid = cluster.kubectl_json("get", "widget", "desc")["metadata"]["uid"]
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": "desc."},
        "involvedObject": {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "name": "desc",
            "namespace": "default",
            "uid": uid,
        },
        "reason": "Polished",
        "message": "shiny now",
        "type": "Normal",
        "firstTimestamp": "2026-01-01T00:00:00Z",
        "lastTimestamp": "2026-01-01T00:00:00Z",
        "count": 1,
        "source": {"component": "tester"},
    }
    cluster.kubectl("create", "-f", "-", input=json.dumps(event))
    out = cluster.kubectl("describe", "widget", "desc").stdout
    assert "Name:" in out and "desc" in out and "Polished" in out and "shiny now" in out
    events = cluster.kubectl("get", "events").stdout
    assert "Polished" in events and "widget/desc" in events
    modern = cluster.kubectl_json("get", "events.v1.events.k8s.io", "--field-selector", "regarding.name=desc")
    assert any(e.get("note") == "shiny now" and e["regarding"]["name"] == "desc" for e in modern["items"])


def test_selectors_and_all_namespaces(cluster: ServerThread) -> None:
    cluster.kubectl("create", "namespace", "other", check=False)  # protobuf body: refused with 415
    cluster.kubectl(
        "apply", "-f", "-", input='{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"other"}}'
    )
    for name, labels in (("s1", {"env": "prod", "tier": "a"}), ("s2", {"env": "dev"}), ("s3", {})):
        doc = json.loads(widget(name, size=1))
        doc["metadata"]["labels"] = labels
        cluster.kubectl("apply", "-n", "other", "-f", "-", input=json.dumps(doc))

    def names(*args: str) -> list[str]:
        return sorted(cluster.kubectl("get", "widgets", "-n", "other", "-o", "name", *args).stdout.split())

    assert names("-l", "env=prod") == ["widget.example.com/s1"]
    assert names("-l", "env!=prod") == ["widget.example.com/s2", "widget.example.com/s3"]
    assert names("-l", "env in (prod,dev)") == ["widget.example.com/s1", "widget.example.com/s2"]
    assert names("-l", "env notin (prod)") == ["widget.example.com/s2", "widget.example.com/s3"]
    assert names("-l", "tier") == ["widget.example.com/s1"]
    assert names("-l", "!env") == ["widget.example.com/s3"]
    assert names("--field-selector", "metadata.name=s2") == ["widget.example.com/s2"]
    bad = cluster.kubectl("get", "widgets", "--field-selector", "spec.size=1", check=False)
    assert bad.returncode != 0 and "field label not supported: spec.size" in bad.stderr
    all_ns = cluster.kubectl("get", "widgets", "-A").stdout.splitlines()
    assert all_ns[0].split()[0] == "NAMESPACE"
    assert any(ln.split()[:2] == ["other", "s1"] for ln in all_ns)
    assert any(ln.split()[:2] == ["default", "w1"] or ln.split()[0] == "default" for ln in all_ns)


def test_builtin_tables(cluster: ServerThread) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "x", "command": ["true"]}]},
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(pod))
    lines = cluster.kubectl("get", "pods").stdout.splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert lines[1].split()[:4] == ["p", "0/1", "Pending", "0"]
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j"},
        "spec": {
            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}
        },
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(job))
    assert cluster.kubectl("get", "jobs").stdout.splitlines()[0].split() == [
        "NAME",
        "STATUS",
        "COMPLETIONS",
        "DURATION",
        "AGE",
    ]
    created = cluster.kubectl_json("get", "job", "j")
    assert (
        created["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"]
        == created["metadata"]["uid"]
    )
    assert cluster.kubectl("get", "ns").stdout.splitlines()[0].split() == ["NAME", "STATUS", "AGE"]
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}]},
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(svc))
    assert "80/TCP" in cluster.kubectl("get", "svc", "s").stdout


def test_crd_delete_removes_endpoints_and_objects(cluster: ServerThread) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Cluster",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                }
            ],
        },
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(crd))
    established = cluster.kubectl_json("get", "crd", "gadgets.example.com")["status"]["conditions"]
    assert {c["type"]: c["status"] for c in established}["Established"] == "True"
    assert cluster.kubectl("get", "crds").stdout.splitlines()[0].split() == ["NAME", "CREATED", "AT"]
    cluster.kubectl(
        "apply",
        "-f",
        "-",
        input='{"apiVersion":"example.com/v1","kind":"Gadget",'
        '"metadata":{"name":"g1"},"anything":{"goes":true}}',
    )
    assert cluster.kubectl_json("get", "gadget", "g1")["anything"] == {"goes": True}
    cluster.kubectl("delete", "crd", "gadgets.example.com")
    assert "gadgets" not in cluster.kubectl("api-resources", "--api-group=example.com").stdout
    status, _ = raw(cluster, "GET", "/apis/example.com/v1/gadgets/g1")
    assert status == 404
    cluster.kubectl("apply", "-f", "-", input=json.dumps(crd))
    status, body = raw(cluster, "GET", "/apis/example.com/v1/gadgets")
    assert status == 200 and body["items"] == []


def test_kubectl_create_generators_send_protobuf(cluster: ServerThread) -> None:
    cluster.kubectl("create", "namespace", "proto-ns")
    assert cluster.kubectl_json("get", "ns", "proto-ns")["status"]["phase"] == "Active"
    cluster.kubectl(
        "create", "configmap", "proto-cm", "-n", "proto-ns", "--from-literal=a=1", "--from-literal=b=two"
    )
    assert cluster.kubectl_json("get", "cm", "proto-cm", "-n", "proto-ns")["data"] == {"a": "1", "b": "two"}
    cluster.kubectl("create", "secret", "generic", "proto-s", "-n", "proto-ns", "--from-literal=pw=hunter2")
    secret = cluster.kubectl_json("get", "secret", "proto-s", "-n", "proto-ns")
    assert secret["type"] == "Opaque" and secret["data"] == {"pw": "aHVudGVyMg=="}
    cluster.kubectl("create", "serviceaccount", "robot", "-n", "proto-ns")
    assert cluster.kubectl_json("get", "sa", "robot", "-n", "proto-ns")["metadata"]["name"] == "robot"
    refused = cluster.kubectl("create", "job", "pj", "--image=x", "-n", "proto-ns", check=False)
    assert refused.returncode != 0 and "send application/json instead" in refused.stderr
    cluster.kubectl("label", "ns", "proto-ns", "team=x")
    assert cluster.kubectl_json("get", "ns", "proto-ns")["metadata"]["labels"]["team"] == "x"


def test_diff_uses_server_dry_run(cluster: ServerThread) -> None:
    cluster.kubectl("apply", "-f", "-", input=widget("dry", size=1))
    diff = cluster.kubectl("diff", "-f", "-", input=widget("dry", size=9), check=False)
    assert diff.returncode == 1, diff.stderr
    assert "-  size: 1" in diff.stdout and "+  size: 9" in diff.stdout
    assert cluster.kubectl_json("get", "widget", "dry")["spec"]["size"] == 1
    created = cluster.kubectl(
        "create", "--dry-run=server", "-o", "name", "-f", "-", input=widget("ghost", size=2)
    )
    assert created.stdout.strip() == "widget.example.com/ghost"
    assert cluster.kubectl("get", "widget", "ghost", "--ignore-not-found").stdout == ""
