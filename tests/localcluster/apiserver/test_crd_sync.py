"""What a CRD serves and the status it gets (`apiserver.crds`): unit rules, then the server."""

from __future__ import annotations

import time
from typing import Any

from katib_py.kube.rfc3339 import now_time
from katib_py.localcluster.apiserver.crds import accepted_status, crd_sync

from .harness import ServerThread, raw


def crd(**spec: Any) -> dict[str, Any]:
    base = {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "gadgets", "kind": "Gadget"},
        "versions": [
            {"name": "v1alpha1", "served": True, "storage": False},
            {"name": "v1", "served": True, "storage": True, "subresources": {"status": {}}},
            {"name": "v0", "served": False, "storage": False},
        ],
    }
    return {"metadata": {"name": "gadgets.example.com"}, "spec": {**base, **spec}}


def test_a_crd_serves_its_served_versions_storage_first() -> None:
    change = crd_sync(crd(), deleted=False)
    assert [(i.group, i.version, i.plural, i.kind) for i in change.serve] == [
        ("example.com", "v1", "gadgets", "Gadget"),
        ("example.com", "v1alpha1", "gadgets", "Gadget"),
    ]
    assert change.serve[0].has_status and not change.serve[1].has_status
    assert {i.crd_name for i in change.serve} == {"gadgets.example.com"}
    assert change.drop is None


def test_a_deleted_crd_serves_nothing_and_its_objects_go() -> None:
    change = crd_sync(crd(), deleted=True)
    assert change.serve == ()
    assert change.drop == "example.com/gadgets"
    unserved = crd(versions=[{"name": "v1", "served": False, "storage": True}])
    assert crd_sync(unserved, deleted=True).drop == "example.com/gadgets"


def test_accepted_status() -> None:
    status = accepted_status(crd(), "2024-05-01T12:00:00Z")
    assert status["acceptedNames"] == {
        "plural": "gadgets",
        "kind": "Gadget",
        "singular": "gadget",
        "listKind": "GadgetList",
    }
    assert [(c["type"], c["status"], c["reason"], c["lastTransitionTime"]) for c in status["conditions"]] == [
        ("NamesAccepted", "True", "NoConflicts", "2024-05-01T12:00:00Z"),
        ("Established", "True", "InitialNamesAccepted", "2024-05-01T12:00:00Z"),
    ]
    assert status["storedVersions"] == ["v1"]


def test_accepting_again_keeps_the_transition_times() -> None:
    first = crd()
    first["status"] = accepted_status(first, "2024-05-01T12:00:00Z")
    again = accepted_status(first, "2024-05-01T13:00:00Z")
    assert again == first["status"]
    first["status"]["conditions"][1]["status"] = "False"
    moved = accepted_status(first, "2024-05-01T13:00:00Z")
    assert [c["lastTransitionTime"] for c in moved["conditions"]] == [
        "2024-05-01T12:00:00Z",
        "2024-05-01T13:00:00Z",
    ]


def test_replacing_an_unchanged_crd_writes_nothing(cluster: ServerThread) -> None:
    before = cluster.kubectl_json("get", "crd", "widgets.example.com")
    while now_time() == before["status"]["conditions"][-1]["lastTransitionTime"]:
        time.sleep(0.05)  # a later second: a rewritten condition would show it
    path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com"
    status, body = raw(cluster, "PUT", path, before)  # kubectl replace would rewrite an annotation
    assert status == 200, body
    after = cluster.kubectl_json("get", "crd", "widgets.example.com")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert after["status"]["conditions"] == before["status"]["conditions"]
