"""Without network namespaces (what non-root hosts get; forced here with `netns=False`): Pods
share the host's ports, each with its own loopback address, and a Pod whose wildcard listener
collides with another live Pod's port is failed with a Warning event instead of taking its
connections (real processes, SO_REUSEPORT as gRPC sets it)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from katib_py.localcluster.cluster import LocalCluster

from .conftest import KUBECTL, wait_for

SERVER = textwrap.dedent(
    """
    import os, socket, sys
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind((sys.argv[1], int(sys.argv[2])))
    s.listen()
    while True:
        c, _ = s.accept()
        c.sendall(os.environ["NAME"].encode())
        c.close()
    """
)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalCluster, dict[str, str]]]:
    cluster = LocalCluster(tmp_path_factory.mktemp("shared"), netns=False, in_memory=True, port_check=0.2)
    cluster.start_in_thread()
    try:
        yield cluster, dict(os.environ, KUBECONFIG=str(cluster.kubeconfig))
    finally:
        cluster.stop_thread()


def kubectl(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    proc = subprocess.run([KUBECTL, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def server(env: dict[str, str], name: str, address: str, port: int) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "main",
                    "image": "python",
                    "command": [sys.executable, "-c", SERVER, address, str(port)],
                    "env": [
                        {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                    ],
                    "readinessProbe": {"tcpSocket": {"port": port}, "periodSeconds": 1},
                }
            ],
        },
    }
    kubectl(env, "apply", "-f", "-", stdin=json.dumps(pod))


def status(env: dict[str, str], name: str) -> dict[str, Any]:
    return dict(json.loads(kubectl(env, "get", f"pod/{name}", "-o", "json")).get("status") or {})


def ready_ip(env: dict[str, str], name: str) -> str:
    def check() -> str | None:
        st = status(env, name)
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in st.get("conditions") or [])
        return st.get("podIP") if ready else None

    return str(wait_for(check, timeout=60))


def ask(ip: str, port: int) -> str:
    with socket.create_connection((ip, port), timeout=5) as s:
        return s.recv(100).decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_pods_share_the_hosts_network_without_namespaces(shared: Any) -> None:
    cluster, _env = shared
    assert cluster.network is None and cluster.kubelet.isolate, "mount namespaces yes, network namespaces no"


def test_a_second_wildcard_listener_on_a_pods_port_fails_with_an_event(shared: Any) -> None:
    _cluster, env = shared
    port = free_port()
    server(env, "first", "0.0.0.0", port)
    first_ip = ready_ip(env, "first")
    server(env, "second", "0.0.0.0", port)

    st = wait_for(lambda: (s := status(env, "second")).get("phase") == "Failed" and s, timeout=60)
    assert st["reason"] == "PortConflict"
    assert (
        f"listens on 0.0.0.0 port {port} while Pod default/first listens on 0.0.0.0 port {port}"
        in st["message"]
    )
    events = json.loads(
        kubectl(env, "get", "events", "--field-selector", "involvedObject.name=second", "-o", "json")
    )
    warning = [e for e in events["items"] if e["reason"] == "PortConflict"]
    assert warning and warning[0]["type"] == "Warning" and "status.podIP" in warning[0]["message"]
    # The older Pod keeps its port and every connection: the younger one's processes are gone.
    assert status(env, "first").get("phase") == "Running"
    assert {ask(first_ip, port) for _ in range(20)} == {"first"}


def test_pods_on_their_own_addresses_share_a_port(shared: Any) -> None:
    _cluster, env = shared
    port = free_port()
    server(env, "own-a", "$(POD_IP)", port)
    server(env, "own-b", "$(POD_IP)", port)
    ip_a, ip_b = ready_ip(env, "own-a"), ready_ip(env, "own-b")
    assert ask(ip_a, port) == "own-a" and ask(ip_b, port) == "own-b"
    assert status(env, "own-a")["phase"] == status(env, "own-b")["phase"] == "Running"
