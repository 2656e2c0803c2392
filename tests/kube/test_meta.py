"""Object-meta helpers and label selectors: one copy, Kubernetes' rules."""

from __future__ import annotations

import random

from katib_py.kube.meta import (
    NAME_ALPHABET,
    controller_name,
    key_of,
    owner_reference,
    random_suffix,
    set_condition,
)
from katib_py.kube.selectors import label_selector_matches, labels_match, parse_label_selector

JOB = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "namespace": "ns", "uid": "u1"}}


def test_owner_reference_and_controller() -> None:
    ref = owner_reference(JOB)
    assert ref == {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": "j",
        "uid": "u1",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    listed = {"metadata": JOB["metadata"]}  # list items carry no apiVersion/kind
    assert owner_reference(listed, "batch/v1", "Job") == ref
    pod = {"metadata": {"ownerReferences": [owner_reference(JOB, controller=False), ref]}}
    assert controller_name(pod, "Job") == "j" and controller_name(pod, "Trial") is None
    assert key_of(JOB) == ("ns", "j") and key_of({}) == ("", "")


def test_random_suffix_uses_kubernetes_alphabet() -> None:
    assert set(random_suffix(200)) <= set(NAME_ALPHABET)
    assert random_suffix(8, random.Random(1)) == random_suffix(8, random.Random(1))


def test_job_conditions_update_in_place() -> None:
    conds = set_condition([], "Suspended", "True", "JobSuspended", "Job suspended", now="t1")
    assert conds == [
        {
            "type": "Suspended",
            "status": "True",
            "reason": "JobSuspended",
            "message": "Job suspended",
            "lastProbeTime": "t1",
            "lastTransitionTime": "t1",
        }
    ]
    same = set_condition(conds, "Suspended", "True", "JobSuspended", "Job suspended", now="t2")
    assert same == conds and same is not conds
    other = set_condition(
        [*conds, {"type": "Complete", "status": "False"}], "Suspended", "False", "JobResumed", "r", now="t3"
    )
    assert [c["type"] for c in other] == ["Suspended", "Complete"]
    assert other[0]["lastTransitionTime"] == "t3" and other[0]["lastProbeTime"] == "t3"
    reworded = set_condition(other, "Suspended", "False", "JobResumed", "resumed", now="t4")
    assert reworded[0]["lastTransitionTime"] == "t3" and reworded[0]["lastProbeTime"] == "t4"


def test_katib_conditions_move_to_the_end_and_ignore_a_new_message() -> None:
    kw = {"stamp": "lastUpdateTime", "same_when": ("status", "reason"), "move_to_end": True}
    conds = set_condition([], "Created", "True", "Created", "made", now="t1", **kw)  # type: ignore[arg-type]
    conds = set_condition(conds, "Running", "True", "Running", "runs", now="t2", **kw)  # type: ignore[arg-type]
    again = set_condition(conds, "Created", "True", "Created", "new words", now="t3", **kw)  # type: ignore[arg-type]
    assert again == conds
    moved = set_condition(conds, "Created", "True", "Restarted", "back", now="t4", **kw)  # type: ignore[arg-type]
    assert [c["type"] for c in moved] == ["Running", "Created"]
    assert moved[-1]["lastTransitionTime"] == "t1" and moved[-1]["lastUpdateTime"] == "t4"


def test_a_nil_selector_selects_nothing_and_an_empty_one_everything() -> None:
    labels = {"app": "x", "tier": "web"}
    assert not label_selector_matches(None, labels)
    assert label_selector_matches({}, labels)
    assert label_selector_matches({"matchLabels": {}}, labels)
    assert label_selector_matches(
        {
            "matchLabels": {"app": "x"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}],
        },
        labels,
    )
    assert not label_selector_matches(
        {"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, labels
    )
    assert labels_match(parse_label_selector("app=x,tier notin (db)"), {"metadata": {"labels": labels}})
