"""How a DELETE is decided (`apiserver.deletion`), rule by rule, with no server."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from katib_py.kube.errors import Conflict, Invalid
from katib_py.localcluster.apiserver import deletion
from katib_py.localcluster.apiserver.registry import Registry, ResourceInfo

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
REGISTRY = Registry()


def info(group: str, plural: str) -> ResourceInfo:
    found = next((i for i in REGISTRY.all() if i.group == group and i.plural == plural), None)
    assert found is not None
    return found


CONFIGMAPS, PODS, JOBS, NAMESPACES = (
    info("", "configmaps"),
    info("", "pods"),
    info("batch", "jobs"),
    info("", "namespaces"),
)


def obj(name: str = "x", *, finalizers: list[str] | None = None, **meta: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "ns", "uid": "u-1", "resourceVersion": "5", **meta}
    if finalizers is not None:
        metadata["finalizers"] = finalizers
    return {"metadata": metadata}


def pod(phase: str = "Running", node: str | None = "local", **spec: Any) -> dict[str, Any]:
    body = obj("p")
    body["spec"] = {"nodeName": node, **spec} if node else dict(spec)
    body["status"] = {"phase": phase}
    return body


def decide(kind: ResourceInfo, current: dict[str, Any], **options: Any) -> deletion.Deletion:
    before = copy.deepcopy(current)
    result = deletion.decide(kind, current, options, now=NOW)
    assert current == before  # the stored object is never changed in place
    return result


# ---------------------------------------------------------------- preconditions


def test_preconditions_must_match() -> None:
    current = obj()
    deletion.check_preconditions(
        CONFIGMAPS, current, {"preconditions": {"uid": "u-1", "resourceVersion": "5"}}
    )
    with pytest.raises(
        Conflict, match="Precondition failed: UID in precondition: u-2, UID in object meta: u-1"
    ):
        deletion.check_preconditions(CONFIGMAPS, current, {"preconditions": {"uid": "u-2"}})
    with pytest.raises(Conflict, match="the object has been modified"):
        deletion.check_preconditions(CONFIGMAPS, current, {"preconditions": {"resourceVersion": "4"}})


# ---------------------------------------------------------------- propagation


@pytest.mark.parametrize(
    ("kind", "options", "policy"),
    [
        (CONFIGMAPS, {}, None),
        (JOBS, {}, "Orphan"),
        (CONFIGMAPS, {"orphanDependents": True}, "Orphan"),
        (JOBS, {"orphanDependents": False}, "Background"),
        (CONFIGMAPS, {"propagationPolicy": "Foreground", "orphanDependents": True}, "Foreground"),
    ],
)
def test_propagation_policy(kind: ResourceInfo, options: dict[str, Any], policy: str | None) -> None:
    assert deletion.propagation_policy(kind, options) == policy


def test_an_unknown_propagation_policy_is_invalid() -> None:
    with pytest.raises(Invalid) as err:
        deletion.propagation_policy(CONFIGMAPS, {"propagationPolicy": "Sometimes"})
    assert err.value.status == 422
    cause = err.value.body["details"]["causes"][0]
    assert (cause["reason"], cause["field"]) == ("FieldValueNotSupported", "propagationPolicy")
    assert cause["message"].startswith('Unsupported value: "Sometimes"')


# ---------------------------------------------------------------- outcomes


def test_an_object_with_nothing_holding_it_is_removed_now() -> None:
    result = decide(CONFIGMAPS, obj())
    assert (result.action, result.code) == ("remove", 200)
    assert "deletionTimestamp" not in result.obj["metadata"]


def test_finalizers_hold_an_object_marked_for_deletion() -> None:
    result = decide(CONFIGMAPS, obj(finalizers=["example.com/keep"]))
    assert (result.action, result.code) == ("mark", 200)
    meta = result.obj["metadata"]
    assert (meta["deletionTimestamp"], meta["deletionGracePeriodSeconds"]) == ("2024-05-01T12:00:00Z", 0)
    again = decide(CONFIGMAPS, result.obj)
    assert again.action == "keep" and again.obj == result.obj


def test_foreground_adds_its_finalizer_in_place_of_orphan() -> None:
    result = decide(CONFIGMAPS, obj(finalizers=["orphan", "a"]), propagationPolicy="Foreground")
    assert result.action == "mark"
    assert result.obj["metadata"]["finalizers"] == ["a", "foregroundDeletion"]


def test_a_job_is_orphaned_by_default_and_orphan_replaces_foreground() -> None:
    assert decide(JOBS, obj()).obj["metadata"]["finalizers"] == ["orphan"]
    result = decide(CONFIGMAPS, obj(finalizers=["foregroundDeletion"]), propagationPolicy="Orphan")
    assert result.obj["metadata"]["finalizers"] == ["orphan"]


def test_orphan_dependents_false_answers_202_while_the_object_waits() -> None:
    assert decide(CONFIGMAPS, obj(finalizers=["a"]), orphanDependents=False).code == 202
    assert decide(CONFIGMAPS, obj(), orphanDependents=False).code == 200  # removed at once


def test_a_namespace_terminates_until_its_finalizers_are_done() -> None:
    ns = {
        "metadata": {"name": "ns1", "uid": "n"},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }
    result = decide(NAMESPACES, ns)
    assert result.action == "mark"
    assert result.obj["status"]["phase"] == "Terminating"
    assert result.obj["metadata"]["deletionTimestamp"] == "2024-05-01T12:00:00Z"
    assert decide(NAMESPACES, {"metadata": {"name": "ns2"}, "spec": {}}).action == "remove"


# ---------------------------------------------------------------- graceful Pods


def test_a_running_pod_gets_its_grace_period() -> None:
    result = decide(PODS, pod())
    meta = result.obj["metadata"]
    assert result.action == "mark"
    assert (meta["deletionTimestamp"], meta["deletionGracePeriodSeconds"]) == ("2024-05-01T12:00:30Z", 30)
    assert (
        decide(PODS, pod(terminationGracePeriodSeconds=7)).obj["metadata"]["deletionGracePeriodSeconds"] == 7
    )
    assert decide(PODS, pod(), gracePeriodSeconds=5).obj["metadata"]["deletionGracePeriodSeconds"] == 5


def test_a_later_delete_shortens_the_grace_never_lengthens_it() -> None:
    marked = decide(PODS, pod(), gracePeriodSeconds=10).obj
    assert decide(PODS, marked, gracePeriodSeconds=20).action == "keep"
    assert decide(PODS, marked).action == "keep"  # the default 30 is longer too
    shorter = decide(PODS, marked, gracePeriodSeconds=2)
    assert shorter.action == "mark"
    assert shorter.obj["metadata"]["deletionTimestamp"] == "2024-05-01T12:00:02Z"
    assert decide(PODS, marked, gracePeriodSeconds=0).action == "remove"  # the kubelet's last word


@pytest.mark.parametrize(
    "body", [pod(node=None), pod("Succeeded"), pod("Failed"), pod(terminationGracePeriodSeconds=0)]
)
def test_pods_with_nothing_to_stop_are_removed_at_once(body: dict[str, Any]) -> None:
    assert decide(PODS, body).action == "remove"


def test_a_negative_grace_counts_as_zero() -> None:
    assert deletion.grace_period(PODS, pod(), {"gracePeriodSeconds": -3}) == 0
    assert deletion.grace_period(CONFIGMAPS, pod(), {"gracePeriodSeconds": 9}) == 0


def test_a_pod_held_by_a_finalizer_keeps_its_grace_period() -> None:
    body = pod()
    body["metadata"]["finalizers"] = ["batch.kubernetes.io/job-tracking"]
    meta = decide(PODS, body, gracePeriodSeconds=4).obj["metadata"]
    assert (meta["deletionTimestamp"], meta["deletionGracePeriodSeconds"]) == ("2024-05-01T12:00:04Z", 4)


# ---------------------------------------------------------------- after the DELETE


def test_when_a_marked_object_may_go() -> None:
    assert deletion.may_vanish(CONFIGMAPS, obj(finalizers=[]))
    assert not deletion.may_vanish(CONFIGMAPS, obj(finalizers=["a"]))
    assert not deletion.may_vanish(NAMESPACES, {"metadata": {}, "spec": {"finalizers": ["kubernetes"]}})
    assert deletion.may_vanish(NAMESPACES, {"metadata": {}, "spec": {"finalizers": []}})
    graceful = decide(PODS, pod()).obj
    assert not deletion.may_vanish(PODS, graceful)  # its kubelet deletes it with grace 0
    assert deletion.may_vanish(PODS, decide(PODS, pod(), gracePeriodSeconds=0).obj)


def test_no_finalizer_may_be_added_to_an_object_being_deleted() -> None:
    marked = decide(CONFIGMAPS, obj(finalizers=["a"])).obj
    more = copy.deepcopy(marked)
    more["metadata"]["finalizers"] = ["a", "b", "c"]
    with pytest.raises(Invalid) as err:
        deletion.check_no_new_finalizers(CONFIGMAPS, marked, more)
    cause = err.value.body["details"]["causes"][0]
    assert cause["field"] == "metadata.finalizers"
    assert cause["message"].endswith('found new finalizers ["b", "c"]')
    fewer = copy.deepcopy(marked)
    fewer["metadata"]["finalizers"] = []
    deletion.check_no_new_finalizers(CONFIGMAPS, marked, fewer)
    deletion.check_no_new_finalizers(CONFIGMAPS, obj(), more)  # not being deleted: any change is fine
