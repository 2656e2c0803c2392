"""What the kubelet runs for a container (`launch.launch_spec`), decided with no process and no API."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from katib_py.localcluster.kubelet.env import container_env, env_sources
from katib_py.localcluster.kubelet.errors import VolumeNotReady
from katib_py.localcluster.kubelet.launch import (
    DEFAULT_CAPABILITIES,
    HOSTS_PATH,
    SA_MOUNT_PATH,
    LaunchSpec,
    Mount,
    Sandbox,
    exec_spec,
    launch_spec,
)

SANDBOX_DIR = Path("/var/lib/kp/pods/uid-1")
HOST = {"PATH": "/venv/bin:/usr/bin", "HOME": "/root"}
BASE = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": "6443"}


def pod(**spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "namespace": "ns", "uid": "uid-1", "labels": {"app": "demo"}},
        "spec": spec,
        "status": {"podIP": "127.5.0.2", "podIPs": [{"ip": "127.5.0.2"}], "hostIP": "127.0.0.1"},
    }


def sandbox(*, isolate: bool = True, sa: bool = True, **kw: Any) -> Sandbox:
    fields: dict[str, Any] = {
        "dir": SANDBOX_DIR,
        "volumes": {"data": SANDBOX_DIR / "volumes" / "data", "cfg": SANDBOX_DIR / "volumes" / "cfg"},
        "hosts_file": SANDBOX_DIR / "hosts",
        "sa_dir": SANDBOX_DIR / "serviceaccount" if sa else None,
        "isolate": isolate,
        "pidns_pid": None,
        "host_env": HOST,
        "base_env": BASE,
        "keep_visible": ("/venv",),
    }
    fields.update(kw)
    return Sandbox(**fields)


def spec_of(container: dict[str, Any], sources: dict[Any, Any] | None = None, **kw: Any) -> LaunchSpec:
    return launch_spec(pod(), {"name": "main", **container}, sandbox(**kw), sources or {})


CM = {"metadata": {"name": "cm"}, "data": {"color": "blue", "SIZE": "3"}}
SECRET = {"metadata": {"name": "sec"}, "data": {"token": base64.b64encode(b"t0k").decode()}}


# ---------------------------------------------------------------- argv, cwd


def test_argv_is_command_then_args_expanded_against_the_final_environment() -> None:
    spec = spec_of(
        {
            "command": ["sh", "-c"],
            "args": ["echo $(GREETING) $$(GREETING) $(UNSET) $(KUBERNETES_SERVICE_PORT)"],
            "env": [{"name": "NAME", "value": "world"}, {"name": "GREETING", "value": "hello-$(NAME)"}],
            "workingDir": "/work",
        }
    )
    assert spec.argv == ("sh", "-c", "echo hello-world $(GREETING) $(UNSET) 6443")
    assert spec.cwd == "/work"
    assert spec.name == "main"


def test_no_command_gives_an_empty_argv() -> None:
    assert spec_of({}).argv == ()  # the launcher reports "no command specified"


# ---------------------------------------------------------------- environment


def test_environment_order_and_precedence() -> None:
    container = {
        "envFrom": [{"configMapRef": {"name": "cm"}, "prefix": "CFG_"}, {"secretRef": {"name": "sec"}}],
        "env": [
            {"name": "PATH", "value": "/opt/bin:$(PATH)"},
            {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "color"}}},
            {"name": "CFG_SIZE", "value": "4"},
            {"name": "MY_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "MY_APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
        ],
    }
    env = container_env(
        pod(), container, {("configmap", "cm"): CM, ("secret", "sec"): SECRET}, host=HOST, base=BASE
    )
    assert env == {
        "PATH": "/opt/bin:/venv/bin:/usr/bin",
        "HOME": "/root",
        "HOSTNAME": "p",
        **BASE,
        "CFG_color": "blue",
        "CFG_SIZE": "4",
        "token": "t0k",
        "COLOR": "blue",
        "MY_IP": "127.5.0.2",
        "MY_APP": "demo",
        "CPU": "0",
    }


def test_hostname_comes_from_the_pod_spec_when_set() -> None:
    env = container_env(pod(hostname="train-0"), {"name": "m"}, {}, host=HOST, base={})
    assert env["HOSTNAME"] == "train-0"


def test_a_missing_required_source_waits_and_an_optional_one_is_skipped() -> None:
    with pytest.raises(VolumeNotReady, match='configmap "cm" not found'):
        spec_of({"envFrom": [{"configMapRef": {"name": "cm"}}]})
    with pytest.raises(VolumeNotReady, match="couldn't find key nope in configmap ns/cm"):
        spec_of(
            {"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "nope"}}}]},
            {("configmap", "cm"): CM},
        )
    spec = spec_of(
        {
            "envFrom": [{"secretRef": {"name": "gone", "optional": True}}],
            "env": [
                {"name": "X", "valueFrom": {"secretKeyRef": {"name": "gone", "key": "k", "optional": True}}}
            ],
        }
    )
    assert "X" not in spec.env


def test_env_sources_names_each_source_once_in_order() -> None:
    container = {
        "envFrom": [{"secretRef": {"name": "sec"}}, {"configMapRef": {"name": "cm"}}],
        "env": [
            {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "color"}}},
            {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "other", "key": "k"}}},
            {"name": "C", "value": "plain"},
        ],
    }
    assert env_sources(container) == [("secret", "sec"), ("configmap", "cm"), ("configmap", "other")]


# ---------------------------------------------------------------- mounts


def test_mounts_in_a_mount_namespace() -> None:
    spec = spec_of(
        {
            "volumeMounts": [
                {"name": "data", "mountPath": "/data"},
                {"name": "cfg", "mountPath": "/etc/app.conf", "subPath": "conf/app.conf", "readOnly": True},
                {"name": "missing", "mountPath": "/nowhere"},
            ],
            "terminationMessagePath": "/tmp/term",
        }
    )
    volumes = SANDBOX_DIR / "volumes"
    assert spec.mounts == (
        Mount(str(volumes / "data"), "/data"),
        Mount(str(volumes / "cfg" / "conf/app.conf"), "/etc/app.conf", True, volume=str(volumes / "cfg")),
        Mount(str(SANDBOX_DIR / "serviceaccount"), SA_MOUNT_PATH, read_only=True),
        Mount(str(SANDBOX_DIR / "hosts"), HOSTS_PATH),
        Mount(str(SANDBOX_DIR / "termination" / "main"), "/tmp/term"),
    )
    assert spec.termination_file == SANDBOX_DIR / "termination" / "main"
    assert spec.links == ()
    assert "KUBECONFIG" not in spec.env


def test_a_volume_at_the_service_account_path_replaces_the_token_mount() -> None:
    spec = spec_of({"volumeMounts": [{"name": "data", "mountPath": SA_MOUNT_PATH}]})
    assert [m.target for m in spec.mounts].count(SA_MOUNT_PATH) == 1
    assert spec.mounts[0].source.endswith("/volumes/data")


def test_without_a_service_account_there_is_no_token_mount() -> None:
    assert SA_MOUNT_PATH not in [m.target for m in spec_of({}, sa=False).mounts]


def test_without_isolation_volumes_are_links_and_the_api_is_found_by_kubeconfig() -> None:
    spec = spec_of({"volumeMounts": [{"name": "data", "mountPath": "/data"}]}, isolate=False)
    assert spec.links == (Mount(str(SANDBOX_DIR / "volumes" / "data"), "/data"),)
    assert spec.env["KUBECONFIG"] == str(SANDBOX_DIR / "serviceaccount" / "kubeconfig")
    assert "/dev/termination-log" not in [m.target for m in spec.mounts]
    explicit = spec_of({"env": [{"name": "KUBECONFIG", "value": "/mine"}]}, isolate=False)
    assert explicit.env["KUBECONFIG"] == "/mine"


def test_the_default_termination_message_path() -> None:
    assert spec_of({}).mounts[-1].target == "/dev/termination-log"


# ---------------------------------------------------------------- the launcher's document, exec


def test_launcher_config_is_what_launcher_py_reads() -> None:
    spec = spec_of({"command": ["true"]}, sa=False, pidns_pid=4242)
    config = spec.launcher_config(error_fd=9, parent_pid=31)
    assert config == {
        "argv": ["true"],
        "env": dict(spec.env),
        "cwd": "",
        "mounts": [
            {"source": str(SANDBOX_DIR / "hosts"), "target": HOSTS_PATH, "readOnly": False},
            {
                "source": str(SANDBOX_DIR / "termination" / "main"),
                "target": "/dev/termination-log",
                "readOnly": False,
            },
        ],
        "isolate": True,
        "pidns_pid": 4242,
        "mount_proc": True,
        "scratch": str(SANDBOX_DIR / "scratch"),
        "keep_visible": ["/venv"],
        "hide": [],
        "user": {
            "uid": None,
            "gid": None,
            "groups": [],
            "capabilities": list(DEFAULT_CAPABILITIES),
            "no_new_privs": False,
        },
        "parent_pid": 31,
        "error_fd": 9,
        "netns": None,
    }


def test_an_exec_probe_joins_the_container_and_expands_its_command() -> None:
    container = spec_of({"env": [{"name": "PORT", "value": "8080"}]}, pidns_pid=77)
    probe = exec_spec(container, ["check", "--port=$(PORT)"], container_pid=1234)
    assert probe.argv == ("check", "--port=8080")
    assert probe.env == container.env and probe.cwd == container.cwd
    config = probe.launcher_config(error_fd=3)
    assert (config["join_mnt_pid"], config["pidns_pid"], config["isolate"], config["mounts"]) == (
        1234,
        77,
        False,
        [],
    )


def test_an_exec_probe_without_isolation_runs_on_the_host() -> None:
    container = spec_of({}, isolate=False, pidns_pid=None)
    config = exec_spec(container, ["true"], container_pid=1234).launcher_config(error_fd=3)
    assert "join_mnt_pid" not in config and config["pidns_pid"] is None


def test_a_launch_spec_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec_of({}).argv = ("x",)  # type: ignore[misc]


def test_identity_container_wins_and_capabilities_follow_containerd() -> None:
    from katib_py.localcluster.kubelet.launch import identity

    pod_obj = {"spec": {"securityContext": {"runAsUser": 1000, "runAsGroup": 2000, "fsGroup": 3000}}}
    user = identity(pod_obj, {"securityContext": {"runAsUser": 65532, "capabilities": {"drop": ["ALL"]}}})
    assert (user.uid, user.gid, user.groups, user.capabilities) == (65532, 2000, (3000,), ())
    assert identity({"spec": {}}, {"securityContext": {"runAsUser": 7}}).gid == 7
    added = identity(
        {"spec": {}}, {"securityContext": {"capabilities": {"add": ["NET_ADMIN"], "drop": ["KILL"]}}}
    )
    assert added.uid is None and added.capabilities is not None
    assert "NET_ADMIN" in added.capabilities and "KILL" not in added.capabilities
    assert identity({"spec": {}}, {"securityContext": {"privileged": True}}).capabilities is None
    assert identity({"spec": {}}, {"securityContext": {"allowPrivilegeEscalation": False}}).no_new_privs
