"""The chart installed for real: rendered with embedded-friendly values, applied with kubectl to
katib-py's embedded control plane, where the operator and db-manager run as the chart's Pods (the
kubelet runs each container's command on this host; the image is not pulled). The webhooks go
through the katib-controller Service over TLS with the operator's self-generated certificate, and
db-manager uses the external-database option against the MariaDB on 127.0.0.1. Nothing of
katib-py is started by hand: an example Experiment must then run to Succeeded.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest
import yaml

from katib_py.localcluster.cluster import LocalCluster

from .chart_tools import ROOT, helm_template

KUBECTL = "/usr/bin/kubectl"
NAMESPACE = "kubeflow"
INJECTION_LABEL = "katib.kubeflow.org/metrics-collector-injection"


@pytest.fixture(scope="module")
def chart_cluster() -> Iterator[LocalCluster]:
    """An embedded control plane whose data directory is outside /tmp.

    Like katib_py.localcluster.pytest_plugin's fixture, except for the directory: the chart mounts an
    emptyDir at /tmp (the root filesystem is read-only), and the embedded kubelet bind-mounts Pod
    files (ServiceAccount token, /etc/hosts) from its data directory after that, so a data
    directory under /tmp would be hidden by the Pod's own /tmp. Pods stay on the host's network
    (`netns=False`): the db-manager Pod reaches the host's MariaDB, which listens on 127.0.0.1 only
    (in a Pod's own network namespace 127.0.0.1 is the Pod's, as on a node).
    """
    data_dir = Path(tempfile.mkdtemp(prefix="katib-py-chart-e2e-", dir="/var/tmp"))
    cluster = LocalCluster(data_dir, port=0, job_backoff_base=0.5, restart_backoff_base=0.5, netns=False)
    cluster.start_in_thread()
    try:
        yield cluster
    finally:
        cluster.stop_thread()
        shutil.rmtree(data_dir, ignore_errors=True)


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None, timeout: float = 120) -> str:
    proc = subprocess.run(
        [KUBECTL, f"--kubeconfig={kubeconfig}", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, (
        f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}{proc.stdout}"
    )
    return proc.stdout


def wait_for(what: str, predicate: Callable[[], Any], timeout: float, diagnose: Callable[[], str]) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what} not reached within {timeout:.0f}s\n{diagnose()}")


@pytest.fixture(scope="module")
def mariadb_database() -> Iterator[str]:
    """A database of its own on the local MariaDB (root, no password), dropped afterwards."""
    name = f"katibpy_chart_{uuid.uuid4().hex[:10]}"
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
        yield name
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


def embedded_values(database: str) -> dict[str, Any]:
    """Values for the embedded control plane: Pods share the host network (bind to the Pod IP), and
    the database is the host's MariaDB through the external-database option."""
    return {
        "listenOnPodIP": True,
        "database": {
            "type": "mysql",
            "bundled": {"enabled": False},
            "external": {"host": "127.0.0.1", "port": 3306, "name": database, "user": "root"},
            "password": "",
        },
    }


def pod_summary(kubeconfig: Path) -> str:
    pods = json.loads(kubectl(kubeconfig, "get", "pods", "-A", "-o", "json"))
    lines = []
    for pod in pods["items"]:
        status = pod.get("status") or {}
        states = [
            f"{c['name']}={next(iter(c.get('state') or {'?': 0}))}"
            for c in status.get("containerStatuses") or []
        ]
        lines.append(
            f"{pod['metadata']['namespace']}/{pod['metadata']['name']} {status.get('phase')} {states}"
        )
    return "\n".join(lines)


def logs(kubeconfig: Path, deployment: str) -> str:
    proc = subprocess.run(
        [
            KUBECTL,
            f"--kubeconfig={kubeconfig}",
            "-n",
            NAMESPACE,
            "logs",
            f"deployment/{deployment}",
            "--tail=40",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return f"--- logs of {deployment}:\n{proc.stdout}{proc.stderr}"


def test_chart_installs_and_runs_an_experiment(
    chart_cluster: Any, mariadb_database: str, tmp_path: Path
) -> None:
    kubeconfig = Path(chart_cluster.kubeconfig)
    manifest = tmp_path / "katib-py.yaml"
    manifest.write_text(helm_template(embedded_values(mariadb_database)), encoding="utf-8")

    def diagnose() -> str:
        return "\n".join(
            [
                pod_summary(kubeconfig),
                logs(kubeconfig, "katib-controller"),
                logs(kubeconfig, "katib-db-manager"),
            ]
        )

    kubectl(kubeconfig, "create", "namespace", NAMESPACE)
    kubectl(kubeconfig, "apply", "-f", str(manifest))
    kubectl(
        kubeconfig, "wait", "--for=condition=Established", "crd/experiments.kubeflow.org", "--timeout=60s"
    )

    def ready(deployment: str) -> bool:
        obj = json.loads(kubectl(kubeconfig, "-n", NAMESPACE, "get", "deployment", deployment, "-o", "json"))
        return int((obj.get("status") or {}).get("readyReplicas") or 0) >= 1

    wait_for("db-manager Ready", lambda: ready("katib-db-manager"), 180, diagnose)
    wait_for("operator Ready", lambda: ready("katib-controller"), 180, diagnose)

    # The operator generated its certificate and put its CA into the chart's webhook configurations.
    secret = json.loads(
        kubectl(kubeconfig, "-n", NAMESPACE, "get", "secret", "katib-webhook-cert", "-o", "json")
    )
    assert {"ca.crt", "tls.crt", "tls.key"} <= set(secret["data"])

    def ca_bundles_patched() -> bool:
        for kind in ("mutatingwebhookconfiguration", "validatingwebhookconfiguration"):
            obj = json.loads(kubectl(kubeconfig, "get", kind, "katib.kubeflow.org", "-o", "json"))
            if any(h["clientConfig"].get("caBundle") != secret["data"]["ca.crt"] for h in obj["webhooks"]):
                return False
        return True

    wait_for("caBundle patched", ca_bundles_patched, 60, diagnose)

    trials_ns = f"chart-e2e-{uuid.uuid4().hex[:6]}"
    kubectl(kubeconfig, "create", "namespace", trials_ns)
    kubectl(kubeconfig, "label", "namespace", trials_ns, f"{INJECTION_LABEL}=enabled")

    experiment = yaml.safe_load((ROOT / "examples" / "random.yaml").read_text(encoding="utf-8"))
    experiment["spec"]["maxTrialCount"] = 3
    experiment["spec"]["parallelTrialCount"] = 3
    kubectl(kubeconfig, "-n", trials_ns, "apply", "-f", "-", stdin=yaml.safe_dump(experiment))
    # The defaulting webhook ran (through the Service, over TLS): Katib's defaults are filled in.
    stored = json.loads(kubectl(kubeconfig, "-n", trials_ns, "get", "experiment", "random", "-o", "json"))
    assert stored["spec"]["metricsCollectorSpec"]["collector"]["kind"] == "StdOut"

    # A PyTorchJob trial under the chart's roles (the operator creates and watches the kind, the
    # Pod webhook reads the Pod's owner chain); the embedded cluster serves the kind (add-on).
    kubectl(kubeconfig, "-n", trials_ns, "apply", "-f", "-", stdin=yaml.safe_dump(pytorchjob_experiment()))

    def experiment_condition(name: str = "random") -> str | None:
        obj = json.loads(kubectl(kubeconfig, "-n", trials_ns, "get", "experiment", name, "-o", "json"))
        conditions = (obj.get("status") or {}).get("conditions") or []
        done = [c for c in conditions if c["type"] in ("Succeeded", "Failed") and c["status"] == "True"]
        return done[-1]["type"] if done else None

    assert wait_for("experiment finished", experiment_condition, 300, diagnose) == "Succeeded", diagnose()
    pytorch_done = wait_for(
        "pytorchjob experiment finished", lambda: experiment_condition("chart-pytorchjob"), 300, diagnose
    )
    assert pytorch_done == "Succeeded", diagnose()
    final = json.loads(kubectl(kubeconfig, "-n", trials_ns, "get", "experiment", "random", "-o", "json"))
    assert final["status"]["trialsSucceeded"] == 3
    optimal = final["status"]["currentOptimalTrial"]
    metrics = {m["name"]: m for m in optimal["observation"]["metrics"]}
    assert 0.0 < float(metrics["accuracy"]["latest"]) <= 1.0

    # The observations went through db-manager into the external database.
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", database=mariadb_database)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT COUNT(DISTINCT trial_name) FROM observation_logs WHERE metric_name = 'accuracy'"
            )
            (trials_with_metrics,) = cur.fetchone()
    finally:
        conn.close()
    assert trials_with_metrics == 3


def pytorchjob_experiment() -> dict[str, Any]:
    command = ["python3", "-m", "katib_py.trainers.distributed_trainer", "--lr=${trialParameters.lr}"]
    replica = {
        "replicas": 1,
        "restartPolicy": "OnFailure",
        "template": {
            "spec": {"containers": [{"name": "pytorch", "image": "trainer:local", "command": command}]}
        },
    }
    return {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Experiment",
        "metadata": {"name": "chart-pytorchjob"},
        "spec": {
            "maxTrialCount": 1,
            "parallelTrialCount": 1,
            "maxFailedTrialCount": 0,
            "objective": {"type": "minimize", "objectiveMetricName": "loss"},
            "algorithm": {"algorithmName": "random"},
            "parameters": [
                {"name": "lr", "parameterType": "double", "feasibleSpace": {"min": "0.01", "max": "0.05"}}
            ],
            "trialTemplate": {
                "primaryContainerName": "pytorch",
                "trialParameters": [{"name": "lr", "reference": "lr"}],
                "trialSpec": {
                    "apiVersion": "kubeflow.org/v1",
                    "kind": "PyTorchJob",
                    "spec": {"pytorchReplicaSpecs": {"Master": replica, "Worker": replica}},
                },
            },
        },
    }


def _without_rule(manifest: str, kind: str, name: str, resource: str) -> tuple[str, dict[str, Any]]:
    """The rendered chart with the rule of `kind`/`name` that covers `resource` removed."""
    docs = [d for d in yaml.safe_load_all(manifest) if d]
    for doc in docs:
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            removed = next(r for r in doc["rules"] if resource in r.get("resources", []))
            doc["rules"].remove(removed)
            return yaml.safe_dump_all(docs), removed
    raise AssertionError(f"no {kind} {name} in the chart")


def test_the_chart_rbac_is_enforced_one_missing_rule_fails_the_install(tmp_path: Path) -> None:
    """The same install with the operator's read of katib-config (`configmaps get`) taken out of the
    chart's ClusterRole: the embedded API server refuses the operator with kube's 403, so it never
    gets Ready. This is what makes the test above a test of the chart's least-privilege RBAC."""
    data_dir = Path(tempfile.mkdtemp(prefix="katib-py-chart-rbac-", dir="/var/tmp"))
    cluster = LocalCluster(data_dir, port=0, job_backoff_base=0.5, restart_backoff_base=0.5)
    cluster.start_in_thread()
    try:
        kubeconfig = Path(cluster.kubeconfig)
        values = embedded_values("unused")
        values["database"]["external"]["port"] = 1  # db-manager is not what this test looks at
        manifest, removed = _without_rule(
            helm_template(values), "ClusterRole", "katib-controller", "configmaps"
        )
        assert removed == {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}
        path = tmp_path / "katib-py.yaml"
        path.write_text(manifest, encoding="utf-8")
        kubectl(kubeconfig, "create", "namespace", NAMESPACE)
        kubectl(kubeconfig, "apply", "-f", str(path))
        forbidden = (
            'configmaps "katib-config" is forbidden: User "system:serviceaccount:kubeflow:katib-controller" '
            'cannot get resource "configmaps" in API group "" in the namespace "kubeflow"'
        )
        wait_for(
            "the operator refused by RBAC",
            lambda: forbidden in logs(kubeconfig, "katib-controller"),
            120,
            lambda: pod_summary(kubeconfig) + "\n" + logs(kubeconfig, "katib-controller"),
        )
        obj = json.loads(
            kubectl(kubeconfig, "-n", NAMESPACE, "get", "deployment", "katib-controller", "-o", "json")
        )
        assert not (obj.get("status") or {}).get("readyReplicas")
    finally:
        cluster.stop_thread()
        shutil.rmtree(data_dir, ignore_errors=True)
