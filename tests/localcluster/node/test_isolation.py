"""What a Pod cannot reach on `katib-py up`: the data directory (admin token, kubeconfig, store),
the kubelet's own filesystem view; it runs as its securityContext's user; it dies with the kubelet.
Real Pods, run by the embedded kubelet as root (mount and PID namespaces)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .conftest import wait_for
from .test_pods import M, apply, logs, pod, wait_phase

SA = "/var/run/secrets/kubernetes.io/serviceaccount"


def test_a_pod_cannot_read_the_data_directory_but_uses_its_volumes(
    local_cluster: Any, namespace: str
) -> None:
    assert local_cluster.kubelet.isolate, "these tests run as root, where Pods get mount namespaces"
    data_dir = Path(local_cluster.data_dir).resolve()
    assert (data_dir / "token").is_file() and (data_dir / "kubeconfig").is_file()
    script = f"""
echo hello > {M}/scratch/f && cat {M}/scratch/f
test -s {SA}/token && echo sa-token-readable
cat {data_dir}/token && echo TOKEN-LEAKED
cat {data_dir}/kubeconfig && echo KUBECONFIG-LEAKED
cat {data_dir}/state.db > /dev/null && echo STORE-LEAKED
echo "data dir holds: [$(ls -A {data_dir})]"
cat /proc/{os.getpid()}/root{data_dir}/token && echo PROC-ROOT-LEAKED
touch {data_dir}/x && echo WROTE-DATA-DIR
echo done
"""
    apply(
        namespace,
        pod(
            "peek",
            [
                {
                    "name": "main",
                    "command": ["sh", "-c", script],
                    "volumeMounts": [{"name": "scratch", "mountPath": f"{M}/scratch"}],
                }
            ],
            volumes=[{"name": "scratch", "emptyDir": {}}],
        ),
    )
    obj = wait_phase(namespace, "peek")
    out = logs(namespace, "peek")
    assert obj["status"]["phase"] == "Succeeded", out
    assert "hello\nsa-token-readable\n" in out
    assert "data dir holds: []" in out
    assert "LEAKED" not in out and "WROTE" not in out, out
    assert out.endswith("done\n")


def test_run_as_user_and_group(local_cluster: Any, namespace: str) -> None:
    script = (
        f'echo "uid=$(id -u) gid=$(id -g) groups=$(id -G | tr " " "\\n" | sort | xargs) whoami=$(whoami)"; '
        f"touch {M}/shared/mine && stat -c owner=%u:%g {M}/shared/mine; "
        'python3 -c "import getpass, os; '
        "print('getpass=' + getpass.getuser(), 'home=' + os.environ['HOME'])\"; "
        f"test -r {SA}/token && echo token-readable; "
        "cat /root/.bashrc 2>/dev/null && echo ROOT-HOME-LEAKED; "
        "echo done"
    )
    apply(
        namespace,
        pod(
            "runas",
            [
                {
                    "name": "main",
                    "command": ["sh", "-c", script],
                    "securityContext": {"runAsUser": 4321, "allowPrivilegeEscalation": False},
                    "volumeMounts": [{"name": "shared", "mountPath": f"{M}/shared"}],
                },
                {
                    "name": "root-by-pod",
                    "command": ["sh", "-c", "id -u"],
                    "securityContext": {"runAsUser": 0, "runAsGroup": 0},
                },
            ],
            securityContext={
                "runAsUser": 1000,
                "runAsGroup": 4322,
                "fsGroup": 4323,
                "supplementalGroups": [4324],
            },
            volumes=[{"name": "shared", "emptyDir": {}}],
        ),
    )
    obj = wait_phase(namespace, "runas")
    out = logs(namespace, "runas", "main")
    assert obj["status"]["phase"] == "Succeeded", out
    # The container's runAsUser wins over the Pod's; runAsGroup, fsGroup and supplementalGroups apply.
    assert "uid=4321 gid=4322 groups=4322 4323 4324 whoami=uid4321\n" in out
    assert "owner=4321:4323\n" in out  # the emptyDir is writable, group-owned by fsGroup (setgid)
    assert "getpass=uid4321 home=/\n" in out
    assert "token-readable\n" in out and "LEAKED" not in out
    assert logs(namespace, "runas", "root-by-pod") == "0\n"


def test_pod_processes_die_with_the_kubelet(tmp_path: Path) -> None:
    """`kill -9` of the process running the embedded cluster takes its Pods' processes with it."""
    data_dir = tmp_path / "cluster"
    marker = f"0.{os.getpid()}{time.monotonic_ns() % 10**6}"  # sleep adds up its arguments: 600.x s
    proc = subprocess.Popen(
        [sys.executable, "-m", "katib_py.cli", "cluster", "up", "--data-dir", str(data_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(lambda: (data_dir / "kubeconfig").exists(), timeout=60)
        env = {**os.environ, "KUBECONFIG": str(data_dir / "kubeconfig")}

        def run(*args: str, stdin: str | None = None) -> str:
            return subprocess.run(
                ["/usr/bin/kubectl", *args], env=env, input=stdin, capture_output=True, text=True, check=True
            ).stdout

        wait_for(lambda: run("get", "serviceaccount", "default", "--ignore-not-found").strip(), timeout=60)
        sleepers = [
            pod("plain", [{"name": "main", "command": ["sleep", "600", marker]}]),
            pod(
                "shared-pid",
                [{"name": "main", "command": ["sleep", "600", marker]}],
                shareProcessNamespace=True,
            ),
            pod(
                "other-user",
                [{"name": "main", "command": ["sleep", "600", marker]}],
                securityContext={"runAsUser": 4321},
            ),
        ]
        for p in sleepers:
            run("apply", "-f", "-", stdin=json.dumps(p))

        def running() -> list[int]:
            out = subprocess.run(
                ["pgrep", "-f", f"sleep 600 {marker}"], capture_output=True, text=True
            ).stdout
            return [int(pid) for pid in out.split()]

        wait_for(lambda: len(running()) == 3, timeout=60)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        wait_for(lambda: not running(), timeout=10)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
