"""End to end against `katib-py up`: tune() an objective, wait for Succeeded, read the results.

The whole stack runs as a user would start it (control plane, db-manager, operator, suggestion
Deployment, trial Jobs whose pods run the embedded bash script on this machine).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s

from katib_py.sdk import KatibClient, search

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def katib_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A `katib-py up` process; yields its data dir (kubeconfig inside)."""
    data_dir = tmp_path_factory.mktemp("katib-up")
    out = open(data_dir / "up.out", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "katib_py.cli", "up", "--data-dir", str(data_dir), "--in-memory"],
        stdout=out,
        stderr=subprocess.STDOUT,
        cwd=REPO,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while "export KUBECONFIG=" not in (data_dir / "up.out").read_text():
            assert proc.poll() is None, f"katib-py up exited: {(data_dir / 'up.out').read_text()}"
            assert time.monotonic() < deadline, "katib-py up did not come up in 180 s"
            time.sleep(0.2)
        yield data_dir
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        out.close()


def objective(parameters):  # type: ignore[no-untyped-def]
    import time

    # Real training takes a while; the StdOut sidecar tails the log while this runs.
    time.sleep(6)
    x = float(parameters["x"])
    print(f"accuracy={1 - (x - 0.3) ** 2:.6f}")
    print(f"width={parameters['width']}")


def db_manager_address(kubeconfig: Path) -> str:
    from kubernetes import config as k8s_config

    configuration = k8s.Configuration()
    k8s_config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    with k8s.ApiClient(configuration) as api:
        endpoints = k8s.CoreV1Api(api).read_namespaced_endpoints("katib-db-manager", "kubeflow")
    subset = endpoints.subsets[0]
    return f"{subset.addresses[0].ip}:{subset.ports[0].port}"


def diagnostics(data_dir: Path) -> str:
    """The cluster's Katib objects and pods, and the tail of each process log, for a failure message."""
    kubeconfig = str(data_dir / "kubeconfig")
    parts = []
    for what in ("experiments,suggestions,trials", "pods,jobs,deployments"):
        proc = subprocess.run(
            ["/usr/bin/kubectl", "--kubeconfig", kubeconfig, "get", what, "-A", "-o", "wide"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        parts.append(proc.stdout + proc.stderr)
    for log in sorted((data_dir / "logs").glob("*.log")):
        parts.append(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-40:]))
    return "\n".join(parts)


@pytest.mark.timeout(600)
def test_tune_wait_and_read_results(katib_up: Path) -> None:
    katib = KatibClient(config_file=str(katib_up / "kubeconfig"), namespace="default")
    katib.tune(
        name="sdk-e2e",
        objective=objective,
        parameters={"x": search.double(0.1, 0.5), "width": 3},
        objective_metric_name="accuracy",
        max_trial_count=2,
        parallel_trial_count=2,
        retain_trials=True,
        base_image="python:3.11",
    )

    try:
        done = katib.wait_for_experiment_condition("sdk-e2e", timeout=240, polling_interval=1)
    except TimeoutError:
        raise AssertionError(f"the experiment did not succeed in 240 s:\n{diagnostics(katib_up)}") from None
    assert katib.is_experiment_succeeded("sdk-e2e", experiment=done)
    assert done.status is not None and done.status.trials_succeeded == 2

    details = katib.get_success_trial_details("sdk-e2e")
    assert len(details) == 2
    for detail in details:
        [x] = [float(p.value) for p in detail["parameter_assignments"] if p.name == "x"]
        [accuracy] = [m for m in detail["metrics"] if m.name == "accuracy"]
        assert float(accuracy.latest) == pytest.approx(1 - (x - 0.3) ** 2, abs=1e-6)

    optimal = katib.get_optimal_hyperparameters("sdk-e2e")
    assert optimal is not None and optimal.observation is not None and optimal.observation.metrics
    best = max(details, key=lambda d: float(next(m.latest for m in d["metrics"] if m.name == "accuracy")))
    assert optimal.best_trial_name == best["name"]

    logs = katib.get_trial_metrics(
        best["name"], db_manager_address=db_manager_address(katib_up / "kubeconfig"), timeout=30
    )
    assert [log.metric.name for log in logs] == ["accuracy"]
    assert float(logs[0].metric.value) == pytest.approx(float(str(optimal.observation.metrics[0].latest)))

    # The StdOut sidecar echoes the training output; default trial = the optimal one.
    lines = list(katib.get_job_logs("sdk-e2e"))
    assert f"accuracy={float(logs[0].metric.value):.6f}" in lines
    assert "width=3" in lines
    other = next(d["name"] for d in details if d["name"] != best["name"])
    followed = list(katib.get_job_logs("sdk-e2e", other, follow=True))
    [other_accuracy] = [m.latest for d in details if d["name"] == other for m in d["metrics"]]
    assert "width=3" in followed
    assert f"accuracy={float(str(other_accuracy)):.6f}" in followed
    katib.close()
