"""katib-py's retries for infrastructure failures on `katib-py up` (kubeflow/katib#433, #2452).

Real failures on the embedded cluster: a running trial Pod evicted through the Eviction API (the
API server marks it DisruptionTarget / EvictionByEvictionAPI, as kube-apiserver does), and a
container whose command does not exist (the kubelet reports StartError, exit code 128). A trial's
own failure (exit 1) still fails it at once.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from .operator_e2e import Stack, _experiment, condition, gated_experiment, shell_experiment
from .test_time_budget import _columns

pytestmark = pytest.mark.e2e


def _pods(stack: Stack, trial: str) -> list[dict[str, Any]]:
    return stack.list("pods", f"job-name={trial}")


def _events(stack: Stack, name: str) -> str:
    selector = f"involvedObject.name={name}"
    return stack.kubectl("get", "events", "--field-selector", selector, "-o", "json").stdout


def test_an_evicted_trial_is_retried_with_the_same_parameters(stack: Stack) -> None:
    name = "e2e-infra-evict"
    stack.apply(
        gated_experiment(
            stack, name, maxTrialCount=1, parallelTrialCount=1, maxFailedTrialCount=1, infraRetryLimit=2
        )
    )
    trial = stack.wait("a trial", lambda: stack.trials(name))[0]
    trial_name = trial["metadata"]["name"]
    assert trial["spec"]["infraRetryLimit"] == 2

    def running_pod() -> dict[str, Any] | None:
        return next((p for p in _pods(stack, trial_name) if p["status"].get("phase") == "Running"), None)

    first = stack.wait("the trial's pod to run", running_pod)
    eviction = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": first["metadata"]["name"], "namespace": "default"},
    }
    path = f"/api/v1/namespaces/default/pods/{first['metadata']['name']}/eviction"
    out = stack.kubectl("create", "--raw", path, "-f", "-", input=json.dumps(eviction))
    assert json.loads(out.stdout)["status"] == "Success"

    def retried() -> dict[str, Any] | None:
        t = stack.get("trial", trial_name)
        return t if t and (t.get("status") or {}).get("infraRetries") == 1 else None

    t = stack.wait("the retry", retried, timeout=60)
    assert t["spec"]["parameterAssignments"] == trial["spec"]["parameterAssignments"]
    second = stack.wait(
        "a new pod of the retried job",
        lambda: (p := running_pod()) and p["metadata"]["uid"] != first["metadata"]["uid"] and p,
        timeout=60,
    )

    def main(pod: dict[str, Any]) -> dict[str, Any]:
        return next(c for c in pod["spec"]["containers"] if c["name"] == "main")

    assert main(second)["command"] == main(first)["command"]  # the same parameters
    events = _events(stack, trial_name)
    assert "TrialRetried" in events and "EvictionByEvictionAPI" in events
    assert _columns(stack, "trial", trial_name)["RETRIES"] == "1"

    stack.release(trial_name, ["accuracy=0.7"])
    exp = stack.wait_finished(name, timeout=90)
    assert condition(exp, "Succeeded")["reason"] == "ExperimentMaxTrialsReached", exp["status"]  # type: ignore[index]
    assert not exp["status"].get("trialsFailed") and exp["status"]["trialsSucceeded"] == 1
    done = stack.get("trial", trial_name)
    assert done is not None and condition(done, "Succeeded") and done["status"]["infraRetries"] == 1


def test_a_container_that_cannot_start_is_retried_then_fails_the_trial(stack: Stack) -> None:
    name = "e2e-infra-start"
    experiment = _experiment(
        name,
        ["/nonexistent/train", "--x=${trialParameters.x}"],
        [{"name": "x", "parameterType": "double", "feasibleSpace": {"min": "0.1", "max": "0.9"}}],
        maxTrialCount=1,
        parallelTrialCount=1,
        maxFailedTrialCount=1,
        infraRetryLimit=2,
        # no collector: the command is run as it is, not through a shell that would exit 127
        metricsCollectorSpec={"collector": {"kind": "Push"}},
    )
    stack.apply(experiment)
    exp = stack.wait_finished(name, timeout=120)
    assert condition(exp, "Failed")["reason"] == "ExperimentFailed", exp["status"]  # type: ignore[index]
    (trial,) = stack.trials(name)
    failed = condition(trial, "Failed")
    assert failed is not None and failed["reason"] == "TrialInfrastructureFailed", trial["status"]
    assert failed["message"].startswith("Trial has failed because its infrastructure failed 3 times: Pod ")
    assert "StartError" in failed["message"]
    assert trial["status"]["infraRetries"] == 2
    events = _events(stack, trial["metadata"]["name"])
    assert events.count('"reason": "TrialRetried"') == 2 and "TrialInfrastructureFailed" in events
    name_ = trial["metadata"]["name"]
    stack.wait("the failed job to go", lambda: stack.get("job", name_) is None, timeout=60)


def test_a_failure_of_the_code_is_not_retried(stack: Stack) -> None:
    name = "e2e-infra-code"
    stack.apply(
        shell_experiment(
            stack,
            name,
            "exit 1",
            maxTrialCount=1,
            parallelTrialCount=1,
            maxFailedTrialCount=1,
            infraRetryLimit=3,
        )
    )
    exp = stack.wait_finished(name, timeout=120)
    assert condition(exp, "Failed")["reason"] == "ExperimentFailed", exp["status"]  # type: ignore[index]
    (trial,) = stack.trials(name)
    failed = condition(trial, "Failed")
    assert failed is not None and failed["reason"].startswith("TrialFailed"), trial["status"]
    assert not trial["status"].get("infraRetries")
    assert "TrialRetried" not in _events(stack, trial["metadata"]["name"])


def test_without_a_limit_an_eviction_fails_the_trial_as_in_katib(stack: Stack) -> None:
    name = "e2e-infra-off"
    stack.apply(gated_experiment(stack, name, maxTrialCount=1, parallelTrialCount=1, maxFailedTrialCount=1))
    trial = stack.wait("a trial", lambda: stack.trials(name))[0]["metadata"]["name"]
    pod = stack.wait(
        "the trial's pod to run",
        lambda: next((p for p in _pods(stack, trial) if p["status"].get("phase") == "Running"), None),
    )
    path = f"/api/v1/namespaces/default/pods/{pod['metadata']['name']}/eviction"
    stack.kubectl("create", "--raw", path, "-f", "-", input=json.dumps({"kind": "Eviction"}))
    exp = stack.wait_finished(name, timeout=90)
    assert condition(exp, "Failed")["reason"] == "ExperimentFailed", exp["status"]  # type: ignore[index]
    (t,) = stack.trials(name)
    failed = condition(t, "Failed")
    assert failed is not None and failed["reason"].startswith("TrialFailed"), t["status"]
    assert "infraRetries" not in t["status"] and "infraRetryLimit" not in t["spec"]
