"""`GET /metrics`: kube-apiserver's request counters, read with the real kubectl and parsed with
prometheus_client's own text parser."""

from __future__ import annotations

import threading
import uuid

from prometheus_client.parser import text_string_to_metric_families

from .harness import ServerThread, raw, widget


def _samples(cluster: ServerThread, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    text = cluster.kubectl("get", "--raw", "/metrics").stdout
    out: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                out[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def _count(samples: dict[tuple[tuple[str, str], ...], float], **want: str) -> float:
    return sum(v for k, v in samples.items() if all(dict(k).get(n) == x for n, x in want.items()))


def test_requests_are_counted_by_verb_resource_and_code(cluster: ServerThread) -> None:
    name = f"m-{uuid.uuid4().hex[:6]}"
    before = _samples(cluster, "apiserver_request_total")
    cluster.kubectl("apply", "-f", "-", input=widget(name))
    cluster.kubectl("get", "widgets", name, "-o", "json")
    cluster.kubectl("get", "widgets", "-o", "json")
    assert raw(cluster, "GET", f"/apis/example.com/v1/namespaces/default/widgets/{name}-missing")[0] == 404
    status, _ = raw(
        cluster,
        "PATCH",
        f"/apis/example.com/v1/namespaces/default/widgets/{name}",
        {"spec": {"size": 2}},
        ctype="application/merge-patch+json",
    )
    assert status == 200
    cluster.kubectl("delete", "widget", name)
    after = _samples(cluster, "apiserver_request_total")

    def delta(**want: str) -> float:
        labels = {"group": "example.com", "version": "v1", "resource": "widgets", **want}
        return _count(after, **labels) - _count(before, **labels)

    assert delta(verb="POST", scope="namespace", code="201") == 1
    assert delta(verb="GET", scope="resource", code="200") == 1
    # kubectl apply reads first, then ours, then kubectl delete waits until it is gone
    assert delta(verb="GET", scope="resource", code="404") == 3
    assert delta(verb="LIST", scope="namespace", code="200") == 1
    assert delta(verb="PATCH", scope="resource", code="200") == 1
    assert delta(verb="DELETE", scope="resource", code="200") == 1
    # a non-resource path counts by its method; every sample has the code label
    assert _count(after, verb="GET", resource="", code="200") >= 1
    assert all(dict(k)["code"].isdigit() for k in after)


def test_denied_requests_count_as_403_and_metrics_need_rbac(cluster: ServerThread) -> None:
    assert cluster.server is not None
    token = cluster.call(cluster.server.mint_service_account_token, "default", f"sa-{uuid.uuid4().hex[:6]}")
    before = _samples(cluster, "apiserver_request_total")
    assert raw(cluster, "GET", "/api/v1/namespaces/default/secrets", token=token)[0] == 403
    status, body = raw(cluster, "GET", "/metrics", token=token)
    assert status == 403 and body["reason"] == "Forbidden", body
    after = _samples(cluster, "apiserver_request_total")
    key = {"verb": "LIST", "resource": "secrets", "code": "403"}
    assert _count(after, **key) - _count(before, **key) == 1


def test_open_watches_are_a_gauge(cluster: ServerThread) -> None:
    path = "/apis/example.com/v1/namespaces/default/widgets?watch=1&timeoutSeconds=3"
    want = {"verb": "WATCH", "resource": "widgets"}
    idle = _count(_samples(cluster, "apiserver_longrunning_requests"), **want)
    watcher = threading.Thread(target=raw, args=(cluster, "GET", path))
    watcher.start()
    try:
        seen = idle
        for _ in range(50):
            seen = _count(_samples(cluster, "apiserver_longrunning_requests"), **want)
            if seen > idle:
                break
        assert seen == idle + 1
    finally:
        watcher.join()
    assert _count(_samples(cluster, "apiserver_longrunning_requests"), **want) == idle
    done = _samples(cluster, "apiserver_request_total")
    assert _count(done, verb="WATCH", resource="widgets", code="200") >= 1
