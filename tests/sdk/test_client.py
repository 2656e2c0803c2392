"""KatibClient against the embedded API server: CRUD, conditions, waiting, budgets, trials, metrics."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import pytest
from kubernetes import client as k8s

from katib_py.api.models import Experiment, OptimalTrial, Trial
from katib_py.proto import api_pb2, api_pb2_grpc
from katib_py.sdk import KatibClient, constants, report_metrics, search

from .conftest import patch_status


def experiment_dict(name: str, **meta: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name} if name else {}
    metadata.update(meta)
    return {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Experiment",
        "metadata": metadata,
        "spec": {
            "objective": {"type": "maximize", "goal": 0.99, "objectiveMetricName": "accuracy"},
            "algorithm": {"algorithmName": "random"},
            "maxTrialCount": 4,
            "parallelTrialCount": 2,
            "parameters": [
                {"name": "lr", "parameterType": "double", "feasibleSpace": {"min": "0.01", "max": "0.1"}}
            ],
            "trialTemplate": {
                "primaryContainerName": "training-container",
                "trialParameters": [{"name": "lr", "reference": "lr"}],
                "trialSpec": {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "spec": {
                        "template": {
                            "spec": {
                                "restartPolicy": "Never",
                                "containers": [
                                    {
                                        "name": "training-container",
                                        "image": "busybox",
                                        "command": ["echo", "accuracy=${trialParameters.lr}"],
                                    }
                                ],
                            }
                        }
                    },
                },
            },
        },
    }


def condition(type_: str, status: str = "True", reason: str = "") -> dict[str, str]:
    return {
        "type": type_,
        "status": status,
        "reason": reason or f"Experiment{type_}",
        "message": f"Experiment is {type_.lower()}",
        "lastUpdateTime": "2026-01-01T00:00:00Z",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }


class OpenApiStyleExperiment:
    """A stand-in for kubeflow-katib's generated V1beta1Experiment: only `to_dict()`, snake_case keys."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        return self.data


def test_create_get_list_delete_with_every_input_form(katib: KatibClient, namespace: str) -> None:
    created = katib.create_experiment(experiment_dict("from-dict"))
    assert isinstance(created, Experiment)
    assert created.metadata is not None and created.metadata.uid

    model = Experiment.load(experiment_dict("from-model"))
    katib.create_experiment(model, namespace)

    # A dict holding kubernetes-client objects (a V1Job as the trial spec) is serialized too.
    with_job = experiment_dict("from-k8s-objects")
    with_job["spec"]["trialTemplate"]["trialSpec"] = k8s.V1Job(
        api_version="batch/v1",
        kind="Job",
        spec=k8s.V1JobSpec(
            template=k8s.V1PodTemplateSpec(
                spec=k8s.V1PodSpec(
                    restart_policy="Never",
                    containers=[k8s.V1Container(name="training-container", image="busybox")],
                )
            )
        ),
    )
    katib.create_experiment(with_job)

    snake = OpenApiStyleExperiment(
        {
            "api_version": "kubeflow.org/v1beta1",
            "kind": "Experiment",
            "metadata": {"name": "from-to-dict"},
            "spec": {
                "objective": {"type": "minimize", "objective_metric_name": "loss"},
                "algorithm": {"algorithm_name": "grid"},
                "max_trial_count": 3,
            },
        }
    )
    katib.create_experiment(snake)

    got = katib.get_experiment("from-to-dict")
    assert got.spec is not None and got.spec.objective is not None
    assert got.spec.objective.objective_metric_name == "loss"
    assert got.spec.max_trial_count == 3
    assert got.spec.algorithm is not None and got.spec.algorithm.algorithm_name == "grid"

    job = katib.get_experiment("from-k8s-objects").dump()["spec"]["trialTemplate"]["trialSpec"]
    assert job["spec"]["template"]["spec"]["containers"][0] == {
        "name": "training-container",
        "image": "busybox",
    }
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"

    names = sorted(str(e.dump()["metadata"]["name"]) for e in katib.list_experiments())
    assert names == ["from-dict", "from-k8s-objects", "from-model", "from-to-dict"]

    katib.delete_experiment("from-dict", delete_options=k8s.V1DeleteOptions(propagation_policy="Background"))
    assert "from-dict" not in [e.metadata.name for e in katib.list_experiments()]  # type: ignore[union-attr]
    with pytest.raises(RuntimeError, match=f"Failed to get Katib Experiment: {namespace}/from-dict"):
        katib.get_experiment("from-dict")
    with pytest.raises(RuntimeError, match="Failed to delete Katib Experiment"):
        katib.delete_experiment(
            "from-dict", delete_options=k8s.V1DeleteOptions(propagation_policy="Background")
        )


def test_create_conflict_and_generate_name(katib: KatibClient, namespace: str) -> None:
    katib.create_experiment(experiment_dict("twice"))
    with pytest.raises(
        RuntimeError, match=f"A Katib Experiment with the name {namespace}/twice already exists"
    ):
        katib.create_experiment(experiment_dict("twice"))

    generated = katib.create_experiment(experiment_dict("", generateName="gen-"))
    assert generated.metadata is not None and generated.metadata.name is not None
    assert generated.metadata.name.startswith("gen-") and len(generated.metadata.name) > len("gen-")
    with pytest.raises(ValueError, match="name or generateName"):
        katib.create_experiment(experiment_dict(""))


def test_conditions_follow_the_status(
    katib: KatibClient, custom: k8s.CustomObjectsApi, namespace: str
) -> None:
    katib.create_experiment(experiment_dict("cond"))
    assert katib.get_experiment_conditions("cond") == []
    assert not katib.is_experiment_created("cond")

    patch_status(custom, "experiments", namespace, "cond", {"conditions": [condition("Created")]})
    assert katib.is_experiment_created("cond")
    assert not katib.is_experiment_running("cond")

    patch_status(
        custom,
        "experiments",
        namespace,
        "cond",
        {"conditions": [condition("Created"), condition("Running", reason="ExperimentRunning")]},
    )
    conditions = katib.get_experiment_conditions("cond")
    assert [(c.type, c.status, c.reason) for c in conditions] == [
        ("Created", "True", "ExperimentCreated"),
        ("Running", "True", "ExperimentRunning"),
    ]
    assert katib.is_experiment_running("cond")
    assert not katib.is_experiment_succeeded("cond")

    patch_status(
        custom,
        "experiments",
        namespace,
        "cond",
        {
            "conditions": [
                condition("Created"),
                condition("Running", "False"),
                condition("Restarting"),
            ]
        },
    )
    assert katib.is_experiment_restarting("cond")
    assert not katib.is_experiment_running("cond")  # status "False" does not count

    experiment = katib.get_experiment("cond")
    patch_status(custom, "experiments", namespace, "cond", {"conditions": [condition("Failed")]})
    # An Experiment object passed in is read instead of the server's.
    assert katib.is_experiment_restarting("cond", experiment=experiment)
    assert katib.is_experiment_failed("cond")


def test_wait_for_experiment_condition(
    katib: KatibClient, custom: k8s.CustomObjectsApi, namespace: str
) -> None:
    katib.create_experiment(experiment_dict("waited"))
    patch_status(custom, "experiments", namespace, "waited", {"conditions": [condition("Created")]})

    def finish_later() -> None:
        time.sleep(0.6)
        patch_status(
            custom,
            "experiments",
            namespace,
            "waited",
            {"conditions": [condition("Created"), condition("Running", "False"), condition("Succeeded")]},
        )

    worker = threading.Thread(target=finish_later)
    worker.start()
    try:
        done = katib.wait_for_experiment_condition("waited", timeout=30, polling_interval=0.1)
    finally:
        worker.join()
    assert katib.is_experiment_succeeded("waited", experiment=done)

    assert katib.wait_for_experiment_condition("waited", expected_condition="Created", timeout=5).metadata
    with pytest.raises(TimeoutError, match=f"{namespace}/waited to reach Restarting"):
        katib.wait_for_experiment_condition(
            "waited",
            expected_condition="Restarting",
            timeout=0.5,
            polling_interval=0.1,
        )
    with pytest.raises(ValueError, match="Unknown Experiment condition"):
        katib.wait_for_experiment_condition("waited", expected_condition="Done")


def test_wait_raises_on_failed_unless_waiting_for_failed(
    katib: KatibClient, custom: k8s.CustomObjectsApi, namespace: str
) -> None:
    katib.create_experiment(experiment_dict("doomed"))
    patch_status(
        custom,
        "experiments",
        namespace,
        "doomed",
        {"conditions": [condition("Created"), condition("Failed")]},
    )
    with pytest.raises(RuntimeError, match=f"Experiment: {namespace}/doomed is Failed"):
        katib.wait_for_experiment_condition("doomed", timeout=5, polling_interval=1)
    with pytest.raises(RuntimeError, match="is Failed"):  # Katib checks Failed before the awaited one
        katib.wait_for_experiment_condition("doomed", expected_condition="Created", timeout=5)
    failed = katib.wait_for_experiment_condition("doomed", expected_condition="Failed", timeout=5)
    assert katib.is_experiment_failed("doomed", experiment=failed)


def test_edit_experiment_budget(katib: KatibClient) -> None:
    katib.create_experiment(experiment_dict("budget"))
    katib.edit_experiment_budget("budget", max_trial_count=10, parallel_trial_count=5)
    spec = katib.get_experiment("budget").spec
    assert spec is not None
    assert (spec.max_trial_count, spec.parallel_trial_count, spec.max_failed_trial_count) == (10, 5, None)
    katib.edit_experiment_budget("budget", max_failed_trial_count=2)
    spec = katib.get_experiment("budget").spec
    assert spec is not None
    assert (spec.max_trial_count, spec.parallel_trial_count, spec.max_failed_trial_count) == (10, 5, 2)
    assert spec.objective is not None and spec.objective.objective_metric_name == "accuracy"  # untouched
    with pytest.raises(ValueError, match="You have to set max_trial_count"):
        katib.edit_experiment_budget("budget")
    with pytest.raises(RuntimeError, match="Failed to edit Katib Experiment"):
        katib.edit_experiment_budget("missing", max_trial_count=1)


def make_trial(
    custom: k8s.CustomObjectsApi, namespace: str, name: str, experiment: str, status: dict[str, Any] | None
) -> None:
    body = {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Trial",
        "metadata": {"name": name, "labels": {constants.EXPERIMENT_LABEL: experiment}},
        "spec": {
            "objective": {"type": "maximize", "objectiveMetricName": "accuracy"},
            "parameterAssignments": [{"name": "lr", "value": name[-1]}],
            "runSpec": {"apiVersion": "batch/v1", "kind": "Job"},
            "primaryContainerName": "training-container",
        },
    }
    custom.create_namespaced_custom_object("kubeflow.org", "v1beta1", namespace, "trials", body)
    if status is not None:
        patch_status(custom, "trials", namespace, name, status)


def succeeded(value: str) -> dict[str, Any]:
    return {
        "conditions": [
            {"type": "Created", "status": "True", "reason": "TrialCreated"},
            {"type": "Running", "status": "False", "reason": "TrialRunning"},
            {"type": "Succeeded", "status": "True", "reason": "TrialSucceeded"},
        ],
        "observation": {"metrics": [{"name": "accuracy", "min": value, "max": value, "latest": value}]},
    }


def test_trials_by_experiment_and_success_details(
    katib: KatibClient, custom: k8s.CustomObjectsApi, namespace: str
) -> None:
    make_trial(custom, namespace, "exp-a-1", "exp-a", succeeded("0.5"))
    make_trial(custom, namespace, "exp-a-2", "exp-a", {"conditions": [{"type": "Running", "status": "True"}]})
    make_trial(custom, namespace, "exp-a-3", "exp-a", None)
    make_trial(custom, namespace, "exp-b-1", "exp-b", succeeded("0.9"))

    assert sorted(str(t.dump()["metadata"]["name"]) for t in katib.list_trials("exp-a")) == [
        "exp-a-1",
        "exp-a-2",
        "exp-a-3",
    ]
    assert len(katib.list_trials()) == 4
    assert katib.list_trials("nobody") == []

    trial = katib.get_trial("exp-b-1")
    assert isinstance(trial, Trial)
    assert trial.spec is not None and trial.spec.parameter_assignments is not None
    assert trial.spec.parameter_assignments[0].value == "1"

    details = katib.get_success_trial_details("exp-a")
    assert len(details) == 1
    assert details[0]["name"] == "exp-a-1"
    assert [(p.name, p.value) for p in details[0]["parameter_assignments"]] == [("lr", "1")]
    assert [(m.name, m.latest) for m in details[0]["metrics"]] == [("accuracy", "0.5")]
    assert sorted(d["name"] for d in katib.get_success_trial_details()) == ["exp-a-1", "exp-b-1"]
    with pytest.raises(RuntimeError, match="Failed to get Katib Trial"):
        katib.get_trial("exp-c-1")
    with pytest.raises(RuntimeError, match=f"Failed to list Katib Trials in namespace: {namespace}"):
        katib.list_trials("not a valid label value!")


def test_suggestions(katib: KatibClient, custom: k8s.CustomObjectsApi, namespace: str) -> None:
    katib.create_experiment(experiment_dict("sugg"))
    custom.create_namespaced_custom_object(
        "kubeflow.org",
        "v1beta1",
        namespace,
        "suggestions",
        {
            "apiVersion": "kubeflow.org/v1beta1",
            "kind": "Suggestion",
            "metadata": {"name": "sugg"},
            "spec": {"algorithm": {"algorithmName": "random"}, "requests": 2, "resumePolicy": "Never"},
        },
    )
    patch_status(
        custom,
        "suggestions",
        namespace,
        "sugg",
        {
            "suggestionCount": 1,
            "suggestions": [{"name": "sugg-abc", "parameterAssignments": [{"name": "lr", "value": "0.05"}]}],
        },
    )
    suggestion = katib.get_suggestion("sugg")
    assert suggestion.spec is not None and suggestion.spec.requests == 2
    assert suggestion.status is not None and suggestion.status.suggestions is not None
    assert suggestion.status.suggestions[0].name == "sugg-abc"
    listed = katib.list_suggestions()
    assert [(s.kind, s.metadata.name) for s in listed] == [("Suggestion", "sugg")]  # type: ignore[union-attr]
    with pytest.raises(RuntimeError, match="Failed to get Katib Suggestion"):
        katib.get_suggestion("none")


def test_get_optimal_hyperparameters(
    katib: KatibClient, custom: k8s.CustomObjectsApi, namespace: str
) -> None:
    katib.create_experiment(experiment_dict("best"))
    assert katib.get_optimal_hyperparameters("best") is None
    patch_status(custom, "experiments", namespace, "best", {"currentOptimalTrial": {"observation": {}}})
    assert katib.get_optimal_hyperparameters("best") is None  # no metrics yet
    patch_status(
        custom,
        "experiments",
        namespace,
        "best",
        {
            "currentOptimalTrial": {
                "bestTrialName": "best-x",
                "parameterAssignments": [{"name": "lr", "value": "0.05"}],
                "observation": {
                    "metrics": [{"name": "accuracy", "min": "0.1", "max": "0.9", "latest": "0.8"}]
                },
            }
        },
    )
    optimal = katib.get_optimal_hyperparameters("best")
    assert isinstance(optimal, OptimalTrial)
    assert optimal.best_trial_name == "best-x"
    assert [(p.name, p.value) for p in optimal.parameter_assignments or []] == [("lr", "0.05")]
    assert optimal.observation is not None and optimal.observation.metrics is not None
    assert optimal.observation.metrics[0].max == "0.9"


def test_get_trial_metrics_from_db_manager(katib: KatibClient, db_manager: str, trial_env: Any) -> None:
    trial_env("metric-trial")
    report_metrics({"accuracy": 0.5, "loss": "1.25"}, db_manager_address=db_manager, timeout=30)
    report_metrics({"accuracy": 0.75}, db_manager_address=db_manager, timeout=30)
    import grpc

    with grpc.insecure_channel(db_manager) as channel:
        api_pb2_grpc.DBManagerStub(channel).ReportObservationLog(
            api_pb2.ReportObservationLogRequest(
                trial_name="other-trial",
                observation_log=api_pb2.ObservationLog(
                    metric_logs=[
                        api_pb2.MetricLog(
                            time_stamp="2026-01-01T00:00:00Z",
                            metric=api_pb2.Metric(name="accuracy", value="0.1"),
                        )
                    ]
                ),
            ),
            timeout=30,
        )

    logs = katib.get_trial_metrics("metric-trial", db_manager_address=db_manager, timeout=30)
    assert sorted((log.metric.name, float(log.metric.value)) for log in logs) == [
        ("accuracy", 0.5),
        ("accuracy", 0.75),
        ("loss", 1.25),
    ]
    assert all(log.time_stamp for log in logs)
    assert len(katib.get_trial_metrics("unknown-trial", db_manager_address=db_manager, timeout=30)) == 0


def test_get_trial_metrics_unreachable(katib: KatibClient, namespace: str) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(RuntimeError, match=f"Unable to get metrics for Trial {namespace}/t1"):
        katib.get_trial_metrics("t1", db_manager_address=f"127.0.0.1:{port}", timeout=2)


def test_default_namespace_and_explicit_configuration(cluster: Any) -> None:
    from kubernetes import config as k8s_config

    configuration = k8s.Configuration()
    k8s_config.load_kube_config(config_file=str(cluster.kubeconfig), client_configuration=configuration)
    with KatibClient(client_configuration=configuration) as katib:
        assert katib.namespace == "default"
        assert isinstance(katib.list_experiments(), list)
    # No arguments: $KUBECONFIG (set for the session by the cluster fixture) and "default".
    assert os.environ["KUBECONFIG"] == str(cluster.kubeconfig)
    with KatibClient() as katib:
        katib.create_experiment(experiment_dict("in-default"))
        assert katib.get_experiment("in-default").metadata.namespace == "default"  # type: ignore[union-attr]
        katib.delete_experiment("in-default")


def openapi_model(class_name: str, fields: dict[str, str]) -> type:
    """A class shaped like kubeflow-katib's OpenAPI-generated models (openapi_types + attribute_map)."""

    def init(self: Any, **kwargs: Any) -> None:
        for field in fields:
            setattr(self, field, kwargs.get(field))

    types = {field: "object" for field in fields}
    return type(class_name, (), {"openapi_types": types, "attribute_map": fields, "__init__": init})


V1beta1Experiment = openapi_model(
    "V1beta1Experiment", {"api_version": "apiVersion", "kind": "kind", "metadata": "metadata", "spec": "spec"}
)
V1beta1ExperimentSpec = openapi_model(
    "V1beta1ExperimentSpec",
    {"objective": "objective", "parameters": "parameters", "max_trial_count": "maxTrialCount"},
)
V1beta1ObjectiveSpec = openapi_model(
    "V1beta1ObjectiveSpec", {"type": "type", "objective_metric_name": "objectiveMetricName"}
)


def test_create_experiment_from_openapi_models(katib: KatibClient, namespace: str) -> None:
    experiment = V1beta1Experiment(
        api_version="kubeflow.org/v1beta1",
        kind="Experiment",
        metadata=k8s.V1ObjectMeta(name="openapi", labels={"team": "a"}),
        spec=V1beta1ExperimentSpec(
            objective=V1beta1ObjectiveSpec(type="minimize", objective_metric_name="loss"),
            parameters=[search.double(0.1, 0.2).model_copy(update={"name": "lr"})],
            max_trial_count=5,
        ),
    )
    created = katib.create_experiment(experiment)
    assert created.metadata is not None and created.metadata.labels == {"team": "a"}
    body = katib.get_experiment("openapi").dump()
    assert body["spec"] == {
        "objective": {"type": "minimize", "objectiveMetricName": "loss"},
        "parameters": [
            {"name": "lr", "parameterType": "double", "feasibleSpace": {"min": "0.1", "max": "0.2"}}
        ],
        "maxTrialCount": 5,
    }


def test_package_exports() -> None:
    import katib_py.sdk as katib_module

    assert katib_module.KatibClient is KatibClient
    assert katib_module.search.int(1, 2).parameter_type == "int"
    assert katib_module.constants.EXPERIMENT_LABEL == "katib.kubeflow.org/experiment"
    assert katib_module.constants.DEFAULT_DB_MANAGER_ADDRESS == "katib-db-manager.kubeflow:6789"
    assert katib_module.report_metrics is report_metrics
    assert katib_module.TrainerResources(1, 1, {}).num_workers == 1
    assert katib_module.V1beta1Experiment is Experiment
    assert katib_module.BASE_IMAGE_PYTORCH.startswith("docker.io/pytorch/pytorch:")
