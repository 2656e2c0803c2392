"""tune(): the Experiment it creates (read back from the API server) and the trial script it embeds,
run with bash the way a trial container runs it."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest
from kubernetes import client as k8s

from katib_py.api.models import ParameterSpec
from katib_py.sdk import KatibClient, TrainerResources, constants, search
from katib_py.sdk.tune import build_experiment


def stored(custom: k8s.CustomObjectsApi, namespace: str, name: str) -> dict[str, Any]:
    return custom.get_namespaced_custom_object(  # type: ignore[no-any-return]
        "kubeflow.org", "v1beta1", namespace, "experiments", name
    )


def substitute(script: str, values: dict[str, str]) -> str:
    """What the trial controller does to the trial spec before the job runs."""
    for name, value in values.items():
        script = script.replace(f"${{trialParameters.{name}}}", value)
    assert "${trialParameters." not in script
    return script


def run_script(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)


def test_search_specs() -> None:
    assert search.double(0.01, 0.1).dump() == {
        "parameterType": "double",
        "feasibleSpace": {"min": "0.01", "max": "0.1"},
    }
    assert search.int(1, 9, step=2).dump() == {
        "parameterType": "int",
        "feasibleSpace": {"min": "1", "max": "9", "step": "2"},
    }
    assert search.double(0.0, 1.0, step=0.25).feasible_space.step == "0.25"  # type: ignore[union-attr]
    categorical = search.categorical(["sgd", "adam", 3])
    assert isinstance(categorical, ParameterSpec)
    assert categorical.dump() == {
        "parameterType": "categorical",
        "feasibleSpace": {"list": ["sgd", "adam", "3"]},
    }


def test_tune_creates_katibs_job_experiment(
    katib: KatibClient, custom: k8s.CustomObjectsApi, namespace: str
) -> None:
    def train(parameters):  # type: ignore[no-untyped-def]
        import json

        lr = float(parameters["lr"])
        print("params " + json.dumps(parameters, sort_keys=True))
        print(f"accuracy={1 - (lr - 0.05) ** 2:.4f}")
        print(f"loss={lr * 2:.4f}")

    lr_spec = search.double(min=0.01, max=0.1)
    created = katib.tune(
        name="tuned",
        objective=train,
        parameters={
            "lr": lr_spec,
            "batch": search.int(16, 64, 16),
            "optimizer": search.categorical(["sgd", "adam"]),
            "epochs": 3,
            "tag": "fixed",
        },
        objective_metric_name="accuracy",
        additional_metric_names=["loss"],
        objective_goal=0.99,
        max_trial_count=6,
        parallel_trial_count=2,
        max_failed_trial_count=1,
        algorithm_name="grid",
        algorithm_settings={"random_state": 7},
        resources_per_trial={"cpu": "1", "memory": "1Gi", "gpu": 1},
        env_per_trial={"MODE": "test", "N": 2},
        retain_trials=True,
    )
    assert created.metadata is not None and created.metadata.namespace == namespace
    assert lr_spec.name is None  # the caller's spec is not mutated

    body = stored(custom, namespace, "tuned")
    assert body["apiVersion"] == "kubeflow.org/v1beta1" and body["kind"] == "Experiment"
    spec = body["spec"]
    assert spec["objective"] == {
        "type": "maximize",
        "goal": 0.99,
        "objectiveMetricName": "accuracy",
        "additionalMetricNames": ["loss"],
    }
    assert spec["algorithm"] == {
        "algorithmName": "grid",
        "algorithmSettings": [{"name": "random_state", "value": "7"}],
    }
    assert (spec["maxTrialCount"], spec["parallelTrialCount"], spec["maxFailedTrialCount"]) == (6, 2, 1)
    assert spec["metricsCollectorSpec"] == {"collector": {"kind": "StdOut"}}
    assert spec["parameters"] == [
        {"name": "lr", "parameterType": "double", "feasibleSpace": {"min": "0.01", "max": "0.1"}},
        {"name": "batch", "parameterType": "int", "feasibleSpace": {"min": "16", "max": "64", "step": "16"}},
        {"name": "optimizer", "parameterType": "categorical", "feasibleSpace": {"list": ["sgd", "adam"]}},
    ]
    template = spec["trialTemplate"]
    assert template["primaryContainerName"] == "training-container"
    assert template["retain"] is True
    assert template["trialParameters"] == [
        {"name": "lr", "reference": "lr"},
        {"name": "batch", "reference": "batch"},
        {"name": "optimizer", "reference": "optimizer"},
    ]
    job = template["trialSpec"]
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    pod = job["spec"]["template"]
    assert pod["metadata"] == {"annotations": {"sidecar.istio.io/inject": "false"}}
    assert pod["spec"]["restartPolicy"] == "Never"
    [container] = pod["spec"]["containers"]
    assert container["name"] == "training-container"
    assert container["image"] == constants.BASE_IMAGE_PYTORCH
    assert container["command"] == ["bash", "-c"]
    amounts = {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"}
    assert container["resources"] == {"requests": amounts, "limits": amounts}
    assert container["env"] == [{"name": "MODE", "value": "test"}, {"name": "N", "value": "2"}]
    assert "envFrom" not in container

    [script] = container["args"]
    assert script.startswith(
        "\nprogram_path=$(mktemp -d)\nread -r -d '' SCRIPT << EOM\n\ndef train(parameters):"
    )
    assert script.endswith(
        'EOM\nprintf "%s" "$SCRIPT" > "$program_path/ephemeral_script.py"\n'
        'python3 -u "$program_path/ephemeral_script.py"'
    )
    assert (
        "train({'lr': '${trialParameters.lr}', 'batch': '${trialParameters.batch}', "
        "'optimizer': '${trialParameters.optimizer}', 'epochs': 3, 'tag': 'fixed'})"
    ) in script

    result = run_script(substitute(script, {"lr": "0.07", "batch": "32", "optimizer": "adam"}))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        'params {"batch": "32", "epochs": 3, "lr": "0.07", "optimizer": "adam", "tag": "fixed"}'
    )
    assert lines[1:] == ["accuracy=0.9996", "loss=0.1400"]


def test_tune_push_collector_k8s_objects_and_packages(
    katib: KatibClient, custom: k8s.CustomObjectsApi, namespace: str
) -> None:
    def push(parameters):  # type: ignore[no-untyped-def]
        print("score=" + parameters["x"])

    katib.tune(
        "pushed",
        objective=push,
        parameters={"x": search.categorical(["a", "b"])},
        base_image="python:3.11",
        objective_metric_name="score",
        objective_type="minimize",
        metrics_collector_config={"kind": "Push"},
        resources_per_trial=k8s.V1ResourceRequirements(limits={"cpu": "2"}),
        env_per_trial=[
            k8s.V1EnvVar(name="A", value="1"),
            k8s.V1EnvFromSource(config_map_ref=k8s.V1ConfigMapEnvSource(name="settings")),
        ],
        algorithm_settings=[{"name": "seed", "value": "1"}],
        packages_to_install=["numpy==2.0.0", "scipy"],
        pip_index_urls=["https://mirror.example/simple", "https://extra.example/simple"],
        trial_active_deadline_seconds=120,
    )
    spec = stored(custom, namespace, "pushed")["spec"]
    assert spec["objective"] == {
        "type": "minimize",
        "objectiveMetricName": "score",
        "additionalMetricNames": [],
    }
    assert spec["metricsCollectorSpec"] == {"collector": {"kind": "Push"}}
    assert spec["algorithm"]["algorithmSettings"] == [{"name": "seed", "value": "1"}]
    assert "maxTrialCount" not in spec and "parallelTrialCount" not in spec
    job = spec["trialTemplate"]["trialSpec"]
    assert job["spec"]["activeDeadlineSeconds"] == 120
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "python:3.11"
    assert container["resources"] == {"limits": {"cpu": "2"}}
    assert container["env"] == [{"name": "A", "value": "1"}]
    assert container["envFrom"] == [{"configMapRef": {"name": "settings"}}]
    [script] = container["args"]
    install = re.search(r"python3 -m pip install .*?\\\n(.*)\n", script)
    assert install is not None
    assert install.group(1) == (
        "--no-warn-script-location --index-url https://mirror.example/simple "
        "--extra-index-url https://extra.example/simple numpy==2.0.0 scipy"
    )
    assert script.index("pip install") < script.index("program_path=$(mktemp -d)")
    syntax = subprocess.run(["bash", "-n", "-c", script], capture_output=True, text=True, timeout=30)
    assert syntax.returncode == 0, syntax.stderr


def test_pip_index_url_alias_and_default_index() -> None:
    def f(parameters):  # type: ignore[no-untyped-def]
        print(parameters)

    exp = build_experiment("e", "ns", f, {"a": search.int(1, 2)}, packages_to_install=["six"])
    script = exp.spec.trial_template.trial_spec["spec"]["template"]["spec"]["containers"][0]["args"][0]  # type: ignore[union-attr,index]
    assert "--index-url https://pypi.org/simple six\n" in script


def test_tune_with_trainer_resources_builds_a_pytorchjob() -> None:
    def dist(parameters):  # type: ignore[no-untyped-def]
        print(parameters)

    exp = build_experiment(
        "torch",
        "ns",
        dist,
        {"lr": search.double(0.1, 0.2)},
        objective_metric_name="loss",
        resources_per_trial=TrainerResources(
            num_workers=3, num_procs_per_worker=2, resources_per_worker={"gpu": "2", "cpu": "5"}
        ),
    )
    template = exp.spec.trial_template  # type: ignore[union-attr]
    assert template is not None and template.primary_container_name == "pytorch"
    job = template.trial_spec
    assert job is not None
    assert (job["apiVersion"], job["kind"]) == ("kubeflow.org/v1", "PyTorchJob")
    assert job["spec"]["nprocPerNode"] == "2"
    replicas = job["spec"]["pytorchReplicaSpecs"]
    assert replicas["Master"]["replicas"] == 1 and replicas["Worker"]["replicas"] == 2
    [container] = replicas["Worker"]["template"]["spec"]["containers"]
    assert container["name"] == "pytorch"
    assert container["resources"]["limits"] == {"cpu": "5", "nvidia.com/gpu": "2"}
    assert container["args"][0].endswith('torchrun "$program_path/ephemeral_script.py"')
    assert "restartPolicy" not in replicas["Master"]["template"]["spec"]

    single = build_experiment(
        "torch1", "ns", dist, {"lr": search.double(0.1, 0.2)}, resources_per_trial=TrainerResources(1, 1, {})
    )
    job1 = single.spec.trial_template.trial_spec  # type: ignore[union-attr]
    assert job1 is not None and "Worker" not in job1["spec"]["pytorchReplicaSpecs"]
    master = job1["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]
    assert master["args"][0].endswith('python3 -u "$program_path/ephemeral_script.py"')


def test_tune_rejects_bad_arguments(katib: KatibClient) -> None:
    def ok(parameters):  # type: ignore[no-untyped-def]
        return parameters

    def two(a, b):  # type: ignore[no-untyped-def]
        return a, b

    with pytest.raises(ValueError, match="supports the custom-objective tune"):
        katib.tune("llm", model_provider_parameters=object(), dataset_provider_parameters=object())
    with pytest.raises(ValueError, match="Invalid configuration"):
        katib.tune("nothing")
    with pytest.raises(ValueError, match="Invalid configuration"):
        katib.tune("both", objective=ok, parameters={"a": 1}, trainer_parameters=object())
    with pytest.raises(ValueError, match="Please specify name"):
        katib.tune("", objective=ok, parameters={"a": search.int(1, 2)})
    with pytest.raises(ValueError, match="One of the required parameters is None"):
        katib.tune("noparams", objective=ok)
    with pytest.raises(ValueError, match="Invalid args in the Objective function"):
        katib.tune("twoargs", objective=two, parameters={"a": search.int(1, 2)})
    with pytest.raises(ValueError, match="must be callable"):
        katib.tune("notcallable", objective="print(1)", parameters={"a": search.int(1, 2)})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Incorrect value for env_per_trial"):
        katib.tune("badenv", objective=ok, parameters={"a": search.int(1, 2)}, env_per_trial=[42])
    assert katib.list_experiments() == []


class V1beta1ParameterSpec:
    """Shaped like kubeflow-katib's generated model (what its `katib.search.double` returns)."""

    openapi_types = {"name": "str", "parameter_type": "str", "feasible_space": "V1beta1FeasibleSpace"}
    attribute_map = {"name": "name", "parameter_type": "parameterType", "feasible_space": "feasibleSpace"}

    def __init__(self, parameter_type: str, feasible_space: Any) -> None:
        self.name: str | None = None
        self.parameter_type = parameter_type
        self.feasible_space = feasible_space


class V1beta1FeasibleSpace:
    openapi_types = {"min": "str", "max": "str", "list": "list[str]", "step": "str", "distribution": "str"}
    attribute_map = {
        "min": "min",
        "max": "max",
        "list": "list",
        "step": "step",
        "distribution": "distribution",
    }

    def __init__(self, min: str | None = None, max: str | None = None) -> None:
        self.min, self.max = min, max
        self.list = self.step = self.distribution = None


def test_tune_accepts_kubeflow_katib_search_specs_and_plain_dict_envs(
    katib: KatibClient, custom: k8s.CustomObjectsApi, namespace: str
) -> None:
    def f(parameters):  # type: ignore[no-untyped-def]
        print("m=" + parameters["lr"])

    katib.tune(
        "foreign",
        objective=f,
        parameters={"lr": V1beta1ParameterSpec("double", V1beta1FeasibleSpace("0.1", "0.2"))},
        objective_metric_name="m",
        env_per_trial=[
            {"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"secretRef": {"name": "s"}},
        ],
        resources_per_trial=TrainerResources(
            num_workers=2, num_procs_per_worker=1, resources_per_worker=None
        ),
    )
    spec = stored(custom, namespace, "foreign")["spec"]
    assert spec["parameters"] == [
        {"name": "lr", "parameterType": "double", "feasibleSpace": {"min": "0.1", "max": "0.2"}}
    ]
    template = spec["trialTemplate"]
    assert template["primaryContainerName"] == "pytorch"
    job = template["trialSpec"]
    assert (job["kind"], job["spec"]["nprocPerNode"]) == ("PyTorchJob", "1")
    assert job["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"] == 1
    [container] = job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"]
    assert container["env"] == [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    assert container["envFrom"] == [{"secretRef": {"name": "s"}}]
    assert "resources" not in container
    assert container["args"][0].endswith('torchrun "$program_path/ephemeral_script.py"')
