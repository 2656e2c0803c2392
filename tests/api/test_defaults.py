"""Defaulting as spec 1.6 (Katib's Experiment.SetDefault) and the admission JSON patch."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import pytest

from katib_py.api.defaults import apply_defaults, default_patch
from katib_py.api.models import Experiment

Raw = dict[str, Any]


def defaulted(raw: Raw) -> Raw:
    return apply_defaults(Experiment.load(raw)).dump()


def test_counts_policy_collector_distribution(base: Raw) -> None:
    del base["spec"]["parallelTrialCount"]
    out = defaulted(base)["spec"]
    assert out["parallelTrialCount"] == 3
    assert out["resumePolicy"] == "Never"
    assert out["metricsCollectorSpec"] == {"collector": {"kind": "StdOut"}}
    assert [p["feasibleSpace"]["distribution"] for p in out["parameters"]] == ["uniform"] * 3


def test_set_values_are_kept(base: Raw) -> None:
    base["spec"]["resumePolicy"] = "LongRunning"
    base["spec"]["parameters"][0]["feasibleSpace"]["distribution"] = "logUniform"
    out = defaulted(base)["spec"]
    assert out["parallelTrialCount"] == 2
    assert out["resumePolicy"] == "LongRunning"
    assert out["parameters"][0]["feasibleSpace"]["distribution"] == "logUniform"


@pytest.mark.parametrize(
    ("direction", "strategy"), [("maximize", "max"), ("minimize", "min"), ("", "latest")]
)
def test_metric_strategies_follow_objective_direction(base: Raw, direction: str, strategy: str) -> None:
    base["spec"]["objective"]["type"] = direction
    base["spec"]["objective"]["additionalMetricNames"] = ["loss", "f1"]
    out = defaulted(base)["spec"]["objective"]["metricStrategies"]
    assert out == [{"name": n, "value": strategy} for n in ("accuracy", "loss", "f1")]


def test_existing_strategies_are_kept_and_not_duplicated(base: Raw) -> None:
    base["spec"]["objective"]["metricStrategies"] = [{"name": "loss", "value": "latest"}]
    out = defaulted(base)["spec"]["objective"]["metricStrategies"]
    assert out == [{"name": "loss", "value": "latest"}, {"name": "accuracy", "value": "max"}]


def test_job_conditions(base: Raw) -> None:
    tt = defaulted(base)["spec"]["trialTemplate"]
    assert tt["successCondition"] == 'status.conditions.#(type=="Complete")#|#(status=="True")#'
    assert tt["failureCondition"] == 'status.conditions.#(type=="Failed")#|#(status=="True")#'
    assert "primaryPodLabels" not in tt


@pytest.mark.parametrize("kind", ["TFJob", "PyTorchJob", "XGBoostJob", "MPIJob"])
def test_kubeflow_training_job_defaults_keyed_on_kind_only(base: Raw, kind: str) -> None:
    base["spec"]["trialTemplate"]["trialSpec"].update(apiVersion="example.com/v9", kind=kind)
    tt = defaulted(base)["spec"]["trialTemplate"]
    assert tt["successCondition"] == 'status.conditions.#(type=="Succeeded")#|#(status=="True")#'
    assert tt["failureCondition"] == 'status.conditions.#(type=="Failed")#|#(status=="True")#'
    assert tt["primaryPodLabels"] == {"training.kubeflow.org/job-role": "master"}


def test_trainjob_defaults(base: Raw) -> None:
    base["spec"]["trialTemplate"]["trialSpec"].update(
        apiVersion="trainer.kubeflow.org/v1alpha1", kind="TrainJob"
    )
    tt = defaulted(base)["spec"]["trialTemplate"]
    assert tt["successCondition"] == 'status.conditions.#(type=="Complete")#|#(status=="True")#'
    assert tt["primaryPodLabels"] == {
        "jobset.sigs.k8s.io/replicatedjob-name": "node",
        "batch.kubernetes.io/job-completion-index": "0",
    }


def test_user_conditions_and_labels_win(base: Raw) -> None:
    tt = base["spec"]["trialTemplate"]
    tt["trialSpec"]["kind"] = "PyTorchJob"
    tt.update(successCondition="s", failureCondition="f", primaryPodLabels={"role": "x"})
    out = defaulted(base)["spec"]["trialTemplate"]
    assert (out["successCondition"], out["failureCondition"], out["primaryPodLabels"]) == (
        "s",
        "f",
        {"role": "x"},
    )


def test_configmap_source_gets_no_conditions(base: Raw) -> None:
    tt = base["spec"]["trialTemplate"]
    del tt["trialSpec"]
    tt["configMap"] = {"configMapName": "t", "configMapNamespace": "kubeflow", "templatePath": "p"}
    out = defaulted(base)["spec"]["trialTemplate"]
    assert "successCondition" not in out and "failureCondition" not in out


def test_unknown_kind_gets_no_conditions(base: Raw) -> None:
    base["spec"]["trialTemplate"]["trialSpec"]["kind"] = "Workflow"
    assert "successCondition" not in defaulted(base)["spec"]["trialTemplate"]


@pytest.mark.parametrize(
    ("kind", "source", "expected"),
    [
        (
            "File",
            None,
            {"fileSystemPath": {"kind": "File", "path": "/var/log/katib/metrics.log", "format": "TEXT"}},
        ),
        (
            "File",
            {"fileSystemPath": {"path": "/m.json", "format": "JSON"}},
            {"fileSystemPath": {"path": "/m.json", "format": "JSON", "kind": "File"}},
        ),
        (
            "TensorFlowEvent",
            None,
            {"fileSystemPath": {"kind": "Directory", "path": "/var/log/katib/tfevent/"}},
        ),
        ("PrometheusMetric", None, {"httpGet": {"path": "/metrics", "port": 8080}}),
        ("PrometheusMetric", {"httpGet": {"port": 9090}}, {"httpGet": {"port": 9090, "path": "/metrics"}}),
        ("StdOut", None, None),
        ("Push", None, None),
    ],
)
def test_collector_source_defaults(base: Raw, kind: str, source: Raw | None, expected: Raw | None) -> None:
    base["spec"]["metricsCollectorSpec"] = {"collector": {"kind": kind}}
    if source is not None:
        base["spec"]["metricsCollectorSpec"]["source"] = source
    out = defaulted(base)["spec"]["metricsCollectorSpec"]
    assert out.get("source") == expected


def test_pure_returns_new_object(base: Raw) -> None:
    exp = Experiment.load(base)
    before = copy.deepcopy(exp.dump())
    out = apply_defaults(exp)
    assert exp.dump() == before
    assert out is not exp and out.dump() != before


def test_idempotent(base: Raw) -> None:
    once = defaulted(base)
    assert defaulted(once) == once


def test_patch_turns_raw_into_defaulted(base: Raw) -> None:
    ops = default_patch(base)
    assert ops, "the base object lacks defaults, so there must be ops"
    assert jsonpatch.apply_patch(base, ops) == defaulted(base)
    assert all(op["op"] in ("add", "replace") for op in ops)


def test_patch_of_defaulted_object_is_empty(base: Raw) -> None:
    assert default_patch(defaulted(base)) == []


def test_unknown_fields_survive_defaulting(base: Raw) -> None:
    base["spec"]["futureField"] = {"a": 1}
    assert defaulted(base)["spec"]["futureField"] == {"a": 1}
    assert not any(op["path"].startswith("/spec/futureField") for op in default_patch(base))


def test_patch_does_not_retype_numbers(base: Raw) -> None:
    base["spec"]["objective"]["goal"] = 1
    ops = default_patch(base)
    assert not any(op["path"] == "/spec/objective/goal" for op in ops)
    assert jsonpatch.apply_patch(base, ops)["spec"]["objective"]["goal"] == 1
