"""The `kubernetes` Python client and raw HTTP against the API server: codes, limits, watch, lifecycle."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import kubernetes
import pytest
from kubernetes.client.rest import ApiException

from .harness import WIDGET_CRD, ServerThread, raw, watch_events, widget


@pytest.fixture(scope="module")
def core(cluster: ServerThread) -> kubernetes.client.CoreV1Api:
    return kubernetes.client.CoreV1Api(cluster.api_client())


def _cm(name: str, labels: dict[str, str] | None = None, **data: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels or {}},
        "data": data,
    }


def test_create_answers_201_with_the_object(core: kubernetes.client.CoreV1Api) -> None:
    obj, status, _ = core.create_namespaced_config_map_with_http_info("default", _cm("c201", a="1"))
    assert status == 201 and obj.metadata.uid and obj.data == {"a": "1"}
    with pytest.raises(ApiException) as dup:
        core.create_namespaced_config_map("default", _cm("c201"))
    assert dup.value.status == 409
    body = json.loads(dup.value.body)
    assert body["reason"] == "AlreadyExists" and body["message"] == 'configmaps "c201" already exists'
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_config_map("nope", "default")
    assert json.loads(missing.value.body)["message"] == 'configmaps "nope" not found'


def test_stale_resource_version_put_is_409(core: kubernetes.client.CoreV1Api) -> None:
    first = core.create_namespaced_config_map("default", _cm("stale", a="1"))
    first.data = {"a": "2"}
    core.replace_namespaced_config_map("stale", "default", first)
    first.data = {"a": "3"}
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map("stale", "default", first)
    assert err.value.status == 409 and json.loads(err.value.body)["reason"] == "Conflict"
    assert core.read_namespaced_config_map("stale", "default").data == {"a": "2"}


def test_json_patch_test_failure_is_422(cluster: ServerThread) -> None:
    custom = kubernetes.client.CustomObjectsApi(cluster.api_client())
    obj = custom.create_namespaced_custom_object(
        "example.com",
        "v1",
        "default",
        "widgets",
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "jp"}, "spec": {"size": 1}},
    )
    rv = obj["metadata"]["resourceVersion"]
    ok = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "add", "path": "/metadata/finalizers", "value": ["x/y"]},
    ]
    path = "/apis/example.com/v1/namespaces/default/widgets/jp"
    status, body = raw(cluster, "PATCH", path, ok, ctype="application/json-patch+json")
    assert status == 200 and body["metadata"]["finalizers"] == ["x/y"]
    status, body = raw(cluster, "PATCH", path, ok, ctype="application/json-patch+json")
    assert status == 422 and body["reason"] == "Invalid" and "test failed" in body["message"]


def test_object_over_etcd_limit_is_413(cluster: ServerThread, core: kubernetes.client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("default", _cm("big", blob="x" * 1600000))
    body = json.loads(err.value.body)
    assert err.value.status == 413 and body["reason"] == "RequestEntityTooLarge"
    assert body["message"] == "etcdserver: request is too large"
    core.create_namespaced_config_map("default", _cm("fits", blob="x" * 1_500_000))
    status, body = raw(
        cluster,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        _cm("huge", blob="x" * (3 * 1024 * 1024 + 10)),
    )
    assert status == 413 and body["kind"] == "Status"


def test_protobuf_bodies_are_refused_with_415(cluster: ServerThread) -> None:
    status, body = raw(
        cluster, "POST", "/api/v1/namespaces", b"k8s\x00", ctype="application/vnd.kubernetes.protobuf"
    )
    assert status == 415 and "protobuf" in body["message"]


def test_generate_name_and_server_fields(core: kubernetes.client.CoreV1Api) -> None:
    made = core.create_namespaced_config_map("default", {"metadata": {"generateName": "gen-"}})
    assert made.metadata.name.startswith("gen-") and len(made.metadata.name) == 9
    again = core.create_namespaced_config_map("default", {"metadata": {"generateName": "gen-"}})
    assert again.metadata.name != made.metadata.name
    assert int(again.metadata.resource_version) > int(made.metadata.resource_version)


def test_list_paging_and_deletecollection(core: kubernetes.client.CoreV1Api) -> None:
    core.create_namespace({"metadata": {"name": "paging"}})
    for i in range(7):
        core.create_namespaced_config_map("paging", _cm(f"page-{i}", {"batch": "p"}))
    seen, token = [], None
    while True:
        page = core.list_namespaced_config_map("paging", label_selector="batch=p", limit=3, _continue=token)
        assert page.kind == "ConfigMapList" and page.metadata.resource_version
        seen += [c.metadata.name for c in page.items]
        token = page.metadata._continue
        if not token:
            break
    assert seen == [f"page-{i}" for i in range(7)]
    core.delete_collection_namespaced_config_map("paging", label_selector="batch=p")
    assert core.list_namespaced_config_map("paging", label_selector="batch=p").items == []


def test_namespace_lifecycle(cluster: ServerThread, core: kubernetes.client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as missing:
        core.create_namespaced_config_map("ghost", _cm("x"))
    assert missing.value.status == 404
    assert json.loads(missing.value.body)["message"] == 'namespaces "ghost" not found'
    ns = core.create_namespace({"metadata": {"name": "doomed"}})
    assert ns.spec.finalizers == ["kubernetes"] and ns.status.phase == "Active"
    assert core.read_namespaced_service_account("default", "doomed").metadata.name == "default"
    core.delete_namespace("doomed")
    ns = core.read_namespace("doomed")
    assert ns.status.phase == "Terminating" and ns.metadata.deletion_timestamp
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_config_map("doomed", _cm("late"))
    assert refused.value.status == 403
    assert "because it is being terminated" in json.loads(refused.value.body)["message"]
    body = core.read_namespace("doomed").to_dict()
    status, _ = raw(
        cluster,
        "PUT",
        "/api/v1/namespaces/doomed/finalize",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "doomed"}, "spec": {"finalizers": []}},
    )
    assert status == 200 and body
    with pytest.raises(ApiException) as gone:
        core.read_namespace("doomed")
    assert gone.value.status == 404


def test_foreground_and_orphan_record_finalizers(
    core: kubernetes.client.CoreV1Api, cluster: ServerThread
) -> None:
    core.create_namespaced_config_map("default", _cm("fg"))
    core.delete_namespaced_config_map("fg", "default", propagation_policy="Foreground")
    fg = core.read_namespaced_config_map("fg", "default")
    assert fg.metadata.finalizers == ["foregroundDeletion"] and fg.metadata.deletion_timestamp
    batch = kubernetes.client.BatchV1Api(cluster.api_client())
    batch.create_namespaced_job(
        "default",
        {
            "metadata": {"name": "orph"},
            "spec": {
                "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}
            },
        },
    )
    batch.delete_namespaced_job("orph", "default")  # batch/v1 defaults to orphaning, as kube does
    assert batch.read_namespaced_job("orph", "default").metadata.finalizers == ["orphan"]
    batch.patch_namespaced_job("orph", "default", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as gone:
        batch.read_namespaced_job("orph", "default")
    assert gone.value.status == 404


def test_running_pod_deletion_is_graceful(core: kubernetes.client.CoreV1Api) -> None:
    core.create_namespaced_pod(
        "default",
        {
            "metadata": {"name": "grace"},
            "spec": {"nodeName": "local", "containers": [{"name": "c", "image": "x"}]},
        },
    )
    core.patch_namespaced_pod_status("grace", "default", {"status": {"phase": "Running"}})
    core.delete_namespaced_pod("grace", "default")
    pod = core.read_namespaced_pod("grace", "default")
    assert pod.metadata.deletion_timestamp and pod.metadata.deletion_grace_period_seconds == 30
    core.delete_namespaced_pod("grace", "default", grace_period_seconds=0)
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_pod("grace", "default")
    assert gone.value.status == 404


class LinesProvider:
    """A log source standing in for the kubelet's: the lines each container printed."""

    def __init__(self, logs: dict[tuple[str, str, str], list[bytes]]) -> None:
        self.logs = logs

    async def read(
        self, namespace: str, pod: str, container: str, follow: bool, tail_lines: int | None, previous: bool
    ) -> AsyncIterator[bytes]:
        lines = self.logs[(namespace, pod, container)]
        for line in lines[-tail_lines:] if tail_lines else lines:
            yield line


def test_pod_logs_through_the_provider(cluster: ServerThread, core: kubernetes.client.CoreV1Api) -> None:
    core.create_namespaced_pod(
        "default",
        {
            "metadata": {"name": "talker"},
            "spec": {
                "nodeName": "local",
                "containers": [{"name": "main", "image": "x"}, {"name": "side", "image": "x"}],
            },
        },
    )
    no_provider = cluster.kubectl("logs", "talker", "-c", "main", check=False)
    assert no_provider.returncode != 0
    assert cluster.server is not None
    cluster.server.set_log_provider(LinesProvider({("default", "talker", "main"): [b"hi\n", b"there\n"]}))
    assert cluster.kubectl("logs", "talker", "-c", "main").stdout == "hi\nthere\n"
    assert cluster.kubectl("logs", "talker", "-c", "main", "--tail=1").stdout == "there\n"
    status, body = raw(cluster, "GET", "/api/v1/namespaces/default/pods/talker/log")
    assert status == 400 and "a container name must be specified for pod talker" in body["message"]
    wrong = cluster.kubectl("logs", "talker", "-c", "nope", check=False)
    assert "container nope is not valid for pod talker" in wrong.stderr


def test_service_account_tokens(cluster: ServerThread) -> None:
    assert cluster.server is not None
    token = cluster.call(cluster.server.mint_service_account_token, "default", "default")
    # Authenticated (RBAC then lets every authenticated user see discovery, and nothing else).
    assert raw(cluster, "GET", "/api", token=token)[0] == 200
    assert raw(cluster, "GET", "/api/v1/namespaces/default/configmaps", token=token)[0] == 403
    forged = token[:-4] + "0000"
    assert raw(cluster, "GET", "/api/v1/namespaces/default/configmaps", token=forged)[0] == 401
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/service-account-token",
        "metadata": {"name": "sa-tok", "annotations": {"kubernetes.io/service-account.name": "default"}},
        "data": {"token": base64.b64encode(b"secret-held-token").decode()},
    }
    assert raw(cluster, "POST", "/api/v1/namespaces/default/secrets", secret)[0] == 201
    assert raw(cluster, "GET", "/apis", token="secret-held-token")[0] == 200
    assert raw(cluster, "GET", "/api/v1/namespaces", token="secret-held-token")[0] == 403


def test_watch_selection_history_and_bookmarks(
    cluster: ServerThread, core: kubernetes.client.CoreV1Api
) -> None:
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", _cm("wsel", {"team": "a"}))
    core.patch_namespaced_config_map("wsel", "default", {"data": {"k": "v"}})
    core.patch_namespaced_config_map("wsel", "default", {"metadata": {"labels": {"team": "b"}}})
    core.create_namespaced_config_map("default", _cm("wother", {"team": "b"}))
    events = watch_events(
        cluster,
        f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}"
        "&labelSelector=team%3Da&timeoutSeconds=1&allowWatchBookmarks=true",
    )
    assert [(e["type"], e["object"]["metadata"].get("name")) for e in events] == [
        ("ADDED", "wsel"),
        ("MODIFIED", "wsel"),
        ("DELETED", "wsel"),
        ("BOOKMARK", None),
    ]
    assert int(events[-1]["object"]["metadata"]["resourceVersion"]) >= int(
        events[2]["object"]["metadata"]["resourceVersion"]
    )
    initial = watch_events(
        cluster, "/api/v1/namespaces/default/configmaps?watch=true&labelSelector=team%3Db&timeoutSeconds=1"
    )
    assert sorted(e["object"]["metadata"]["name"] for e in initial) == ["wother", "wsel"]
    assert {e["type"] for e in initial} == {"ADDED"}
    table = watch_events(
        cluster,
        f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}"
        "&fieldSelector=metadata.name%3Dwother&timeoutSeconds=1",
    )
    assert [e["object"]["metadata"]["name"] for e in table] == ["wother"]


def test_table_watch_events(cluster: ServerThread) -> None:
    events = watch_events(
        cluster, "/apis/example.com/v1/namespaces/default/widgets?watch=true&timeoutSeconds=1"
    )
    assert events and all(e["type"] == "ADDED" for e in events)
    table_events = watch_events(
        cluster,
        "/apis/example.com/v1/namespaces/default/widgets?watch=true&timeoutSeconds=1",
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
    )
    tables = [e["object"] for e in table_events]
    assert tables[0]["kind"] == "Table" and tables[0]["columnDefinitions"][1]["name"] == "Size"
    assert all(len(t["rows"]) == 1 for t in tables)


def test_expired_resource_version_is_410(tmp_path: Path) -> None:
    st = ServerThread(tmp_path, watch_history=3)
    st.start()
    try:
        core = kubernetes.client.CoreV1Api(st.api_client())
        rv = core.list_namespaced_config_map("default").metadata.resource_version
        for i in range(6):
            core.create_namespaced_config_map("default", _cm(f"e{i}"))
        events = watch_events(st, f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}")
        assert events[0]["type"] == "ERROR" and events[0]["object"]["code"] == 410
        assert events[0]["object"]["reason"] == "Expired"
        watcher = kubernetes.watch.Watch()
        with pytest.raises(ApiException) as err:
            for _ in watcher.stream(
                core.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=2
            ):
                pass
        assert err.value.status == 410
    finally:
        st.close()


def test_restart_keeps_objects_and_resumes_watch(tmp_path: Path) -> None:
    st = ServerThread(tmp_path, data_dir=tmp_path / "data")
    server = st.start()
    try:
        core = kubernetes.client.CoreV1Api(st.api_client())
        made = core.create_namespaced_config_map("default", _cm("keep", a="1"))
        st.kubectl("apply", "-f", "-", input=WIDGET_CRD)
        st.kubectl("apply", "-f", "-", input=widget("kept", size=4))
        old_rv = core.list_namespaced_config_map("default").metadata.resource_version
        token = server.token
        sa_token = st.call(server.mint_service_account_token, "default", "default")
        st.stop()
        st.start(port=server.port, token=token)
        core = kubernetes.client.CoreV1Api(st.api_client())
        assert st.kubectl_json("get", "widget", "kept")["spec"] == {"size": 4, "color": "red"}
        assert st.kubectl("get", "widgets", "--no-headers").stdout.split()[:3] == ["kept", "4", "red"]
        kept = core.read_namespaced_config_map("keep", "default")
        assert kept.metadata.uid == made.metadata.uid and kept.data == {"a": "1"}
        assert raw(st, "GET", "/version", token=sa_token)[0] == 200
        list_rv = core.list_namespaced_config_map("default").metadata.resource_version
        assert int(list_rv) >= int(old_rv)
        core.patch_namespaced_config_map("keep", "default", {"data": {"a": "2"}})
        watcher = kubernetes.watch.Watch()
        seen = [
            (e["type"], e["object"].data)
            for e in watcher.stream(
                core.list_namespaced_config_map, "default", resource_version=list_rv, timeout_seconds=1
            )
        ]
        assert seen == [("MODIFIED", {"a": "2"})]
        before = int(made.metadata.resource_version) - 1
        events = watch_events(
            st, f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={before}"
        )
        assert events[0]["type"] == "ERROR" and events[0]["object"]["code"] == 410
    finally:
        st.close()


SERVE = """
import asyncio, pathlib, sys
from katib_py.localcluster.apiserver import ApiServer

async def main():
    server = ApiServer(pathlib.Path(sys.argv[1]))
    await server.start()
    server.write_kubeconfig(pathlib.Path(sys.argv[1]) / "kubeconfig")
    print(server.port, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def test_sigkill_loses_no_acknowledged_write(tmp_path: Path) -> None:
    import subprocess
    import sys

    data = tmp_path / "data"
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(data)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        int(proc.stdout.readline())
        client = kubernetes.config.new_client_from_config(str(data / "kubeconfig"))
        core = kubernetes.client.CoreV1Api(client)
        last = None
        for i in range(20):
            last = core.create_namespaced_config_map("default", _cm(f"k{i}", n=str(i)))
        core.patch_namespaced_config_map("k0", "default", {"data": {"n": "patched"}})
    finally:
        proc.kill()
        proc.wait()
    st = ServerThread(tmp_path, data_dir=data)
    st.start()
    try:
        core = kubernetes.client.CoreV1Api(st.api_client())
        items = core.list_namespaced_config_map("default").items
        names = {c.metadata.name for c in items}
        assert {f"k{i}" for i in range(20)} <= names
        assert core.read_namespaced_config_map("k0", "default").data == {"n": "patched"}
        assert last is not None
        fresh = core.create_namespaced_config_map("default", _cm("after"))
        assert int(fresh.metadata.resource_version) > int(last.metadata.resource_version) + 1
    finally:
        st.close()
