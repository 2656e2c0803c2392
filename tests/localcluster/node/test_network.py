"""The Pod network as root: a network namespace per Pod on the cluster's bridge (real sockets).

Two Pods on 0.0.0.0:7000 at once, each at its own Pod IP; a Pod reaching the API server and a
Service by name; hostNetwork; hostPort; and no namespace or link left behind, after a Pod ends,
after the cluster stops, and after a SIGKILLed cluster (cleaned at the next start).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from katib_py.localcluster.kubelet.netplan import NETNS_DIR, parse_prefix

from .conftest import get_json, kubectl, wait_for
from .test_pods import apply, logs, pod, wait_phase

SERVER = textwrap.dedent(
    """
    import os, socket
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 7000))
    s.listen()
    print("listening", flush=True)
    while True:
        c, _ = s.accept()
        c.sendall(os.environ["NAME"].encode())
        c.close()
    """
)


def server_pod(name: str, **spec: Any) -> dict[str, Any]:
    container = {
        "name": "main",
        "command": [sys.executable, "-c", SERVER],
        "env": [{"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "ports": [{"containerPort": 7000}],
        "readinessProbe": {"tcpSocket": {"port": 7000}, "periodSeconds": 1},
    }
    container.update(spec.pop("container", {}))
    doc = pod(name, [container], restartPolicy="Always", **spec)
    doc["metadata"]["labels"] = {"app": name}
    return doc


def ask(ip: str, port: int = 7000) -> str:
    with socket.create_connection((ip, port), timeout=5) as s:
        return s.recv(100).decode()


def ready_ip(namespace: str, name: str) -> str:
    def check() -> str | None:
        status = get_json("-n", namespace, f"pod/{name}").get("status") or {}
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or [])
        return status.get("podIP") if ready else None

    return str(wait_for(check, timeout=60))


def our_names(prefix: str) -> list[str]:
    links = os.listdir("/sys/class/net")
    spaces = os.listdir(NETNS_DIR) if os.path.isdir(NETNS_DIR) else []
    return sorted(n for n in links + spaces if parse_prefix(n) == prefix)


def test_two_pods_on_the_same_wildcard_port_each_answer_at_their_own_ip(
    local_cluster: Any, namespace: str
) -> None:
    network = local_cluster.network
    assert network is not None, "as root every Pod gets its own network namespace"
    apply(namespace, server_pod("one"))
    apply(namespace, server_pod("two"))
    ip1, ip2 = ready_ip(namespace, "one"), ready_ip(namespace, "two")
    assert ip1 != ip2
    assert ip1.startswith("127.") and ip2.startswith("127.")
    for _ in range(5):  # never the other one
        assert ask(ip1) == "one" and ask(ip2) == "two"
    # Nothing listens on the host's 0.0.0.0:7000: the Pods have their own ports.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 7000))
    obj = get_json("-n", namespace, "pod/one")
    assert obj["status"]["hostIP"] == network.node_ip
    uid = obj["metadata"]["uid"]
    assert os.path.exists(f"{NETNS_DIR}/{network.net.netns(uid)}")
    kubectl("delete", "-n", namespace, "pod/one", "pod/two", "--wait=true", timeout=90)
    wait_for(lambda: not os.path.exists(f"{NETNS_DIR}/{network.net.netns(uid)}"), timeout=30)
    assert network.net.veth(ip1) not in os.listdir("/sys/class/net")


def test_a_pod_reaches_the_api_server_and_a_service_by_name(local_cluster: Any, namespace: str) -> None:
    apply(namespace, server_pod("backend"))
    apply(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "backend"},
            "spec": {"selector": {"app": "backend"}, "ports": [{"port": 7000}]},
        },
    )
    ready_ip(namespace, "backend")
    wait_for(
        lambda: (
            (get_json("-n", namespace, "svc/backend").get("spec") or {}).get("clusterIP") not in (None, "")
        )
    )
    client = textwrap.dedent(
        f"""
        import socket
        from kubernetes import client, config
        config.load_incluster_config()
        print("api:", client.VersionApi().get_code().git_version)
        for name in ("backend", "backend.{namespace}", "backend.{namespace}.svc.cluster.local"):
            with socket.create_connection((name, 7000), timeout=5) as s:
                print(name, "->", s.recv(100).decode())
        try:
            socket.create_connection(("127.0.0.1", 7000), timeout=2)
            print("LOCALHOST-IS-THE-HOST")
        except OSError:
            print("localhost is the Pod's own")
        """
    )
    apply(namespace, pod("client", [{"name": "main", "command": [sys.executable, "-c", client]}]))
    obj = wait_phase(namespace, "client")
    out = logs(namespace, "client")
    assert obj["status"]["phase"] == "Succeeded", out
    assert "api: v1." in out
    assert f"backend -> backend\nbackend.{namespace} -> backend\n" in out
    assert f"backend.{namespace}.svc.cluster.local -> backend" in out
    assert "localhost is the Pod's own" in out


def test_host_network_pod_uses_the_node_address(local_cluster: Any, namespace: str) -> None:
    script = "import os; print(open('/proc/self/ns/net').name, os.readlink('/proc/self/ns/net'))"
    apply(
        namespace,
        pod("hostnet", [{"name": "main", "command": [sys.executable, "-c", script]}], hostNetwork=True),
    )
    obj = wait_phase(namespace, "hostnet")
    assert obj["status"]["phase"] == "Succeeded"
    assert obj["status"]["podIP"] == obj["status"]["hostIP"] == local_cluster.network.node_ip
    assert logs(namespace, "hostnet").split()[-1] == os.readlink("/proc/self/ns/net")


def test_host_port_forwards_to_the_pod_and_a_taken_one_fails_the_pod(
    local_cluster: Any, namespace: str
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    apply(namespace, server_pod("web", container={"ports": [{"containerPort": 7000, "hostPort": free}]}))
    ready_ip(namespace, "web")
    assert ask("127.0.0.1", free) == "web"
    assert ask(local_cluster.network.node_ip, free) == "web"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        apply(
            namespace, server_pod("clash", container={"ports": [{"containerPort": 7000, "hostPort": port}]})
        )
        obj = wait_phase(namespace, "clash", ("Failed",))
    assert obj["status"]["reason"] == "HostPortConflict"
    assert f"host port 127.0.0.1:{port}/TCP is not free" in obj["status"]["message"]
    events = get_json("-n", namespace, "events", "--field-selector", "involvedObject.name=clash")["items"]
    assert any(e["reason"] == "HostPortConflict" and e["type"] == "Warning" for e in events)


CLUSTER_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from katib_py.localcluster.cluster import LocalCluster
    cluster = LocalCluster(sys.argv[1], port=0)
    cluster.start_in_thread()
    print(cluster.network.net.prefix, flush=True)
    time.sleep(3600)
    """
)


def test_a_sigkilled_clusters_network_is_removed_at_the_next_start(tmp_path: Path, namespace: str) -> None:
    """A cluster killed with SIGKILL leaves its bridge behind; the next cluster start removes it."""
    data_dir = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-c", CLUSTER_SCRIPT, str(data_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        prefix = proc.stdout.readline().strip()
        assert prefix, "the cluster did not start"
        assert f"{prefix}br" in our_names(prefix)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert our_names(prefix), "a SIGKILLed cluster leaves its bridge"
    from katib_py.localcluster.cluster import LocalCluster

    other = LocalCluster(tmp_path / "next", port=0).start_in_thread()
    try:
        assert other.network is not None and other.network.net.prefix != prefix
        assert our_names(prefix) == []
    finally:
        other.stop_thread()
    assert our_names(other.network.net.prefix) == []
    time.sleep(0)
