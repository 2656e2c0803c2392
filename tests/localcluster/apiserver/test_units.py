"""The API server's pure parts: selectors, patches, schemas, JSONPath, CEL subset, webhook rules."""

from __future__ import annotations

from typing import Any

import pytest

from katib_py.kube.errors import ApiError
from katib_py.kube.selectors import labels_match, parse_label_selector
from katib_py.localcluster.apiserver import patching, schema
from katib_py.localcluster.apiserver.admission import AdmissionRequest, CelError, eval_cel, rule_matches
from katib_py.localcluster.apiserver.auth import User
from katib_py.localcluster.apiserver.registry import Registry
from katib_py.localcluster.apiserver.selectors import parse_field_selector
from katib_py.localcluster.apiserver.table import human_duration, jsonpath


def _obj(**labels: str) -> dict[str, Any]:
    return {"metadata": {"name": "n", "namespace": "ns", "labels": labels}}


def test_label_selector_operators() -> None:
    sel = parse_label_selector("a=1,b!=2,c in (x, y),d notin (z),e,!f")
    assert labels_match(sel, _obj(a="1", b="3", c="y", d="w", e=""))
    assert not labels_match(sel, _obj(a="1", b="3", c="y", d="w", e="", f="1"))
    assert not labels_match(sel, _obj(a="1", b="2", c="y", e=""))
    assert labels_match(parse_label_selector("a==1"), _obj(a="1"))
    with pytest.raises(ApiError) as err:
        parse_label_selector("a in x")
    assert err.value.code == 400


def test_field_selectors_per_kind() -> None:
    pods = parse_field_selector("spec.nodeName=n1,status.phase!=Failed", "", "pods")
    assert pods({"spec": {"nodeName": "n1"}, "status": {"phase": "Running"}})
    assert not pods({"spec": {"nodeName": "n1"}, "status": {"phase": "Failed"}})
    events = parse_field_selector("involvedObject.name=x,involvedObject.kind=Pod", "", "events")
    assert events({"involvedObject": {"name": "x", "kind": "Pod"}})
    with pytest.raises(ApiError) as err:
        parse_field_selector("spec.nodeName=n1", "apps", "deployments")
    assert err.value.message == "field label not supported: spec.nodeName"


def test_strategic_merge_directives() -> None:
    target = {
        "spec": {"ports": [{"port": 80, "name": "a"}, {"port": 81}], "selector": {"x": "1", "y": "2"}},
        "metadata": {"finalizers": ["a"]},
    }
    patch = {
        "spec": {"ports": [{"port": 80, "name": "b"}], "selector": {"$patch": "replace", "z": "3"}},
        "metadata": {"finalizers": ["b", "a"]},
    }
    out = patching.strategic_merge(target, patch, "Service")
    assert out["spec"]["ports"] == [{"port": 80, "name": "b"}, {"port": 81}]
    assert out["spec"]["selector"] == {"z": "3"}
    assert out["metadata"]["finalizers"] == ["a", "b"]
    removed = patching.strategic_merge(
        {"metadata": {"finalizers": ["a", "b"]}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}},
        "Pod",
    )
    assert removed["metadata"]["finalizers"] == ["b"]
    replaced = patching.strategic_merge(
        {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}},
        {"spec": {"containers": [{"name": "c"}, {"$patch": "replace"}]}},
        "Pod",
    )
    assert replaced["spec"]["containers"] == [{"name": "c"}]
    retained = patching.strategic_merge(
        {"spec": {"a": 1, "b": 2}}, {"spec": {"$retainKeys": ["a"], "a": 3}}, "X"
    )
    assert retained == {"spec": {"a": 3}}
    conds = patching.strategic_merge(
        {"status": {"conditions": [{"type": "Ready", "status": "False"}]}},
        {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
        "Pod",
    )
    assert conds["status"]["conditions"] == [{"type": "Ready", "status": "True"}]
    assert patching.merge_patch({"a": {"b": 1, "c": 2}}, {"a": {"b": None}}) == {"a": {"c": 2}}


def test_schema_prunes_defaults_and_validates() -> None:
    s: dict[str, Any] = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "n": {"type": "integer", "default": 3},
                    "port": {"x-kubernetes-int-or-string": True},
                    "items": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"k": {"type": "string"}}},
                    },
                    "tmpl": {
                        "type": "object",
                        "x-kubernetes-embedded-resource": True,
                        "x-kubernetes-preserve-unknown-fields": True,
                    },
                    "mode": {"type": "string", "pattern": "^[a-z]+$"},
                },
            }
        },
    }
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "K",
        "metadata": {"name": "x", "anything": 1},
        "spec": {
            "port": "http",
            "items": [{"k": "v", "junk": 1}],
            "tmpl": {"apiVersion": "v1", "z": 1},
            "mode": "ok",
            "extra": True,
        },
    }
    result = schema.process(obj, s)
    assert obj["spec"]["n"] == 3 and obj["spec"]["items"] == [{"k": "v"}] and "extra" not in obj["spec"]
    assert obj["spec"]["tmpl"] == {"apiVersion": "v1", "z": 1} and obj["metadata"]["anything"] == 1
    assert sorted(result.unknown) == ["spec.extra", "spec.items[0].junk"] and result.causes == []
    bad = {"spec": {"port": 1.5, "mode": "NO"}}
    causes = schema.process(bad, s).causes
    assert {c["field"] for c in causes} == {"spec.port", "spec.mode"}


def test_jsonpath_subset_for_printer_columns() -> None:
    obj = {"status": {"conditions": [{"type": "A", "status": "True"}, {"type": "B", "status": "False"}]}}
    assert jsonpath(obj, ".status.conditions[-1:].type") == ["B"]
    assert jsonpath(obj, ".status.conditions[0].type") == ["A"]
    assert jsonpath(obj, '.status.conditions[?(@.type=="B")].status') == ["False"]
    assert jsonpath(obj, ".status.conditions[*].type") == ["A", "B"]
    assert jsonpath(obj, ".status.missing") == []
    assert [human_duration(s) for s in (5, 150, 7200, 90000, 400 * 86400)] == [
        "5s",
        "2m30s",
        "120m",
        "25h",
        "400d",
    ]


def test_cel_subset_for_match_conditions() -> None:
    env = {"request": {"userInfo": {"username": "alice"}, "dryRun": False}}
    assert eval_cel('request.userInfo.username == "alice"', env)
    assert eval_cel('request.userInfo.username != "bob" && !(request.dryRun)', env)
    assert eval_cel("request.userInfo.username == 'x' || request.userInfo.username == 'alice'", env)
    with pytest.raises(CelError):
        eval_cel("object.spec.replicas > 3", env)


def test_webhook_rules_match_subresource_forms() -> None:
    reg = Registry()
    pods = reg.get("", "v1", "pods")
    assert pods is not None

    def req(sub: str) -> AdmissionRequest:
        return AdmissionRequest(pods, sub, "UPDATE", "ns", "p", {}, {}, User("u"), False)

    def rule(*resources: str) -> dict[str, Any]:
        return {
            "operations": ["UPDATE"],
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "resources": list(resources),
        }

    assert rule_matches(rule("pods"), req("")) and not rule_matches(rule("pods"), req("status"))
    assert rule_matches(rule("*/status"), req("status")) and not rule_matches(rule("*/status"), req(""))
    assert rule_matches(rule("pods/*"), req("status")) and not rule_matches(rule("pods/*"), req(""))
    assert rule_matches(rule("*/*"), req("")) and rule_matches(rule("*"), req(""))
    assert not rule_matches({**rule("*"), "scope": "Cluster"}, req(""))


def test_server_refuses_non_loopback_addresses() -> None:
    from katib_py.localcluster.apiserver import ApiServer

    with pytest.raises(ValueError, match="loopback"):
        ApiServer(None, host="0.0.0.0")
    assert ApiServer(None, host="127.0.0.2").host == "127.0.0.2"
