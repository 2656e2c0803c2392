"""The kubelet without mount/PID namespaces (what non-root or non-Linux hosts get)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from katib_py.localcluster.cluster import LocalCluster

from .conftest import KUBECTL, wait_for


def test_pods_run_without_isolation(tmp_path: Path) -> None:
    mount = tmp_path / "mnt" / "config"
    with LocalCluster(tmp_path / "cluster", isolate=False, in_memory=True) as cluster:
        env = dict(os.environ, KUBECONFIG=str(cluster.kubeconfig))

        def kubectl(*args: str, stdin: str | None = None) -> str:
            proc = subprocess.run(
                [KUBECTL, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60
            )
            assert proc.returncode == 0, proc.stderr
            return proc.stdout

        kubectl(
            "create",
            "-f",
            "-",
            stdin=json.dumps(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}
            ),
        )
        view = {  # RBAC is enforced: the Pod's ServiceAccount may read Pods through this binding
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "view"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "default"}],
        }
        kubectl("create", "-f", "-", stdin=json.dumps(view))
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "m",
                        "image": "busybox",
                        "command": ["sh", "-c", f"cat {mount}/k; echo $(X); kubectl get pod p -o name"],
                        "env": [{"name": "X", "value": "expanded"}],
                        "volumeMounts": [{"name": "c", "mountPath": str(mount)}],
                    }
                ],
                "volumes": [{"name": "c", "configMap": {"name": "c"}}],
            },
        }
        kubectl("create", "-f", "-", stdin=json.dumps(pod))
        wait_for(
            lambda: json.loads(kubectl("get", "pod/p", "-o", "json"))["status"].get("phase") == "Succeeded",
            timeout=60,
        )
        assert kubectl("logs", "p") == "v" + "expanded\npod/p\n"
