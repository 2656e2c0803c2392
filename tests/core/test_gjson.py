"""GJSON path evaluation: gjson's own documented examples, and every expression Katib relies on."""

from __future__ import annotations

import json
from typing import Any

import pytest

from katib_py.core import gjson

# The document of gjson's SYNTAX.md.
DOC: dict[str, Any] = {
    "name": {"first": "Tom", "last": "Anderson"},
    "age": 37,
    "children": ["Sara", "Alex", "Jack"],
    "fav.movie": "Deer Hunter",
    "friends": [
        {"first": "Dale", "last": "Murphy", "age": 44, "nets": ["ig", "fb", "tw"]},
        {"first": "Roger", "last": "Craig", "age": 68, "nets": ["fb", "tw"]},
        {"first": "Jane", "last": "Murphy", "age": 47, "nets": ["ig", "tw"]},
    ],
}
DALE = DOC["friends"][0]
JANE = DOC["friends"][2]

MISSING = object()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("name.last", "Anderson"),
        ("name.first", "Tom"),
        ("age", 37),
        ("children", ["Sara", "Alex", "Jack"]),
        ("children.0", "Sara"),
        ("children.1", "Alex"),
        ("children.3", MISSING),
        ("friends.1.first", "Roger"),
        ("child*.2", "Jack"),
        ("c?ildren.0", "Sara"),
        (r"fav\.movie", "Deer Hunter"),
        ("fav.movie", MISSING),
        ("friends.#", 3),
        ("friends.#.age", [44, 68, 47]),
        ('friends.#(last=="Murphy").first', "Dale"),
        ('friends.#(last=="Murphy")#.first', ["Dale", "Jane"]),
        ("friends.#(age>45)#.last", ["Craig", "Murphy"]),
        ("friends.#(age>=47)#.first", ["Roger", "Jane"]),
        ("friends.#(age<47)#.first", ["Dale"]),
        ("friends.#(age<=47)#.first", ["Dale", "Jane"]),
        ("friends.#(age!=44)#.first", ["Roger", "Jane"]),
        ('friends.#(first%"D*").last', "Murphy"),
        ('friends.#(first!%"D*").last', "Craig"),
        ('friends.#(first%"J?ne").age', 47),
        ('children.#(!%"*a*")', "Alex"),
        ('children.#(%"*a*")#', ["Sara", "Jack"]),
        ('friends.#(nets.#(=="fb"))#.first', ["Dale", "Roger"]),
        ("friends.#(nets)#.first", ["Dale", "Roger", "Jane"]),
        ("friends.#(nope)#", []),
        ('friends.#(last=="Nobody").first', MISSING),
        ('friends.#(last=="Nobody")#', []),
        ("friends.0.first", "Dale"),
        ("friends|0.first", "Dale"),
        ("friends.0|first", "Dale"),
        ("friends|0|first", "Dale"),
        ("friends|#", 3),
        ('friends.#(last="Murphy")#', [DALE, JANE]),
        ('friends.#(last="Murphy")#.first', ["Dale", "Jane"]),
        ('friends.#(last="Murphy")#|first', MISSING),
        ('friends.#(last="Murphy")#.0', []),
        ('friends.#(last="Murphy")#|0', DALE),
        ('friends.#(last="Murphy")#.#', []),
        ('friends.#(last="Murphy")#|#', 2),
        ('friends.#[last=="Murphy"]#.first', ["Dale", "Jane"]),
        ("children.@reverse", ["Jack", "Alex", "Sara"]),
        ("children.@reverse.0", "Jack"),
        ("@this.name.first", "Tom"),
        ("name.@keys", ["first", "last"]),
        ("name.@values", ["Tom", "Anderson"]),
        ("name.@tostr", '{"first":"Tom","last":"Anderson"}'),
        ("name.@tostr.@fromstr.last", "Anderson"),
        ("[age,name.first]", [37, "Tom"]),
        ("[age,nothing]", [37]),
        (
            '{name.first,age,"the_murphys":friends.#(last="Murphy")#.first}',
            {"first": "Tom", "age": 37, "the_murphys": ["Dale", "Jane"]},
        ),
        (
            '{name.first,age,"company":!"Happysoft","employed":!true}',
            {"first": "Tom", "age": 37, "company": "Happysoft", "employed": True},
        ),
        ('name.[@this].#(last=="Anderson")#.first', ["Tom"]),
        ("", MISSING),
        ("nothing.at.all", MISSING),
        ("age.more", MISSING),
    ],
)
def test_documented_paths(path: str, expected: Any) -> None:
    result = gjson.get(DOC, path)
    if expected is MISSING:
        assert not result.exists
    else:
        assert result.exists
        assert result.value == expected


def test_json_text_and_result_accessors() -> None:
    result = gjson.get_json(json.dumps(DOC), "friends.#(age>45)#")
    assert result.is_array() and not result.is_object()
    assert [r.get("first").string() for r in result.array()] == ["Roger", "Jane"]
    assert gjson.get(DOC, "name").is_object()
    assert gjson.get(DOC, "name").map()["last"].value == "Anderson"
    assert gjson.get(DOC, "age").array()[0].value == 37
    assert gjson.get(DOC, "nothing").array() == []
    assert gjson.get(DOC, "nothing").value is None
    assert gjson.get(DOC, "name").array() == []
    assert gjson.get(DOC, "age").type == "Number"
    assert gjson.get(DOC, "name").string() == '{"first":"Tom","last":"Anderson"}'


def test_null_exists_but_missing_does_not() -> None:
    doc = {"a": None}
    assert gjson.get(doc, "a").exists
    assert gjson.get(doc, "a").type == "Null"
    assert not gjson.get(doc, "b").exists


def test_query_value_types_follow_gjson() -> None:
    doc = {
        "items": [
            {"n": 1, "s": "1", "b": True},
            {"n": 2, "s": "2", "b": False},
            {"n": 10, "s": "10", "b": None},
        ]
    }
    # numbers compare numerically, strings lexically
    assert gjson.get(doc, "items.#(n<3)#.n").value == [1, 2]
    assert gjson.get(doc, 'items.#(s<"3")#.s').value == ["1", "2", "10"]
    # a quoted number still compares numerically against a number
    assert gjson.get(doc, 'items.#(n=="10").s').value == "10"
    assert gjson.get(doc, "items.#(b==true)#.n").value == [1]
    assert gjson.get(doc, "items.#(b==false)#.n").value == [2]
    assert gjson.get(doc, "items.#(b!=true)#.n").value == [2]
    # null never compares equal to anything
    assert gjson.get(doc, "items.#(b==null)#.n").value == []


def test_tilde_truthiness() -> None:
    vals = [
        {"a": 1, "b": True},
        {"a": 2, "b": True},
        {"a": 3, "b": False},
        {"a": 4, "b": "0"},
        {"a": 5, "b": 0},
        {"a": 6, "b": "1"},
        {"a": 7, "b": 1},
        {"a": 8, "b": "true"},
        {"a": 9, "b": False},
        {"a": 10, "b": None},
        {"a": 11},
    ]
    doc = {"vals": vals}
    assert gjson.get(doc, "vals.#(b==~true)#.a").value == [1, 2, 6, 7, 8]
    assert gjson.get(doc, "vals.#(b==~false)#.a").value == [3, 4, 5, 9, 10]
    assert gjson.get(doc, "vals.#(b==~null)#.a").value == [10]
    assert gjson.get(doc, "vals.#(b==~*)#.a").value == list(range(1, 11))


def test_escapes_and_special_keys() -> None:
    doc = {"a.b": {"c*d": 1, "x?": 2}, "labels": {"app.kubernetes.io/name": "katib"}, "with space": 3}
    assert gjson.get(doc, r"a\.b.c\*d").value == 1
    assert gjson.get(doc, r"a\.b.x\?").value == 2
    assert gjson.get(doc, r"labels.app\.kubernetes\.io/name").value == "katib"
    assert gjson.get(doc, "with space").value == 3
    assert gjson.get(doc, "a*.c*").value == 1


def test_query_strings_with_operators_and_brackets_inside() -> None:
    doc = {"c": [{"m": "a) b.c | d"}, {"m": 'quote " here'}]}
    assert gjson.get(doc, 'c.#(m=="a) b.c | d").m').value == "a) b.c | d"
    assert gjson.get(doc, r'c.#(m=="quote \" here")#|#').value == 1


def test_modifiers_with_arguments() -> None:
    doc = {"nested": [1, [2, [3, 4]]], "objs": [{"a": 1}, {"b": 2}, {"a": 3}]}
    assert gjson.get(doc, "nested.@flatten").value == [1, 2, [3, 4]]
    assert gjson.get(doc, 'nested.@flatten:{"deep":true}').value == [1, 2, 3, 4]
    assert gjson.get(doc, "objs.@join").value == {"a": 3, "b": 2}
    assert gjson.get(doc, "objs.@reverse.0.a").value == 3
    assert gjson.get(doc, "objs.@valid.#").value == 3


# ------------------------------------------------------------- Katib's expressions on real job shapes

JOB_COMPLETE: dict[str, Any] = {
    "status": {
        "conditions": [
            {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached"},
            {"type": "Complete", "status": "True", "reason": "CompletionsReached", "message": "Reached"},
        ],
        "succeeded": 1,
    }
}
JOB_FAILED: dict[str, Any] = {
    "status": {
        "conditions": [
            {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded"},
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "limit"},
        ]
    }
}
JOB_COMPLETE_FALSE: dict[str, Any] = {"status": {"conditions": [{"type": "Complete", "status": "False"}]}}
JOB_RUNNING: dict[str, Any] = {"status": {"active": 1}}
KUBEFLOW_SUCCEEDED: dict[str, Any] = {
    "status": {
        "conditions": [
            {"type": "Created", "status": "True"},
            {"type": "Running", "status": "False"},
            {"type": "Succeeded", "status": "True", "reason": "TFJobSucceeded"},
        ]
    }
}
ARGO_SUCCEEDED: dict[str, Any] = {"status": {"phase": "Succeeded", "progress": "2/2"}}
ARGO_RUNNING: dict[str, Any] = {"status": {"phase": "Running"}}
TEKTON_FAILED: dict[str, Any] = {
    "status": {"conditions": [{"type": "Succeeded", "status": "False", "reason": "Failed"}]}
}
TEKTON_SUCCEEDED: dict[str, Any] = {
    "status": {"conditions": [{"type": "Succeeded", "status": "True", "reason": "Completed"}]}
}

JOB_SUCCESS = 'status.conditions.#(type=="Complete")#|#(status=="True")#'
JOB_FAILURE = 'status.conditions.#(type=="Failed")#|#(status=="True")#'
KF_SUCCESS = 'status.conditions.#(type=="Succeeded")#|#(status=="True")#'
ARGO_SUCCESS = 'status.[@this].#(phase=="Succeeded")#'
ARGO_FAILURE = 'status.[@this].#(phase=="Failed")#'
TEKTON_FAILURE = 'status.conditions.#(type=="Succeeded")#|#(status=="False")#'


@pytest.mark.parametrize(
    ("doc", "path", "expected"),
    [
        (JOB_COMPLETE, JOB_SUCCESS, [JOB_COMPLETE["status"]["conditions"][1]]),
        (JOB_COMPLETE, JOB_FAILURE, []),
        (JOB_FAILED, JOB_FAILURE, [JOB_FAILED["status"]["conditions"][1]]),
        (JOB_FAILED, JOB_SUCCESS, []),
        (JOB_COMPLETE_FALSE, JOB_SUCCESS, []),
        (JOB_RUNNING, JOB_SUCCESS, MISSING),
        (JOB_RUNNING, JOB_FAILURE, MISSING),
        (KUBEFLOW_SUCCEEDED, KF_SUCCESS, [KUBEFLOW_SUCCEEDED["status"]["conditions"][2]]),
        (ARGO_SUCCEEDED, ARGO_SUCCESS, [ARGO_SUCCEEDED["status"]]),
        (ARGO_SUCCEEDED, ARGO_FAILURE, []),
        (ARGO_RUNNING, ARGO_SUCCESS, []),
        ({}, ARGO_SUCCESS, MISSING),
        (TEKTON_FAILED, TEKTON_FAILURE, [TEKTON_FAILED["status"]["conditions"][0]]),
        (TEKTON_SUCCEEDED, TEKTON_FAILURE, []),
        (TEKTON_SUCCEEDED, KF_SUCCESS, [TEKTON_SUCCEEDED["status"]["conditions"][0]]),
    ],
)
def test_katib_condition_expressions(doc: dict[str, Any], path: str, expected: Any) -> None:
    result = gjson.get(doc, path)
    if expected is MISSING:
        assert not result.exists
    else:
        assert result.is_array()
        assert result.value == expected
