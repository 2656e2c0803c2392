"""Trial outcomes end to end: failures, missing metrics, rejected experiments, kubectl columns."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.request
from collections import defaultdict

import pytest
import yaml

from katib_py.controller.operator import health_endpoint

from .operator_e2e import GRACE_SECONDS, KUBECTL, Stack, condition, last_condition, shell_experiment

pytestmark = pytest.mark.e2e


def test_failing_trial_counts_against_max_failed(stack: Stack) -> None:
    name = "e2e-failing"
    stack.apply(
        shell_experiment(
            stack,
            name,
            "echo accuracy=0.5\nexit 3\n",
            maxTrialCount=3,
            maxFailedTrialCount=1,
            parallelTrialCount=1,
        )
    )
    exp = stack.wait_finished(name)
    assert condition(exp, "Failed")["reason"] == "ExperimentFailed"
    assert exp["status"]["trialsFailed"] == 1
    (trial,) = stack.trials(name)
    assert last_condition(trial) == "Failed"
    assert condition(trial, "Failed")["reason"].startswith("TrialFailed")


def test_trial_without_metrics_ends_metrics_unavailable(stack: Stack) -> None:
    """Section 0, item 14: after the grace period (GRACE_SECONDS in this session's katib-config)."""
    name = "e2e-no-metrics"
    stack.apply(
        shell_experiment(stack, name, "echo no metric here\n", maxTrialCount=2, maxFailedTrialCount=2)
    )
    exp = stack.wait_finished(name, timeout=120 + GRACE_SECONDS)
    # MetricsUnavailable counts as failed: two of them reach maxFailedTrialCount.
    assert condition(exp, "Failed")["reason"] == "ExperimentFailed"
    assert exp["status"]["trialMetricsUnavailable"] == 2
    for trial in stack.trials(name):
        assert last_condition(trial) == "MetricsUnavailable"
        assert condition(trial, "MetricsUnavailable")["reason"] == "MetricsUnavailable"


def test_rejected_experiment_names_the_field(stack: Stack) -> None:
    bad = shell_experiment(stack, "e2e-rejected", "echo accuracy=1\n", parallelTrialCount=0)
    out = stack.apply(bad, check=False)
    assert out.returncode != 0
    assert "spec.parallelTrialCount" in out.stderr
    unknown = shell_experiment(
        stack, "e2e-rejected", "echo accuracy=1\n", algorithm={"algorithmName": "nope"}
    )
    out = stack.apply(unknown, check=False)
    assert out.returncode != 0
    assert "spec.algorithm.algorithmName" in out.stderr
    assert stack.get("experiment", "e2e-rejected") is None


def test_kubectl_columns(stack: Stack) -> None:
    name = "e2e-columns"
    stack.apply(shell_experiment(stack, name, "echo accuracy=0.7\n", maxTrialCount=1, parallelTrialCount=1))
    stack.wait_finished(name)
    out = stack.kubectl("get", "experiments,suggestions,trials").stdout
    headers = [line.split() for line in out.splitlines() if line.startswith("NAME")]
    assert headers[0][:3] == ["NAME", "TYPE", "STATUS"] and "AGE" in headers[0]
    assert "REQUESTED" in headers[1] and "ASSIGNED" in headers[1]
    assert headers[2] == ["NAME", "TYPE", "STATUS", "AGE"]
    row = next(line for line in out.splitlines() if line.startswith(f"experiment.kubeflow.org/{name} "))
    assert row.split()[1:3] == ["Succeeded", "True"]


def test_prometheus_metrics_have_katib_names(stack: Stack) -> None:
    name = "e2e-metrics"
    stack.apply(shell_experiment(stack, name, "echo accuracy=0.7\n", maxTrialCount=1, parallelTrialCount=1))
    stack.wait_finished(name)
    url = (stack.data_dir / "operator.metrics").read_text().strip()

    def scrape() -> str:
        with urllib.request.urlopen(url, timeout=10) as resp:
            text: str = resp.read().decode()
        return text

    text = stack.wait("the trial counters", lambda: "katib_trial_succeeded_total" in (t := scrape()) and t)
    assert 'katib_experiments_current{namespace="default",status="Succeeded"}' in text
    assert "katib_trials_current{" in text
    for counter in (
        "katib_experiment_created_total",
        "katib_experiment_succeeded_total",
        "katib_trial_created_total",
    ):
        assert f'{counter}{{namespace="default"}}' in text


def test_operator_liveness_endpoint_answers_from_its_event_loop(stack: Stack) -> None:
    import json

    url = (stack.data_dir / "operator.health").read_text().strip()
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.status == 200
        assert isinstance(json.loads(resp.read().decode()), dict)  # kopf's probe results
    assert health_endpoint(":8081") == "http://0.0.0.0:8081/healthz"
    assert health_endpoint("") is None


def test_configmap_trial_template(stack: Stack) -> None:
    """A trial template read from a ConfigMap (success/failure conditions given by the user)."""
    name = "e2e-configmap"
    exp = shell_experiment(stack, name, "echo accuracy=$1\n", maxTrialCount=2, parallelTrialCount=2)
    template = exp["spec"]["trialTemplate"]
    job = template.pop("trialSpec")
    stack.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "e2e-trial-templates", "namespace": "default"},
            # quoted, as in Katib's trial-templates: an unquoted number would render as a YAML float
            "data": {
                "job.yaml": yaml.safe_dump(job).replace("- ${trialParameters.x}", "- '${trialParameters.x}'")
            },
        }
    )
    template["configMap"] = {
        "configMapName": "e2e-trial-templates",
        "configMapNamespace": "default",
        "templatePath": "job.yaml",
    }
    template["successCondition"] = 'status.conditions.#(type=="Complete")#|#(status=="True")#'
    template["failureCondition"] = 'status.conditions.#(type=="Failed")#|#(status=="True")#'
    stack.apply(exp)
    done = stack.wait_finished(name)
    assert condition(done, "Succeeded")["reason"] == "ExperimentMaxTrialsReached"
    for trial in stack.trials(name):
        value = trial["spec"]["parameterAssignments"][0]["value"]
        assert trial["spec"]["runSpec"]["spec"]["template"]["spec"]["containers"][0]["command"][-1] == value
        assert float(trial["status"]["observation"]["metrics"][0]["latest"]) == pytest.approx(float(value))


def test_created_goes_out_with_running_in_one_status_write(stack: Stack) -> None:
    """Every version of every trial, from a watch opened before the experiment: the status changes
    twice (Created with Running, once the job is made; then Succeeded), never Created alone (Katib
    writes Created and Running in two reconciles)."""
    name = "e2e-one-write"
    listed = json.loads(stack.kubectl("get", "trials", "-n", "default", "-o", "json").stdout)
    path = (
        "/apis/kubeflow.org/v1beta1/namespaces/default/trials?watch=1"
        f"&resourceVersion={listed['metadata']['resourceVersion']}"
        f"&labelSelector=katib.kubeflow.org/experiment={name}"
    )
    watch = subprocess.Popen(
        [KUBECTL, "get", "--raw", path], env=stack.env, stdout=subprocess.PIPE, text=True
    )
    assert watch.stdout is not None
    versions: dict[str, list[list[str]]] = defaultdict(list)

    def read() -> None:
        assert watch.stdout is not None
        for line in watch.stdout:
            event = json.loads(line)
            trial = event["object"]
            types = [c["type"] for c in (trial.get("status") or {}).get("conditions") or []]
            versions[trial["metadata"]["name"]].append(types)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        stack.apply(
            shell_experiment(stack, name, "echo accuracy=0.5\n", maxTrialCount=3, parallelTrialCount=3)
        )
        stack.wait_finished(name)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (
            len(versions) == 3 and all("Succeeded" in v[-1] for v in list(versions.values()))
        ):
            time.sleep(0.1)
    finally:
        watch.terminate()
        watch.wait(10)
    assert len(versions) == 3, dict(versions)
    for trial, seen in versions.items():
        changes = [types for i, types in enumerate(seen) if i == 0 or types != seen[i - 1]]
        assert changes == [[], ["Created", "Running"], ["Created", "Running", "Succeeded"]], (trial, seen)
