"""The API server's pure decoding and validation rules (decoding.py, validation.py), without a server."""

from __future__ import annotations

import pytest

from katib_py.kube.errors import ApiError
from katib_py.localcluster.apiserver import decoding, validation
from katib_py.localcluster.apiserver.registry import Registry


def laughs(levels: int, fanout: int) -> bytes:
    lines = ['a0: &a0 "lol"'] + [
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * fanout) + "]" for i in range(1, levels + 1)
    ]
    return ("\n".join(lines) + "\n").encode()


def test_go_yamls_alias_ratio_decides_what_expands() -> None:
    assert decoding.load_yaml(laughs(2, 10))["a2"][0] == ["lol"] * 10  # 111 nodes: under go-yaml's floor
    for levels in (4, 8):
        with pytest.raises(ApiError) as err:
            decoding.decode_body(laughs(levels, 10), "application/yaml")
        assert err.value.status == 400 and "excessive aliasing" in err.value.message
    assert decoding.allowed_alias_ratio(1000) == 0.99
    assert decoding.allowed_alias_ratio(4_000_000) == pytest.approx(0.10)


def test_an_alias_may_not_make_a_body_deeper_or_larger_than_one_sent_without() -> None:
    chain = ["a0: &a0 " + "[" * 60 + "]" * 60] + [
        f"a{i}: &a{i} " + "[" * 30 + f"*a{i - 1}" + "]" * 30 for i in (1, 2)
    ]
    with pytest.raises(ApiError, match="exceeded max depth of 100"):
        decoding.decode_body("\n".join(chain).encode(), "application/yaml")
    wide = b"s: &s '" + b"x" * 200_000 + b"'\nl: [" + b", ".join([b"*s"] * 40) + b"]\n"
    with pytest.raises(ApiError, match="excessive aliasing"):
        decoding.decode_body(wide, "application/yaml")


def test_json_depth_and_constants() -> None:
    ok = b'{"a":' * 99 + b"1" + b"}" * 99
    assert decoding.json_depth(decoding.decode_body(ok, "application/json")) == 99
    for body in (b'{"a":' * 101 + b"1" + b"}" * 101, b"[" * 100_000, b"[NaN]", b"[-Infinity]"):
        with pytest.raises(ApiError) as err:
            decoding.decode_body(body, "application/json")
        assert err.value.status == 400


@pytest.mark.parametrize(
    ("text", "value"), [("5", 5), ("+5", 5), ("-1", -1), ("", None), ("9223372036854775807", 2**63 - 1)]
)
def test_query_integers_parse_as_go_parseint(text: str, value: int | None) -> None:
    assert decoding.query_int({"limit": text}, "limit") == value


@pytest.mark.parametrize("text", ["abc", " 5", "1.5", "5_000", "٣", "9223372036854775808"])
def test_query_integers_go_refuses(text: str) -> None:
    with pytest.raises(
        ApiError, match=r'strconv.ParseInt: parsing ".*": (invalid syntax|value out of range)'
    ):
        decoding.query_int({"limit": text}, "limit")


def test_qualified_names_and_label_values() -> None:
    assert validation.qualified_name("example.com/My_Name-1") == []
    assert validation.qualified_name("a/b/c")[0].startswith("a valid label key must consist of")
    assert validation.qualified_name("/x") == ["prefix part must be non-empty"]
    assert validation.qualified_name("Example.com/x")[0].startswith("prefix part a lowercase RFC 1123")
    assert validation.qualified_name("x" * 64) == ["name part must be no more than 63 characters"]
    assert validation.label_value("") == []
    assert validation.label_value("-a")[0].startswith("a valid label must be an empty string")


def test_names_follow_the_rule_of_their_kind() -> None:
    registry = Registry()

    def problems(group: str, plural: str, name: str) -> list[str]:
        info = registry.get(group, "v1", plural)
        assert info is not None
        return validation.name_problems(info, name)

    assert problems("rbac.authorization.k8s.io", "clusterroles", "system:controller:Foo") == []
    assert problems("rbac.authorization.k8s.io", "roles", "fuzz/../evil") == ["may not contain '/'"]
    assert problems("", "configmaps", "a.b-c") == []
    assert problems("", "namespaces", "a.b") == ["must not contain dots"]
    assert problems("", "services", "9lives")[0].startswith("a DNS-1035 label")


def test_type_errors_name_the_go_field_and_nulls_decode_to_zero_values() -> None:
    registry = Registry()
    pods = registry.get("", "v1", "pods")
    assert pods is not None
    message = validation.type_error(
        pods, {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": "80"}]}]}}
    )
    assert message is not None and message.endswith(
        "cannot unmarshal string into Go struct field "
        "ContainerPort.spec.containers.ports.containerPort of type int32"
    )
    quantities = {
        "spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": 1, "memory": "1Gi"}}}]}
    }
    assert validation.type_error(pods, quantities) is None
    pod = {
        "metadata": {"labels": {"a": None}, "finalizers": [None]},
        "spec": {"containers": [None], "nodeName": None},
    }
    validation.drop_nulls(pods, pod)
    assert pod == {"metadata": {"labels": {"a": ""}, "finalizers": [""]}, "spec": {"containers": [{}]}}
