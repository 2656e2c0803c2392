"""Paths that leave their volume fail the container for good, with a clear error (kubelet + kubectl).

A projected file's path (ConfigMap/Secret item, downward API) and a volumeMount's subPath must stay
inside their volume, symlinks resolved. Such a path is in the Pod's spec, which does not change, so
it is not retried: the container is reported waiting with reason CreateContainerConfigError and the
error as message, with a warning event on the Pod, and the Pod fails.
"""

from __future__ import annotations

import json
from typing import Any

from .conftest import get_json, kubectl, wait_for


def run_pod(namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    doc = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", **spec},
    }
    kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(doc))
    wait_for(
        lambda: (
            (get_json("-n", namespace, f"pod/{name}").get("status") or {}).get("phase")
            in ("Succeeded", "Failed")
        ),
        timeout=60,
    )
    return dict(get_json("-n", namespace, f"pod/{name}"))


def waiting_of(pod: dict[str, Any]) -> dict[str, Any]:
    status = pod["status"]["containerStatuses"][0]
    return dict(status["state"]["waiting"])


def warnings_of(namespace: str, name: str) -> list[tuple[str, str]]:
    events = get_json("-n", namespace, "events", "--field-selector", f"involvedObject.name={name}")["items"]
    return [(e["reason"], e["message"]) for e in events if e["type"] == "Warning"]


def test_a_sub_path_with_backsteps_fails_the_container(local_cluster: Any, namespace: str) -> None:
    container = {
        "name": "main",
        "image": "busybox",
        "command": ["true"],
        "volumeMounts": [{"name": "data", "mountPath": "/tmp/katib-py-subpath", "subPath": "../x"}],
    }
    pod = run_pod(
        namespace, "backstep", {"containers": [container], "volumes": [{"name": "data", "emptyDir": {}}]}
    )
    assert pod["status"]["phase"] == "Failed"
    waiting = waiting_of(pod)
    assert waiting["reason"] == "CreateContainerConfigError"
    assert waiting["message"] == (
        'failed to prepare subPath for volumeMount "data" of container "main": '
        "subPath \"../x\" must not contain '..'"
    )
    assert ("Failed", f"Error: {waiting['message']}") in wait_for(lambda: warnings_of(namespace, "backstep"))


def test_a_sub_path_through_a_symlink_out_of_the_volume_fails(local_cluster: Any, namespace: str) -> None:
    mount = "/tmp/katib-py-subpath-link"
    init = {
        "name": "plant",
        "image": "busybox",
        "command": ["sh", "-c", f"ln -s /etc {mount}/link"],
        "volumeMounts": [{"name": "data", "mountPath": mount}],
    }
    main = {
        "name": "main",
        "image": "busybox",
        "command": ["cat", "/tmp/katib-py-etc/hostname"],
        "volumeMounts": [{"name": "data", "mountPath": "/tmp/katib-py-etc", "subPath": "link"}],
    }
    spec = {"initContainers": [init], "containers": [main], "volumes": [{"name": "data", "emptyDir": {}}]}
    pod = run_pod(namespace, "symlink", spec)
    assert pod["status"]["phase"] == "Failed"
    waiting = waiting_of(pod)
    assert waiting["reason"] == "CreateContainerConfigError"
    assert 'subPath "link"' in waiting["message"] and "leaves its volume" in waiting["message"]


def test_a_config_map_item_in_a_sibling_volume_fails_the_pod(local_cluster: Any, namespace: str) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"k": "planted"}}
    kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(cm))
    # Volume directories are siblings: ../cfg2/evil from "cfg" lands in "cfg2" (a common prefix).
    volumes = [
        {"name": "cfg2", "emptyDir": {}},
        {"name": "cfg", "configMap": {"name": "cfg", "items": [{"key": "k", "path": "../cfg2/evil"}]}},
    ]
    container = {
        "name": "main",
        "image": "busybox",
        "command": ["cat", "/tmp/katib-py-cfg2/evil"],
        "volumeMounts": [{"name": "cfg2", "mountPath": "/tmp/katib-py-cfg2"}],
    }
    pod = run_pod(namespace, "sibling", {"containers": [container], "volumes": volumes})
    assert pod["status"]["phase"] == "Failed"
    waiting = waiting_of(pod)
    assert waiting["reason"] == "CreateContainerConfigError"
    expected = (
        'MountVolume.SetUp failed for volume "cfg" : invalid path "../cfg2/evil": must not contain \'..\''
    )
    assert waiting["message"] == expected
    assert pod["status"]["message"] == expected
    assert ("FailedMount", expected) in wait_for(lambda: warnings_of(namespace, "sibling"))
    assert kubectl("logs", "-n", namespace, "sibling", check=False).stdout == ""
