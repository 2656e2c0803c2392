"""The kubelet: processes, namespaces, volumes, probes, sidecars and in-cluster API access."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .conftest import get_json, kubectl, wait_for

# Mount paths used by these tests: volumes appear there inside the Pods only (the host keeps
# empty mount points), so they live under /tmp rather than at the root of the host.
M = "/tmp/katib-py-node-tests"


def apply(namespace: str, doc: dict[str, Any] | str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", stdin=doc if isinstance(doc, str) else json.dumps(doc))


def pod(name: str, containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    spec.setdefault("restartPolicy", "Never")
    for c in containers:
        c.setdefault("image", "busybox")
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": containers, **spec},
    }


def phase_of(namespace: str, name: str) -> str:
    return str((get_json("-n", namespace, f"pod/{name}").get("status") or {}).get("phase"))


def wait_phase(
    namespace: str, name: str, phases: tuple[str, ...] = ("Succeeded", "Failed")
) -> dict[str, Any]:
    wait_for(lambda: phase_of(namespace, name) in phases, timeout=60)
    return dict(get_json("-n", namespace, f"pod/{name}"))


def logs(namespace: str, name: str, container: str | None = None) -> str:
    args = ["logs", "-n", namespace, name] + (["-c", container] if container else [])
    return kubectl(*args).stdout


def test_missing_command_fails_with_start_error(local_cluster: Any, namespace: str) -> None:
    apply(namespace, pod("nocmd", [{"name": "main", "command": ["no-such-command-xyz"]}]))
    obj = wait_phase(namespace, "nocmd")
    assert obj["status"]["phase"] == "Failed"
    term = obj["status"]["containerStatuses"][0]["state"]["terminated"]
    assert term["reason"] == "StartError" and term["exitCode"] == 128
    assert 'exec: "no-such-command-xyz": executable file not found in $PATH' in term["message"]


def test_env_expansion_and_downward_api(local_cluster: Any, namespace: str) -> None:
    apply(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "envcm"},
            "data": {"color": "blue", "SIZE": "3"},
        },
    )
    apply(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "envsec"},
            "stringData": {"token": "t0k"},
        },
    )
    apply(
        namespace,
        pod(
            "env",
            [
                {
                    "name": "main",
                    "command": ["sh", "-c"],
                    "args": [
                        "echo $(GREETING) '$$(GREETING)' '$(UNSET)' $MY_NAME $MY_NS $MY_LABEL $POD_IP; "
                        "pwd; echo $KUBERNETES_SERVICE_HOST; echo $FROM_CM $FROM_SECRET $CFG_SIZE"
                    ],
                    "workingDir": "/tmp",
                    "envFrom": [{"configMapRef": {"name": "envcm"}, "prefix": "CFG_"}],
                    "env": [
                        {"name": "BASE", "value": "hello"},
                        {"name": "GREETING", "value": "$(BASE)-world"},
                        {"name": "MY_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        {"name": "MY_NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                        {
                            "name": "MY_LABEL",
                            "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}},
                        },
                        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                        {
                            "name": "FROM_CM",
                            "valueFrom": {"configMapKeyRef": {"name": "envcm", "key": "color"}},
                        },
                        {
                            "name": "FROM_SECRET",
                            "valueFrom": {"secretKeyRef": {"name": "envsec", "key": "token"}},
                        },
                    ],
                }
            ],
        )
        | {"metadata": {"name": "env", "labels": {"app": "demo"}}},
    )
    obj = wait_phase(namespace, "env")
    ip = obj["status"]["podIP"]
    assert ip.startswith("127.") and ip != "127.0.0.1"
    lines = logs(namespace, "env").splitlines()
    assert lines[0] == f"hello-world $(GREETING) $(UNSET) env {namespace} demo {ip}"
    assert lines[1] == "/tmp"
    assert lines[2] == obj["status"]["hostIP"]  # the node's address as Pods see it (the bridge's, as root)
    assert lines[3] == "blue t0k 3"


def test_configmap_secret_and_empty_dir_volumes(local_cluster: Any, namespace: str) -> None:
    apply(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cfg"},
            "data": {"app.conf": "key=value\n", "other": "x"},
        },
    )
    apply(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "sec"},
            "stringData": {"password": "s3cret"},
        },
    )
    script = (
        f"cat {M}/etc/demo/app.conf; cat {M}/etc/demo-items/renamed; cat {M}/etc/sec/password; echo; "
        f"echo shared > {M}/scratch/f; cat {M}/scratch/f; ls {M}/etc/demo-items; cat {M}/etc/one/app.conf"
    )
    apply(
        namespace,
        pod(
            "vols",
            [
                {
                    "name": "main",
                    "command": ["sh", "-c", script],
                    "volumeMounts": [
                        {"name": "cfg", "mountPath": f"{M}/etc/demo", "readOnly": True},
                        {"name": "cfg-items", "mountPath": f"{M}/etc/demo-items"},
                        {"name": "sec", "mountPath": f"{M}/etc/sec"},
                        {"name": "scratch", "mountPath": f"{M}/scratch"},
                        {"name": "cfg", "mountPath": f"{M}/etc/one/app.conf", "subPath": "app.conf"},
                    ],
                }
            ],
            volumes=[
                {"name": "cfg", "configMap": {"name": "cfg"}},
                {
                    "name": "cfg-items",
                    "configMap": {"name": "cfg", "items": [{"key": "other", "path": "renamed"}]},
                },
                {"name": "sec", "secret": {"secretName": "sec"}},
                {"name": "scratch", "emptyDir": {}},
            ],
        ),
    )
    obj = wait_phase(namespace, "vols")
    assert obj["status"]["phase"] == "Succeeded", logs(namespace, "vols")
    assert logs(namespace, "vols").splitlines() == [
        "key=value",
        "x" + "s3cret",
        "shared",
        "renamed",
        "key=value",
    ]
    if local_cluster.kubelet.isolate:  # mounted in the Pod's own mount namespace, not on the host
        assert not Path(f"{M}/etc/demo/app.conf").exists() and not Path(f"{M}/scratch/f").exists()


def test_share_process_namespace(local_cluster: Any, namespace: str) -> None:
    apply(
        namespace,
        pod(
            "pidns",
            [
                {"name": "sleeper", "command": ["sh", "-c", "exec sleep 2"]},
                {"name": "looker", "command": ["sh", "-c", "sleep 0.5; ps -eo pid,args; test -e /proc/1"]},
            ],
            shareProcessNamespace=True,
        ),
    )
    obj = wait_phase(namespace, "pidns")
    out = logs(namespace, "pidns", "looker")
    assert obj["status"]["phase"] == "Succeeded", out
    assert "sleep 2" in out  # the other container's process is visible
    pids = [int(line.split()[0]) for line in out.splitlines()[1:] if line.split()[0].isdigit()]
    assert max(pids) < 100  # a fresh PID namespace, not the host's


def test_native_sidecar_is_stopped_after_main(local_cluster: Any, namespace: str) -> None:
    sidecar = "trap 'echo sidecar got TERM; exit 0' TERM; echo sidecar up; while true; do sleep 0.1; done"
    apply(
        namespace,
        pod(
            "sidecar",
            [
                {"name": "main", "command": ["sh", "-c", "echo main ran"]},
            ],
            initContainers=[
                {"name": "init", "image": "busybox", "command": ["sh", "-c", "echo init done"]},
                {
                    "name": "side",
                    "image": "busybox",
                    "restartPolicy": "Always",
                    "command": ["sh", "-c", sidecar],
                },
            ],
        ),
    )
    obj = wait_phase(namespace, "sidecar")
    assert obj["status"]["phase"] == "Succeeded"
    init = {c["name"]: c for c in obj["status"]["initContainerStatuses"]}
    assert init["init"]["state"]["terminated"]["reason"] == "Completed"
    assert "terminated" in init["side"]["state"]
    assert logs(namespace, "sidecar", "side").splitlines() == ["sidecar up", "sidecar got TERM"]
    assert logs(namespace, "sidecar", "main") == "main ran\n"


def test_two_pods_listen_on_the_same_port(local_cluster: Any, namespace: str) -> None:
    server = [
        sys.executable,
        "-c",
        "import os,socket; s=socket.socket(); s.bind((os.environ['IP'], 6789)); s.listen();"
        "print('listening', flush=True)\nwhile True: s.accept()[0].close()",
    ]
    env = [{"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]
    probe = {"tcpSocket": {"port": 6789}, "periodSeconds": 1}
    for name in ("a", "b"):
        apply(namespace, pod(name, [{"name": "srv", "command": server, "env": env, "readinessProbe": probe}]))
    for name in ("a", "b"):
        kubectl("wait", "-n", namespace, "--for=condition=ready", f"pod/{name}", "--timeout=30s", timeout=40)
    ips = {get_json("-n", namespace, f"pod/{n}")["status"]["podIP"] for n in ("a", "b")}
    assert len(ips) == 2
    kubectl("delete", "-n", namespace, "pod/a", "pod/b", "--grace-period=1")


def test_graceful_delete_sends_sigterm(local_cluster: Any, namespace: str) -> None:
    script = "trap 'echo got TERM; exit 0' TERM; echo started; while true; do sleep 0.1; done"
    apply(
        namespace,
        pod(
            "graceful", [{"name": "main", "command": ["sh", "-c", script]}], terminationGracePeriodSeconds=10
        ),
    )
    wait_for(lambda: logs(namespace, "graceful") == "started\n", timeout=60)
    log_file = local_cluster.data_dir / "logs" / namespace / "graceful" / "main.log"
    kubectl("delete", "-n", namespace, "pod/graceful", "--timeout=60s")
    assert kubectl("get", "-n", namespace, "pod/graceful", check=False).returncode != 0
    assert not log_file.exists() or "got TERM" in log_file.read_text()


def test_in_cluster_kubernetes_client_lists_pods(local_cluster: Any, namespace: str) -> None:
    # RBAC is enforced: the Pod's ServiceAccount may list Pods through this binding only.
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "sa-view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": namespace}],
    }
    apply(namespace, binding)
    script = (
        "from kubernetes import client, config\n"
        "config.load_incluster_config()\n"
        "ns = open('/var/run/secrets/kubernetes.io/serviceaccount/namespace').read()\n"
        "pods = client.CoreV1Api().list_namespaced_pod(ns)\n"
        "print(sorted(p.metadata.name for p in pods.items))\n"
    )
    on_host = Path("/var/run/secrets/kubernetes.io/serviceaccount")
    was_on_host = on_host.exists()
    apply(namespace, pod("incluster", [{"name": "main", "command": ["python3", "-c", script]}]))
    obj = wait_phase(namespace, "incluster")
    out = logs(namespace, "incluster")
    assert obj["status"]["phase"] == "Succeeded", out
    assert "'incluster'" in out
    if local_cluster.kubelet.isolate and not was_on_host:
        # the token's mount point exists in the Pod only: on the host, an empty one makes tools
        # (the kubeflow-katib SDK among them) believe they run inside a cluster
        assert not on_host.exists()


def test_logs_follow_streams_until_the_container_exits(local_cluster: Any, namespace: str) -> None:
    apply(
        namespace,
        pod(
            "follow",
            [{"name": "main", "command": ["sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.3; done"]}],
        ),
    )
    wait_for(lambda: phase_of(namespace, "follow") in ("Running", "Succeeded"), timeout=60)
    assert kubectl("logs", "-f", "-n", namespace, "follow").stdout == "1\n2\n3\n"
    assert kubectl("logs", "--tail=1", "-n", namespace, "follow").stdout == "3\n"


def test_restart_policy_always_restarts_and_keeps_previous_logs(local_cluster: Any, namespace: str) -> None:
    apply(
        namespace,
        pod("crash", [{"name": "main", "command": ["sh", "-c", "echo run; exit 2"]}], restartPolicy="Always"),
    )

    def restarted() -> Any:
        cs = (get_json("-n", namespace, "pod/crash").get("status") or {}).get("containerStatuses") or [{}]
        return cs[0] if cs[0].get("restartCount", 0) >= 2 else None

    cs = wait_for(restarted, timeout=60)
    assert cs["lastState"]["terminated"]["exitCode"] == 2
    assert phase_of(namespace, "crash") == "Running"
    assert kubectl("logs", "-p", "-n", namespace, "crash").stdout == "run\n"
    kubectl("delete", "-n", namespace, "pod/crash", "--grace-period=1")


def test_failed_init_container_fails_the_pod(local_cluster: Any, namespace: str) -> None:
    apply(
        namespace,
        pod(
            "badinit",
            [{"name": "main", "command": ["sh", "-c", "echo never"]}],
            initContainers=[{"name": "init", "image": "busybox", "command": ["sh", "-c", "exit 4"]}],
        ),
    )
    obj = wait_phase(namespace, "badinit")
    assert obj["status"]["phase"] == "Failed"
    assert obj["status"]["initContainerStatuses"][0]["state"]["terminated"]["exitCode"] == 4
    assert "waiting" in obj["status"]["containerStatuses"][0]["state"]


def test_persistent_volume_claim_is_bound_and_survives_pods(local_cluster: Any, namespace: str) -> None:
    apply(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        },
    )
    volumes = [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]
    mounts = [{"name": "d", "mountPath": f"{M}/data"}]
    apply(
        namespace,
        pod(
            "writer",
            [{"name": "m", "command": ["sh", "-c", f"echo kept > {M}/data/f"], "volumeMounts": mounts}],
            volumes=volumes,
        ),
    )
    assert wait_phase(namespace, "writer")["status"]["phase"] == "Succeeded"
    apply(
        namespace,
        pod(
            "reader",
            [{"name": "m", "command": ["cat", f"{M}/data/f"], "volumeMounts": mounts}],
            volumes=volumes,
        ),
    )
    assert wait_phase(namespace, "reader")["status"]["phase"] == "Succeeded"
    assert logs(namespace, "reader") == "kept\n"
    assert get_json("-n", namespace, "pvc/data")["status"]["phase"] == "Bound"


def test_grpc_and_exec_readiness_probes(local_cluster: Any, namespace: str) -> None:
    server = (
        "import os, grpc\n"
        "from concurrent import futures\n"
        "from grpc_health.v1 import health, health_pb2_grpc\n"
        "s = grpc.server(futures.ThreadPoolExecutor(2))\n"
        "health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), s)\n"
        "s.add_insecure_port(os.environ['IP'] + ':6789'); s.start(); open('/tmp/up', 'w').close()\n"
        "s.wait_for_termination()\n"
    )
    apply(
        namespace,
        pod(
            "grpc",
            [
                {
                    "name": "srv",
                    "command": ["python3", "-c", server],
                    "env": [{"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
                    "readinessProbe": {"grpc": {"port": 6789}, "periodSeconds": 1},
                    "startupProbe": {
                        "exec": {"command": ["test", "-e", "/tmp/up"]},
                        "periodSeconds": 1,
                        "failureThreshold": 30,
                    },
                    "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                }
            ],
            volumes=[{"name": "tmp", "emptyDir": {}}],
        ),
    )
    kubectl("wait", "-n", namespace, "--for=condition=ready", "pod/grpc", "--timeout=30s", timeout=40)
    cs = get_json("-n", namespace, "pod/grpc")["status"]["containerStatuses"][0]
    assert cs["ready"] is True and cs["started"] is True
    kubectl("delete", "-n", namespace, "pod/grpc", "--grace-period=1")


def test_termination_message(local_cluster: Any, namespace: str) -> None:
    apply(
        namespace,
        pod(
            "msg",
            [
                {"name": "file", "command": ["sh", "-c", "echo -n bye > /dev/termination-log"]},
                {
                    "name": "logs",
                    "command": ["sh", "-c", "echo last words; exit 1"],
                    "terminationMessagePolicy": "FallbackToLogsOnError",
                },
            ],
        ),
    )
    obj = wait_phase(namespace, "msg")
    term = {c["name"]: c["state"]["terminated"] for c in obj["status"]["containerStatuses"]}
    assert term["file"]["message"] == "bye"
    assert term["logs"]["message"] == "last words"


def test_liveness_probe_failure_restarts_the_container(local_cluster: Any, namespace: str) -> None:
    script = f"touch {M}/w/alive; sleep 1; rm {M}/w/alive; sleep 300"
    apply(
        namespace,
        pod(
            "live",
            [
                {
                    "name": "m",
                    "command": ["sh", "-c", script],
                    "livenessProbe": {
                        "exec": {"command": ["test", "-e", f"{M}/w/alive"]},
                        "periodSeconds": 1,
                        "failureThreshold": 1,
                    },
                    "volumeMounts": [{"name": "w", "mountPath": f"{M}/w"}],
                }
            ],
            restartPolicy="Always",
            volumes=[{"name": "w", "emptyDir": {}}],
        ),
    )

    def restarted() -> bool:
        cs = (get_json("-n", namespace, "pod/live").get("status") or {}).get("containerStatuses") or [{}]
        return int(cs[0].get("restartCount") or 0) >= 1

    wait_for(restarted, timeout=60)
    kubectl("delete", "-n", namespace, "pod/live", "--grace-period=1")


def test_host_path_and_downward_api_volumes(local_cluster: Any, namespace: str, tmp_path: Any) -> None:
    (tmp_path / "in.txt").write_text("from host")
    apply(
        namespace,
        pod(
            "hp",
            [
                {
                    "name": "m",
                    "command": [
                        "sh",
                        "-c",
                        f"cat {M}/host/in.txt; echo; cat {M}/info/labels; echo; cat {M}/info/name",
                    ],
                    "volumeMounts": [
                        {"name": "h", "mountPath": f"{M}/host"},
                        {"name": "info", "mountPath": f"{M}/info"},
                    ],
                }
            ],
            volumes=[
                {"name": "h", "hostPath": {"path": str(tmp_path)}},
                {
                    "name": "info",
                    "downwardAPI": {
                        "items": [
                            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                            {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
                        ]
                    },
                },
            ],
        )
        | {"metadata": {"name": "hp", "labels": {"tier": "x"}}},
    )
    assert wait_phase(namespace, "hp")["status"]["phase"] == "Succeeded"
    assert logs(namespace, "hp") == 'from host\ntier="x"\nhp'


def test_volume_over_the_host_python_keeps_the_command_runnable(local_cluster: Any, namespace: str) -> None:
    """An emptyDir over the directory holding this checkout (say /tmp) must not hide python3/katib_py."""
    import katib_py
    from katib_py.localcluster.kubelet import runtime

    checkout = Path(katib_py.__file__).resolve().parents[1]
    assert any(str(checkout) == p or str(checkout).startswith(p + "/") for p in runtime.HOST_PATHS)
    # the checkout's own parent, not HOST_PATHS[-1]: the last host path in sorted order may be a
    # system directory whose parent holds the C library (/usr/lib), which no container can lose
    hidden = str(checkout.parent)
    script = (
        "import pathlib, katib_py, sys; p = pathlib.Path(sys.argv[1]) / 'written';"
        " p.write_text('ok'); print('volume', p.read_text(), 'python', sys.prefix)"
    )
    apply(
        namespace,
        pod(
            "shadow",
            [
                {
                    "name": "main",
                    "command": ["python3", "-c", script, hidden],
                    "volumeMounts": [{"name": "scratch", "mountPath": hidden}],
                }
            ],
            volumes=[{"name": "scratch", "emptyDir": {}}],
        ),
    )
    obj = wait_phase(namespace, "shadow")
    assert obj["status"]["phase"] == "Succeeded", obj["status"]
    assert "volume ok python" in logs(namespace, "shadow")
    assert not (Path(hidden) / "written").exists()  # the write went to the Pod's volume, not the host


def test_missing_mount_points_are_made_in_the_pod_only(local_cluster: Any, namespace: str) -> None:
    """A mountPath missing on the host appears in the Pod, never on the host; mounts beside it stay."""
    import os
    import subprocess

    # CI runs as root; without root there are no mount namespaces, so nothing here could be checked
    assert os.geteuid() == 0 and local_cluster.kubelet.isolate, "needs root (mount namespaces)"
    base = Path(f"/tmp/katib-py-overlay-{namespace}")
    (base / "sub").mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(base / "sub")], check=True)
    try:
        (base / "sub" / "keep.txt").write_text("kept")
        apply(
            namespace,
            pod(
                "ovl",
                [
                    {
                        "name": "main",
                        "command": [
                            "sh",
                            "-c",
                            f"cat {base}/sub/keep.txt; echo; echo x > {base}/new/deep/f;"
                            f" cat {base}/new/deep/f",
                        ],
                        "volumeMounts": [{"name": "scratch", "mountPath": f"{base}/new/deep"}],
                    }
                ],
                volumes=[{"name": "scratch", "emptyDir": {}}],
            ),
        )
        obj = wait_phase(namespace, "ovl")
        assert obj["status"]["phase"] == "Succeeded", logs(namespace, "ovl")
        assert logs(namespace, "ovl").splitlines() == ["kept", "x"]
        assert not (base / "new").exists()  # the mount point was made in the Pod's namespace only
    finally:
        subprocess.run(["umount", str(base / "sub")], check=False)
        (base / "sub").rmdir()
        base.rmdir()


def test_a_mount_point_inside_a_shared_volume_keeps_the_volume_shared(
    local_cluster: Any, namespace: str
) -> None:
    """A volume nested in another (PBT's checkpoints under Katib's metrics volume) must not cut the
    outer one off: the other containers still see what this one writes there."""
    outer = Path(f"/tmp/katib-py-nested-{namespace}")  # exists on the host, as /var/log/katib may
    outer.mkdir()
    apply(
        namespace,
        pod(
            "nested",
            [
                {
                    "name": "reader",
                    "command": ["sh", "-c", f"cat {outer}/f {outer}/inner/g"],
                    "volumeMounts": [
                        {"name": "outer", "mountPath": f"{outer}"},
                        {"name": "inner", "mountPath": f"{outer}/inner"},
                    ],
                }
            ],
            initContainers=[
                {
                    "name": "writer",
                    "image": "busybox",
                    "command": ["sh", "-c", f"echo outer > {outer}/f; echo inner > {outer}/inner/g"],
                    "volumeMounts": [
                        {"name": "outer", "mountPath": f"{outer}"},
                        {"name": "inner", "mountPath": f"{outer}/inner"},
                    ],
                }
            ],
            volumes=[{"name": "outer", "emptyDir": {}}, {"name": "inner", "emptyDir": {}}],
        ),
    )
    obj = wait_phase(namespace, "nested")
    assert obj["status"]["phase"] == "Succeeded", logs(namespace, "nested")
    assert logs(namespace, "nested").splitlines() == ["outer", "inner"]
    outer.rmdir()  # empty: the mount point "inner" was made inside the volume, not here
