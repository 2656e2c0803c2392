"""Fuzzing the embedded API server over HTTP on 127.0.0.1 (bounded in count and time).

Random and hostile requests: bodies of every JSON type where objects go, wrong field types,
names, labels and annotations outside kube's rules, YAML alias bombs, deep nesting, garbage
bytes, random content types, query parameters and paths. For each: a 2xx, or a 4xx with a
`kind: Status` body that says why (never a 5xx); afterwards the server still answers /readyz and
a list, its memory stayed bounded, and every object it acknowledged with a 201 is there, also
after a restart.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from .harness import WIDGET_CRD

FUZZ = settings.get_profile("fuzz")  # tests/conftest.py
MORE = settings(FUZZ, max_examples=3 * FUZZ.max_examples)
PEAK_RSS_LIMIT_KIB = 600 * 1024
REPO = Path(__file__).resolve().parents[3]


@dataclass
class Served:
    data_dir: Path
    token: str
    proc: subprocess.Popen[bytes] | None = None
    url: str = ""
    session: requests.Session = field(default_factory=requests.Session)
    acknowledged: dict[str, str] = field(default_factory=dict)  # path -> uid of every 201
    requests_sent: int = 0

    def start(self) -> None:
        (self.data_dir / "url").unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.localcluster.apiserver.serve_alone",
                str(self.data_dir),
                self.token,
            ],
            cwd=REPO,
        )
        deadline = time.monotonic() + 60
        while not (self.data_dir / "url").exists():
            assert self.proc.poll() is None, "the API server exited at start"
            assert time.monotonic() < deadline, "the API server did not start"
            time.sleep(0.05)
        self.url = (self.data_dir / "url").read_text()
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {self.token}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        self.proc = None

    def peak_rss_kib(self) -> int:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM")

    def send(
        self, method: str, path: str, body: bytes | None = None, ctype: str = "application/json"
    ) -> requests.Response:
        self.requests_sent += 1
        headers = {"Content-Type": ctype} if body is not None else {}
        return self.session.request(method, self.url + path, data=body, headers=headers, timeout=60)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = Served(tmp_path_factory.mktemp("fuzz-apiserver"), uuid.uuid4().hex)
    server.start()
    crd = server.send(
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        WIDGET_CRD.encode(),
        "application/yaml",
    )
    assert crd.status_code == 201, crd.text
    time.sleep(0.2)
    try:
        yield server
    finally:
        server.stop()


def check(resp: requests.Response, what: str) -> None:
    """2xx, or 4xx with a Status body that agrees with the HTTP code and says why."""
    assert resp.status_code < 500, f"{what}: {resp.status_code} {resp.text[:400]}"
    if resp.status_code < 400:
        return
    body = resp.json()
    assert body.get("kind") == "Status" and body.get("status") == "Failure", f"{what}: {body}"
    assert body.get("code") == resp.status_code and body.get("message"), f"{what}: {body}"


def note_created(served: Served, collection: str, resp: requests.Response) -> None:
    if resp.status_code == 201:
        meta = resp.json()["metadata"]
        served.acknowledged[f"{collection}/{quote(meta['name'], safe='')}"] = meta["uid"]


# ---------------------------------------------------------------- strategies

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
hostile_strings = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "",
            ".",
            "..",
            "a/b",
            "fuzz/../evil",
            "%2F",
            "A",
            "-a",
            "a-",
            "x" * 254,
            "a" * 64,
            "ü",
            "\u202e",
            "system:evil",
            "kubernetes.io/x",
            "a/b/c",
            "/x",
            "x/",
            " ",
            "a b",
            "é/x",
            "\ud800",
            "a\x00b",
        ]
    ),
)
valid_names = st.from_regex(r"[a-z][a-z0-9-]{0,20}[a-z0-9]", fullmatch=True)
names = st.one_of(valid_names, valid_names, valid_names, hostile_strings)
label_maps = st.dictionaries(hostile_strings, hostile_strings, max_size=3)
meta_values = st.one_of(json_values, label_maps)

COLLECTIONS = {
    "configmaps": "/api/v1/namespaces/default/configmaps",
    "pods": "/api/v1/namespaces/default/pods",
    "services": "/api/v1/namespaces/default/services",
    "roles": "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
    "clusterroles": "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    "namespaces": "/api/v1/namespaces",
    "widgets": "/apis/example.com/v1/namespaces/default/widgets",
    "jobs": "/apis/batch/v1/namespaces/default/jobs",
}


def base_object(kind: str, name: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {"metadata": {"name": name}}
    if kind == "configmaps":
        obj["data"] = {"k": "v"}
    elif kind == "pods":
        obj["spec"] = {"containers": [{"name": "c", "image": "busybox", "command": ["true"]}]}
    elif kind == "services":
        obj["spec"] = {"ports": [{"port": 80}]}
    elif kind in ("roles", "clusterroles"):
        obj["rules"] = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
    elif kind == "widgets":
        obj.update({"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"size": 1}})
    elif kind == "jobs":
        obj["spec"] = {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c"}]}}}
    return obj


@st.composite
def damaged_objects(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A valid object of some kind with a few fields replaced by random values."""
    kind = draw(st.sampled_from(sorted(COLLECTIONS)))
    obj = base_object(kind, draw(names))
    for _ in range(draw(st.integers(0, 3))):
        where = draw(
            st.sampled_from(
                [
                    "metadata.labels",
                    "metadata.annotations",
                    "metadata.finalizers",
                    "metadata.ownerReferences",
                    "metadata.name",
                    "metadata.generateName",
                    "metadata",
                    "data",
                    "spec",
                    "spec.containers",
                    "spec.ports",
                    "rules",
                    "spec.size",
                    "spec.free",
                    "kind",
                    "apiVersion",
                    "status",
                ]
            )
        )
        value = draw(meta_values if where.startswith("metadata.") else json_values)
        node = obj
        parts = where.split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[parts[-1]] = value
    return kind, obj


def alias_bomb(levels: int) -> bytes:
    lines = ["metadata: {name: bomb}", 'l0: &l0 ["lol"]']
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, levels + 1)]
    return ("\n".join(lines) + "\n").encode()


def deep(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = {"a": value}
    return value


RAW_BODIES = [
    b"",
    b"not json",
    b"\xff\xfe\x00",
    b"[1,2]",
    b'"a string"',
    b"null",
    b'{"metadata": {"name": "nan"}, "data": {"k": NaN}}',
    b'{"metadata": {"name": "inf", "labels": {"a": Infinity}}}',
    b'{"metadata": {"name": "big"}, "data": {"k": ' + b"9" * 5000 + b"}}",
    b"[" * 50_000,
    json.dumps({"metadata": {"name": "deep"}, "data": deep(120)}).encode(),
    json.dumps({"metadata": {"name": "x" * 100_000}}).encode(),
    alias_bomb(8),
    b"a: &a [*a]\n",
    b"metadata: {name: &n x}\ndata: {k: *n}\n",
    b"metadata:\n  name: ok-anchors\ndata: &d {a: b}\nbinaryData: {}\n",
    b"--- {}\n--- {}\n",
    b"!!python/object:os.system {}",
    b"\t\x00",
]
CONTENT_TYPES = [
    "application/json",
    "application/yaml",
    "application/merge-patch+json",
    "application/json-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
    "application/vnd.kubernetes.protobuf",
    "text/plain",
    "",
]
QUERY_KEYS = [
    "limit",
    "timeoutSeconds",
    "gracePeriodSeconds",
    "labelSelector",
    "fieldSelector",
    "continue",
    "resourceVersion",
    "dryRun",
    "fieldValidation",
    "propagationPolicy",
    "tailLines",
    "watch",
]
query_values = st.one_of(
    st.text(max_size=10),
    st.sampled_from(
        [
            "abc",
            "-1",
            "0",
            "1e3",
            "99999999999999999999",
            " 5",
            "+5",
            "1.5",
            "true",
            "a=b",
            "a in (",
            "!",
            "metadata.name=x",
            "spec.foo=1",
            "Strict",
            "All",
            "Orphan",
            "eyJzdGFydCI6IDV9",
        ]
    ),
)


# ---------------------------------------------------------------- tests


def test_random_objects_are_created_or_refused_with_a_status(served: Served) -> None:
    @MORE
    @given(case=damaged_objects(), as_yaml=st.booleans())
    def one(case: tuple[str, dict[str, Any]], as_yaml: bool) -> None:
        kind, obj = case
        body = json.dumps(obj).encode()
        resp = served.send(
            "POST", COLLECTIONS[kind], body, "application/yaml" if as_yaml else "application/json"
        )
        check(resp, f"POST {kind} {body[:300]!r}")
        note_created(served, COLLECTIONS[kind], resp)

    one()


def test_random_patches_and_updates_of_a_stored_object(served: Served) -> None:
    resp = served.send(
        "POST", COLLECTIONS["configmaps"], json.dumps(base_object("configmaps", "target")).encode()
    )
    assert resp.status_code == 201, resp.text
    note_created(served, COLLECTIONS["configmaps"], resp)
    path = COLLECTIONS["configmaps"] + "/target"

    @FUZZ
    @given(
        case=damaged_objects(), ctype=st.sampled_from(CONTENT_TYPES), method=st.sampled_from(["PATCH", "PUT"])
    )
    def one(case: tuple[str, dict[str, Any]], ctype: str, method: str) -> None:
        _, obj = case
        obj.get("metadata", {}).pop("name", None) if isinstance(obj.get("metadata"), dict) else None
        body = json.dumps(obj).encode()
        if ctype == "application/json-patch+json":
            body = json.dumps(
                [{"op": "replace", "path": "/metadata/labels", "value": obj.get("metadata")}]
            ).encode()
        check(served.send(method, path, body, ctype), f"{method} {ctype} {body[:300]!r}")
        got = served.send("GET", path)
        assert got.status_code == 200, got.text  # patches never lose the object

    one()


def test_hostile_raw_bodies_and_content_types(served: Served) -> None:
    @FUZZ
    @given(
        body=st.one_of(st.sampled_from(RAW_BODIES), st.binary(max_size=64)),
        ctype=st.sampled_from(CONTENT_TYPES),
        target=st.sampled_from(
            ["POST configmaps", "POST widgets", "PATCH target", "PUT target", "DELETE target2"]
        ),
    )
    def one(body: bytes, ctype: str, target: str) -> None:
        method, what = target.split()
        path = COLLECTIONS.get(what) or f"{COLLECTIONS['configmaps']}/{what}"
        started = time.monotonic()
        resp = served.send(method, path, body, ctype)
        assert time.monotonic() - started < 10, f"{method} {path} {body[:100]!r} took too long"
        check(resp, f"{method} {path} {ctype} {body[:200]!r}")
        if method == "POST":
            note_created(served, path, resp)

    one()


def test_random_queries_and_paths(served: Served) -> None:
    @MORE
    @given(
        params=st.dictionaries(st.sampled_from(QUERY_KEYS), query_values, max_size=4),
        segments=st.lists(hostile_strings, max_size=3),
        method=st.sampled_from(["GET", "GET", "DELETE", "POST", "OPTIONS"]),
        base=st.sampled_from(
            [*COLLECTIONS.values(), "/api/v1", "/apis", "/apis/example.com/v1", "/openapi/v3", ""]
        ),
    )
    def one(params: dict[str, str], segments: list[str], method: str, base: str) -> None:
        if params.get("watch") is not None or "watch" in segments:
            params["timeoutSeconds"] = "1"  # a valid watch would otherwise stream for 30 minutes
        if method == "DELETE":
            # no deletecollection: an empty last segment is one, and so is `.` or `..`, which the
            # client removes as a dot segment (RFC 3986) before sending
            segments = [s for s in segments if s not in ("", ".", "..")] or ["no-such-object"]
        path = base + "".join("/" + quote(s.encode("utf-8", "surrogatepass"), safe="") for s in segments)
        resp = served.session.request(method, served.url + (path or "/"), params=params, timeout=60)
        served.requests_sent += 1
        check(resp, f"{method} {path} {params}")
        if method == "DELETE" and resp.status_code < 300:
            served.acknowledged.pop(path, None)  # a delete that is acknowledged is kept too

    one()


def test_afterwards_the_server_answers_and_kept_what_it_acknowledged(served: Served) -> None:
    assert served.requests_sent >= 7 * FUZZ.max_examples, served.requests_sent
    assert served.session.get(served.url + "/readyz", timeout=10).status_code == 200
    listed = served.send("GET", COLLECTIONS["configmaps"] + "?labelSelector=k%3Dv")
    assert listed.status_code == 200, listed.text
    peak = served.peak_rss_kib()
    assert peak < PEAK_RSS_LIMIT_KIB, f"the API server's peak RSS was {peak} KiB"
    assert served.acknowledged, "no create was acknowledged: the fuzzer sends no valid objects"
    for when in ("before", "after"):
        if when == "after":
            served.stop()
            served.start()
        for path, uid in served.acknowledged.items():
            got = served.send("GET", path)
            assert got.status_code == 200, (
                f"{path} acknowledged, then lost ({when} a restart): {got.text[:200]}"
            )
            assert got.json()["metadata"]["uid"] == uid, path
    acknowledged = len(served.acknowledged)
    print(f"{served.requests_sent} requests, {acknowledged} objects acknowledged, peak RSS {peak} KiB")
