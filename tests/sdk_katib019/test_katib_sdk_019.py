"""The upstream Kubeflow Katib SDK (kubeflow-katib 0.19.0 from PyPI, unchanged) against `katib-py up`.

The SDK pins protobuf < 5, so it lives in .venv-katib-sdk (scripts/install-katib-sdk.sh) and runs as a
subprocess: katib_sdk_client.py creates an Experiment built from the SDK's models, waits for it, and reads
the optimal trial, the trials and the best trial's metric logs (from db-manager over gRPC) back through
the SDK. This file checks what it read against the Katib API contract.

On a machine that looks like a pod without a service-account token (/var/run/secrets/kubernetes.io
exists but holds no namespace file), importing the SDK fails: it reads that file for its default
namespace at import time (kubeflow/katib#2436). The client then runs in a private mount namespace with
/var/run/secrets hidden under an empty tmpfs; nothing outside that process changes.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

REPO = Path(__file__).resolve().parents[2]
CLIENT = Path(__file__).with_name("katib_sdk_client.py")
KUBECTL = "/usr/bin/kubectl"
EXPERIMENT = "katib-sdk-019"
MAX_TRIALS = 3
EPOCHS = 3
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io")


@pytest.fixture(scope="session")
def sdk_python() -> Path:
    """The Python of .venv-katib-sdk, installed (or checked) by the project's install script."""
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "install-katib-sdk.sh")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"install-katib-sdk.sh failed:\n{proc.stdout}{proc.stderr}"
    python = REPO / ".venv-katib-sdk" / "bin" / "python"
    assert python.is_file(), f"{python} missing after install-katib-sdk.sh"
    return python


@pytest.fixture(scope="module")
def katib_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A `katib-py up` process (in-memory API objects); yields its data dir (kubeconfig inside)."""
    data_dir = tmp_path_factory.mktemp("katib-up")
    log_path = data_dir / "up.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "katib_py.cli", "up", "--data-dir", str(data_dir), "--in-memory"],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 180
        while "export KUBECONFIG=" not in log_path.read_text():
            assert proc.poll() is None, f"katib-py up exited:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, f"katib-py up not up in 180 s:\n{log_path.read_text()}"
            time.sleep(0.2)
        yield data_dir
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def db_manager_address(kubeconfig: Path) -> str:
    """host:port of db-manager, from the Endpoints of the selectorless katib-db-manager Service."""
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    with k8s.ApiClient(configuration) as api:
        endpoints = k8s.CoreV1Api(api).read_namespaced_endpoints("katib-db-manager", "kubeflow")
    assert endpoints.subsets, "katib-db-manager Endpoints have no subsets"
    subset = endpoints.subsets[0]
    return f"{subset.addresses[0].ip}:{subset.ports[0].port}"


def sdk_command(python: Path, *args: str) -> list[str]:
    """The command running the SDK client, in a mount namespace hiding a token-less service-account dir."""
    command = [str(python), str(CLIENT), *args]
    if SERVICE_ACCOUNT_DIR.is_dir() and not (SERVICE_ACCOUNT_DIR / "serviceaccount" / "namespace").is_file():
        hide = 'mount -t tmpfs katib-sdk-hide /var/run/secrets && exec "$@"'
        return ["unshare", "--mount", "--map-root-user", "sh", "-c", hide, "sh", *command]
    return command


def diagnostics(data_dir: Path) -> str:
    """Katib objects, pods and the tail of every process log of the stack, for a failure message."""
    parts = []
    for what in ("experiments,suggestions,trials", "pods,jobs,deployments"):
        proc = subprocess.run(
            [KUBECTL, "--kubeconfig", str(data_dir / "kubeconfig"), "get", what, "-A", "-o", "wide"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        parts.append(proc.stdout + proc.stderr)
    for log in sorted((data_dir / "logs").glob("*.log")):
        parts.append(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-30:]))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def summary(sdk_python: Path, katib_up: Path) -> dict[str, Any]:
    """What the SDK read back after running the experiment to completion."""
    output = katib_up / "sdk-summary.json"
    kubeconfig = katib_up / "kubeconfig"
    command = sdk_command(
        sdk_python,
        "--kubeconfig",
        str(kubeconfig),
        "--namespace",
        "default",
        "--name",
        EXPERIMENT,
        "--db-manager",
        db_manager_address(kubeconfig),
        "--output",
        str(output),
    )
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "PYTHONPATH")}
    proc = subprocess.run(command, capture_output=True, text=True, timeout=330, env=env, cwd=katib_up)
    assert proc.returncode == 0, (
        f"the Katib SDK client failed (exit {proc.returncode}):\n{proc.stderr[-6000:]}\n"
        f"{proc.stdout[-3000:]}\n{diagnostics(katib_up)}"
    )
    result: dict[str, Any] = json.loads(output.read_text())
    return result


def metric(metrics: list[dict[str, Any]], name: str) -> dict[str, Any]:
    [found] = [m for m in metrics if m["name"] == name]
    return found


def as_float(value: Any) -> float:
    number = float(value)
    assert math.isfinite(number), f"{value!r} is not a finite number"
    return number


@pytest.mark.timeout(480)
def test_experiment_succeeds_with_max_trials(summary: dict[str, Any]) -> None:
    assert summary["succeeded"] is True
    conditions = {c["type"]: c for c in summary["conditions"]}
    assert conditions["Succeeded"]["status"] == "True"
    assert conditions["Succeeded"]["reason"] == "ExperimentMaxTrialsReached"
    assert conditions["Running"]["status"] == "False"
    assert summary["trials_succeeded"] == MAX_TRIALS


@pytest.mark.timeout(480)
def test_list_trials_and_success_details(summary: dict[str, Any]) -> None:
    trials = summary["trials"]
    assert len(trials) == MAX_TRIALS
    assert {t["experiment_label"] for t in trials} == {EXPERIMENT}
    assert all(t["conditions"][-1] == "Succeeded" for t in trials), trials

    details = summary["success_trials"]
    assert sorted(d["name"] for d in details) == sorted(t["name"] for t in trials)
    for detail in details:
        params = detail["parameter_assignments"]
        assert 0.001 <= as_float(params["lr"]) <= 0.1
        assert 16 <= int(params["hidden"]) <= 64
        assert params["optimizer"] in ("sgd", "adam")
        for name in ("accuracy", "loss"):
            m = metric(detail["metrics"], name)
            assert as_float(m["min"]) <= as_float(m["latest"]) <= as_float(m["max"]), m
        assert 0.0 <= as_float(metric(detail["metrics"], "accuracy")["latest"]) <= 1.0


@pytest.mark.timeout(480)
def test_optimal_trial_is_the_best_succeeded_trial(summary: dict[str, Any]) -> None:
    optimal = summary["optimal"]
    assert optimal is not None, "get_optimal_hyperparameters returned None"
    details = summary["success_trials"]
    # The objective's strategy defaults to `max` for maximize, and Katib's best is the
    # trial with the highest strategy value; on a tie the first in list order wins, so any tied one.
    value = {d["name"]: as_float(metric(d["metrics"], "accuracy")["max"]) for d in details}
    assert optimal["best_trial_name"] in value, optimal["best_trial_name"]
    assert value[optimal["best_trial_name"]] == max(value.values()), value
    best = next(d for d in details if d["name"] == optimal["best_trial_name"])
    assert optimal["parameter_assignments"] == best["parameter_assignments"]
    assert metric(optimal["metrics"], "accuracy") == metric(best["metrics"], "accuracy")
    assert metric(optimal["metrics"], "loss") == metric(best["metrics"], "loss")


@pytest.mark.timeout(480)
def test_trial_metrics_from_db_manager(summary: dict[str, Any]) -> None:
    logs = summary["best_trial_metric_logs"]
    assert logs, "get_trial_metrics returned no metric logs for the best trial"
    assert {log["name"] for log in logs} == {"accuracy", "loss"}
    values = {
        name: [as_float(log["value"]) for log in logs if log["name"] == name] for name in ("accuracy", "loss")
    }
    assert len(values["accuracy"]) == EPOCHS and len(values["loss"]) == EPOCHS, logs
    timestamps = [log["time_stamp"] for log in logs if log["name"] == "accuracy"]
    assert timestamps == sorted(timestamps), "metric logs are not in reporting order"

    best = metric(summary["optimal"]["metrics"], "accuracy")
    assert values["accuracy"][-1] == pytest.approx(as_float(best["latest"]), abs=1e-9)
    assert max(values["accuracy"]) == pytest.approx(as_float(best["max"]), abs=1e-9)
    assert min(values["accuracy"]) == pytest.approx(as_float(best["min"]), abs=1e-9)


def test_the_sdk_reads_objects_that_use_katib_py_additions(sdk_python: Path, tmp_path: Path) -> None:
    """Time budgets, infrastructure retries, warm start and multi-objective search are fields Katib's
    SDK does not know: it must read such objects (dropping the fields) and keep everything else."""
    condition = {"type": "Succeeded", "status": "True", "reason": "ExperimentMaxDurationReached"}
    objects = {
        "experiment": {
            "apiVersion": "kubeflow.org/v1beta1",
            "kind": "Experiment",
            "metadata": {"name": "additions", "namespace": "default"},
            "spec": {
                "maxTrialCount": 4,
                "maxDurationSeconds": 600,
                "trialTimeoutSeconds": 60,
                "infraRetryLimit": 3,
                "warmStart": {"points": [{"lr": "0.01"}], "experiments": ["older"]},
                "objective": {
                    "type": "maximize",
                    "objectiveMetricName": "accuracy",
                    "additionalMetricNames": ["latency"],
                    "additionalObjectives": [{"objectiveMetricName": "latency", "type": "minimize"}],
                },
            },
            "status": {
                "conditions": [condition],
                "trials": 2,
                "paretoFront": [
                    {"trialName": "additions-x", "values": [{"name": "accuracy", "value": "0.9"}]}
                ],
                "paretoFrontSize": 1,
            },
        },
        "trial": {
            "apiVersion": "kubeflow.org/v1beta1",
            "kind": "Trial",
            "metadata": {"name": "additions-x", "labels": {"katib-py.kubeflow.org/warm-start": "point"}},
            "spec": {"timeoutSeconds": 60, "infraRetryLimit": 3, "retainRun": True},
            "status": {
                "conditions": [{"type": "Failed", "status": "True", "reason": "TrialTimedOut"}],
                "infraRetries": 2,
            },
        },
    }
    path = tmp_path / "objects.json"
    path.write_text(json.dumps(objects))
    command = sdk_command(sdk_python, "read", str(path))
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "PYTHONPATH")}
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    read = json.loads(proc.stdout)
    exp, trial = read["experiment"], read["trial"]
    assert exp["spec"]["maxTrialCount"] == 4 and "warmStart" not in exp["spec"]
    assert exp["spec"]["objective"]["additionalMetricNames"] == ["latency"]
    assert "additionalObjectives" not in exp["spec"]["objective"] and "paretoFront" not in exp["status"]
    assert exp["status"]["conditions"][0]["reason"] == "ExperimentMaxDurationReached"
    assert trial["spec"]["retainRun"] is True
    assert trial["status"]["conditions"][0]["reason"] == "TrialTimedOut"
    assert trial["metadata"]["labels"] == {"katib-py.kubeflow.org/warm-start": "point"}
