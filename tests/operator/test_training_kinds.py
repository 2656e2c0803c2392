"""Trials of the Training Operator's kinds on `katib-py up`, and trials whose job cannot be made.

The PyTorchJob and TFJob experiments are shaped like Katib's `pytorchjob-mnist` (a Master and a
Worker, StdOut collector, objective `loss`) and `tfjob-mnist-with-summaries` (two Workers,
TensorFlowEvent collector on the workers, objective `accuracy`); their replicas run
katib_py.trainers.distributed_trainer, which only finishes once every replica has joined rank 0
through the addresses the add-on gives them (MASTER_ADDR / TF_CONFIG over headless Services).
The success and failure conditions are Katib's defaults for these kinds (the webhook fills them).
"""

from __future__ import annotations

from typing import Any

import pytest

from .operator_e2e import Stack, condition

pytestmark = pytest.mark.e2e

TRAINER = ["python3", "-m", "katib_py.trainers.distributed_trainer", "--epochs=1"]


def _experiment(
    name: str, objective: dict[str, Any], template: dict[str, Any], **spec: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "maxTrialCount": 2,
        "parallelTrialCount": 2,
        "maxFailedTrialCount": 0,
        "objective": objective,
        "algorithm": {"algorithmName": "random"},
        "parameters": [
            {"name": "lr", "parameterType": "double", "feasibleSpace": {"min": "0.01", "max": "0.05"}},
        ],
        "trialTemplate": {"trialParameters": [{"name": "learningRate", "reference": "lr"}], **template},
        **spec,
    }
    return {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Experiment",
        "metadata": {"name": name},
        "spec": body,
    }


def _replica(container: str, replicas: int, *args: str) -> dict[str, Any]:
    command = [*TRAINER, "--lr=${trialParameters.learningRate}", *args]
    return {
        "replicas": replicas,
        "restartPolicy": "OnFailure",
        "template": {
            "spec": {"containers": [{"name": container, "image": "trainer:local", "command": command}]}
        },
    }


def _succeeds(stack: Stack, exp: dict[str, Any], metric: str) -> None:
    name = exp["metadata"]["name"]
    stack.apply(exp)
    done = stack.wait_finished(name, timeout=300)
    succeeded = condition(done, "Succeeded")
    assert succeeded is not None and succeeded["reason"] == "ExperimentMaxTrialsReached", done["status"]
    assert done["status"]["trialsSucceeded"] == 2
    best = done["status"]["currentOptimalTrial"]
    assert [m["name"] for m in best["observation"]["metrics"]] == [metric]
    for trial in stack.trials(name):
        ok = condition(trial, "Succeeded")
        assert ok is not None and "Job reason: " in ok["reason"], trial["status"]
    stack.kubectl("delete", "experiment", name)


def test_pytorchjob_trials_succeed(stack: Stack) -> None:
    template = {
        "primaryContainerName": "pytorch",
        "trialSpec": {
            "apiVersion": "kubeflow.org/v1",
            "kind": "PyTorchJob",
            "spec": {
                "pytorchReplicaSpecs": {
                    "Master": _replica("pytorch", 1, "--batch-size=16"),
                    "Worker": _replica("pytorch", 1, "--batch-size=16"),
                }
            },
        },
    }
    exp = _experiment(
        "e2e-pytorchjob", {"type": "minimize", "goal": 0.001, "objectiveMetricName": "loss"}, template
    )
    _succeeds(stack, exp, "loss")


def test_tfjob_trials_succeed_with_tensorflow_events(stack: Stack) -> None:
    template = {
        "primaryContainerName": "tensorflow",
        "primaryPodLabels": {"training.kubeflow.org/replica-type": "worker"},
        "trialSpec": {
            "apiVersion": "kubeflow.org/v1",
            "kind": "TFJob",
            "spec": {"tfReplicaSpecs": {"Worker": _replica("tensorflow", 2, "--log-path=/tfjob-logs")}},
        },
    }
    collector = {
        "source": {"fileSystemPath": {"path": "/tfjob-logs/test", "kind": "Directory"}},
        "collector": {"kind": "TensorFlowEvent"},
    }
    exp = _experiment(
        "e2e-tfjob",
        {"type": "maximize", "goal": 0.999, "objectiveMetricName": "accuracy"},
        template,
        metricsCollectorSpec=collector,
    )
    _succeeds(stack, exp, "accuracy")


def _fails(stack: Stack, exp: dict[str, Any], reason: str) -> str:
    """The experiment's one trial ends Failed with `reason`; the failure budget (0) ends the experiment."""
    name = exp["metadata"]["name"]
    exp["spec"].update(maxTrialCount=3, parallelTrialCount=1, maxFailedTrialCount=0)
    stack.apply(exp)
    done = stack.wait_finished(name, timeout=120)
    failed = condition(done, "Failed")
    assert failed is not None and failed["reason"] == "ExperimentFailed", done["status"]
    assert failed["message"] == "Experiment has failed because max failed count has reached"
    trials = stack.trials(name)
    assert len(trials) == 1 and done["status"]["trialsFailed"] == 1
    cond = condition(trials[0], "Failed")
    assert cond is not None and cond["reason"] == reason, trials[0]["status"]
    events = stack.kubectl(
        "get", "events", "--field-selector", f"involvedObject.name={trials[0]['metadata']['name']}"
    ).stdout
    assert reason in events
    stack.kubectl("delete", "experiment", name)
    return str(cond["message"])


def test_a_trial_of_an_unserved_kind_fails_with_what_to_install(stack: Stack) -> None:
    template = {
        "primaryContainerName": "node",
        "trialSpec": {
            "apiVersion": "trainer.kubeflow.org/v1alpha1",
            "kind": "TrainJob",
            "spec": {
                "trainer": {"command": ["python3", "-c", "print('loss=${trialParameters.learningRate}')"]}
            },
        },
    }
    exp = _experiment("e2e-unserved-kind", {"type": "minimize", "objectiveMetricName": "loss"}, template)
    message = _fails(stack, exp, "TrialJobKindNotServed")
    assert message == (
        "Trial has failed: the cluster serves no TrainJob in trainer.kubeflow.org/v1alpha1 (no such "
        "CustomResourceDefinition); install Kubeflow Trainer (github.com/kubeflow/trainer), or use a "
        "trialResources kind the cluster serves"
    )


def test_a_trial_whose_job_the_api_server_rejects_fails(stack: Stack) -> None:
    replica = _replica("pytorch", 1)
    replica["restartPolicy"] = "Sometimes"
    template = {
        "primaryContainerName": "pytorch",
        "trialSpec": {
            "apiVersion": "kubeflow.org/v1",
            "kind": "PyTorchJob",
            "spec": {"pytorchReplicaSpecs": {"Master": replica}},
        },
    }
    exp = _experiment("e2e-rejected-job", {"type": "minimize", "objectiveMetricName": "loss"}, template)
    message = _fails(stack, exp, "TrialJobRejected")
    assert message.startswith("Trial has failed: the API server rejected its PyTorchJob: ")
    assert 'spec.pytorchReplicaSpecs.Master.restartPolicy: Unsupported value: "Sometimes"' in message
