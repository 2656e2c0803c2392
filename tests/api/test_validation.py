"""Every validation rule of spec 1.7 and the section-0 fixes 5, 6 and 9, each with its message."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest

from katib_py.api.config import load_katib_config
from katib_py.api.defaults import apply_defaults
from katib_py.api.models import Experiment
from katib_py.api.validation import FieldError, load_experiment, validate_experiment

Raw = dict[str, Any]

# ---------------------------------------------------------------- helpers

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _walk(raw: Raw, path: str) -> tuple[Any, str | int]:
    parts: list[str | int] = [int(i) if i else name for name, i in _TOKEN.findall(path)]
    node: Any = raw
    for part in parts[:-1]:
        if isinstance(part, str) and part not in node:
            node[part] = {}
        node = node[part]
    return node, parts[-1]


def steps(*fns: Callable[[Raw], object]) -> Callable[[Raw], None]:
    """One mutation made of several."""

    def run(raw: Raw) -> None:
        for fn in fns:
            fn(raw)

    return run


def setp(raw: Raw, path: str, value: Any) -> None:
    node, last = _walk(raw, path)
    node[last] = value


def delp(raw: Raw, path: str) -> None:
    node, last = _walk(raw, path)
    del node[last]


def errors_of(raw: Raw, **kwargs: Any) -> list[FieldError]:
    """What the webhooks would answer: load, default, validate."""
    exp, errors = load_experiment(raw)
    if exp is None:
        return errors
    return validate_experiment(apply_defaults(exp), **kwargs)


def container(raw: Raw) -> Raw:
    c: Raw = raw["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]
    return c


def settings(raw: Raw, algorithm: str, pairs: list[tuple[str, str]]) -> None:
    raw["spec"]["algorithm"] = {
        "algorithmName": algorithm,
        "algorithmSettings": [{"name": n, "value": v} for n, v in pairs],
    }


def hyperband(raw: Raw, r_l: str = "3", eta: str = "3", resource: str = "hidden") -> None:
    settings(raw, "hyperband", [("resource_name", resource), ("eta", eta), ("r_l", r_l)])
    raw["spec"]["parallelTrialCount"] = 3


def pbt(raw: Raw) -> None:
    settings(
        raw,
        "pbt",
        [("suggestion_trial_dir", "/ckpt"), ("n_population", "5"), ("truncation_threshold", "0.4")],
    )
    raw["spec"]["resumePolicy"] = "FromVolume"
    raw["spec"]["parameters"][0]["feasibleSpace"]["step"] = "0.01"
    raw["spec"]["parameters"][1]["feasibleSpace"]["step"] = "1"


def collector(raw: Raw, kind: str, source: Raw | None = None, **extra: Any) -> None:
    raw["spec"]["metricsCollectorSpec"] = {"collector": {"kind": kind, **extra}}
    if source is not None:
        raw["spec"]["metricsCollectorSpec"]["source"] = source


def param(raw: Raw, i: int) -> Raw:
    p: Raw = raw["spec"]["parameters"][i]
    return p


PROMETHEUS_CONFIG = load_katib_config(
    """
apiVersion: config.kubeflow.org/v1beta1
kind: KatibConfig
runtime:
  suggestions: [{algorithmName: random, image: x}]
  metricsCollectors: [{kind: PrometheusMetric, image: x}]
"""
)

# ---------------------------------------------------------------- the invalid corpus
# (id, mutation, expected path, expected message fragment, validate kwargs)

Case = tuple[str, Callable[[Raw], object], str, str]

CASES: list[Case] = [
    # rule 1 + fix 5: anchored DNS-1035 label, at most 40 characters
    (
        "name-uppercase",
        lambda r: setp(r, "metadata.name", "MyExp"),
        "metadata.name",
        "lower case alphanumeric",
    ),
    (
        "name-trailing-dash",
        lambda r: setp(r, "metadata.name", "exp-"),
        "metadata.name",
        "end with an alphanumeric",
    ),
    (
        "name-underscore",
        lambda r: setp(r, "metadata.name", "exp_1"),
        "metadata.name",
        "regex used for validation",
    ),
    (
        "name-leading-digit",
        lambda r: setp(r, "metadata.name", "1exp"),
        "metadata.name",
        "start with an alphabetic",
    ),
    (
        "name-too-long",
        lambda r: setp(r, "metadata.name", "a" * 41),
        "metadata.name",
        "no more than 40 characters",
    ),
    ("name-missing", lambda r: delp(r, "metadata.name"), "metadata.name", "must be specified"),
    (
        "name-trailing-newline",
        lambda r: setp(r, "metadata.name", "exp\n"),
        "metadata.name",
        "lower case alphanumeric",
    ),
    (
        "list-of-numbers",
        lambda r: setp(r, "spec.parameters[2].feasibleSpace.list", [16, 32]),
        "spec.parameters[2].feasibleSpace.list[0]",
        "must be a string, got 16",
    ),
    # rules 2-3: counts
    (
        "max-failed-negative",
        lambda r: setp(r, "spec.maxFailedTrialCount", -1),
        "spec.maxFailedTrialCount",
        "should not be less than 0",
    ),
    (
        "max-trials-zero",
        lambda r: setp(r, "spec.maxTrialCount", 0),
        "spec.maxTrialCount",
        "must be greater than 0",
    ),
    (
        "parallel-zero",
        lambda r: setp(r, "spec.parallelTrialCount", 0),
        "spec.parallelTrialCount",
        "must be greater than 0",
    ),
    (
        "max-failed-above-max",
        lambda r: setp(r, "spec.maxFailedTrialCount", 7),
        "spec.maxFailedTrialCount",
        "should be less than or equal to spec.maxTrialCount",
    ),
    (
        "parallel-above-max",
        lambda r: setp(r, "spec.parallelTrialCount", 7),
        "spec.parallelTrialCount",
        "should be less than or equal to spec.maxTrialCount",
    ),
    (
        "parallel-not-a-number",
        lambda r: setp(r, "spec.parallelTrialCount", "three"),
        "spec.parallelTrialCount",
        "must be an integer",
    ),
    # rule 5: objective
    ("objective-missing", lambda r: delp(r, "spec.objective"), "spec.objective", "must be specified"),
    (
        "objective-type",
        lambda r: setp(r, "spec.objective.type", "maximise"),
        "spec.objective.type",
        "must be minimize or maximize",
    ),
    (
        "objective-type-missing",
        lambda r: delp(r, "spec.objective.type"),
        "spec.objective.type",
        "must be minimize or maximize",
    ),
    (
        "objective-metric-missing",
        lambda r: delp(r, "spec.objective.objectiveMetricName"),
        "spec.objective.objectiveMetricName",
        "must be specified",
    ),
    (
        "additional-has-objective",
        lambda r: setp(r, "spec.objective.additionalMetricNames", ["loss", "accuracy"]),
        "spec.objective.additionalMetricNames",
        "should not contain spec.objective.objectiveMetricName",
    ),
    (
        "additional-duplicate",
        lambda r: setp(r, "spec.objective.additionalMetricNames", ["loss", "loss"]),
        "spec.objective.additionalMetricNames[1]",
        "duplicate metric name",
    ),
    (
        "goal-not-a-number",
        lambda r: setp(r, "spec.objective.goal", "high"),
        "spec.objective.goal",
        "must be a number",
    ),
    (
        "goal-nan",
        lambda r: setp(r, "spec.objective.goal", float("nan")),
        "spec.objective.goal",
        "must be a finite number",
    ),
    (
        "strategy-value",
        lambda r: setp(r, "spec.objective.metricStrategies", [{"name": "loss", "value": "maximum"}]),
        "spec.objective.metricStrategies[0].value",
        "must be min, max or latest",
    ),
    (
        "strategy-name",
        lambda r: setp(r, "spec.objective.metricStrategies", [{"name": "f1", "value": "max"}]),
        "spec.objective.metricStrategies[0].name",
        "neither the objective nor an additional metric",
    ),
    # rule 6: algorithm
    ("algorithm-missing", lambda r: delp(r, "spec.algorithm"), "spec.algorithm", "must be specified"),
    (
        "algorithm-name-empty",
        lambda r: setp(r, "spec.algorithm.algorithmName", ""),
        "spec.algorithm.algorithmName",
        "must be specified",
    ),
    (
        "algorithm-unknown",
        lambda r: setp(r, "spec.algorithm.algorithmName", "annealing"),
        "spec.algorithm.algorithmName",
        "unable to get Suggestion config data for algorithm annealing",
    ),
    (
        "setting-unknown",
        lambda r: settings(r, "random", [("seed", "1")]),
        "spec.algorithm.algorithmSettings[0]",
        "unknown setting 'seed' for algorithm random",
    ),
    (
        "setting-out-of-range",
        lambda r: settings(r, "tpe", [("gamma", "1.5")]),
        "spec.algorithm.algorithmSettings[0]",
        "setting gamma: must be a number > 0 and < 1",
    ),
    (
        "setting-not-int",
        lambda r: settings(r, "random", [("random_state", "x")]),
        "spec.algorithm.algorithmSettings[0]",
        "setting random_state: must be an integer >= 0",
    ),
    (
        "setting-choice",
        lambda r: settings(r, "bayesianoptimization", [("base_estimator", "XGB")]),
        "spec.algorithm.algorithmSettings[0]",
        "must be one of GP, RF, ET,",
    ),
    (
        "hyperband-no-r_l",
        lambda r: settings(r, "hyperband", [("resource_name", "hidden")]),
        "spec.algorithm.algorithmSettings",
        "algorithm hyperband requires setting 'r_l'",
    ),
    (
        "hyperband-resource-not-param",
        lambda r: hyperband(r, resource="epochs"),
        "spec.algorithm.algorithmSettings",
        "resource_name 'epochs' must be the name of a spec.parameters entry",
    ),
    (
        "hyperband-parallel",
        lambda r: hyperband(r, r_l="9"),
        "spec.parallelTrialCount",
        "needs parallelTrialCount >= 9, got 3",
    ),
    (
        "pbt-needs-from-volume",
        steps(lambda r: pbt(r), lambda r: delp(r, "spec.resumePolicy")),
        "spec.resumePolicy",
        "algorithm pbt requires resumePolicy FromVolume",
    ),
    (
        "pbt-needs-step",
        steps(lambda r: pbt(r), lambda r: delp(r, "spec.parameters[0].feasibleSpace.step")),
        "spec.parameters[0].feasibleSpace.step",
        "algorithm pbt needs a step for int and double",
    ),
    (
        "cmaes-one-numeric",
        steps(lambda r: settings(r, "cmaes", []), lambda r: r["spec"]["parameters"].pop(1)),
        "spec.parameters",
        "algorithm cmaes needs at least 2 int or double parameters",
    ),
    (
        "grid-double-step",
        lambda r: settings(r, "grid", []),
        "spec.parameters[0].feasibleSpace.step",
        "algorithm grid needs a step for double",
    ),
    (
        "parallel-trial-count-bounded",
        lambda r: (
            setp(r, "spec.parallelTrialCount", 1_000_000_000) or setp(r, "spec.maxTrialCount", 2_000_000_000)
        ),
        "spec.parallelTrialCount",
        "must be at most 1000 (trials running at once in one experiment), got 1000000000",
    ),
    (
        "grid-more-trials-than-combinations",  # 2 lr x 49 hidden x 2 optimizers
        steps(
            lambda r: settings(r, "grid", []),
            lambda r: setp(r, "spec.parameters[0].feasibleSpace.step", "0.05"),
            lambda r: setp(r, "spec.maxTrialCount", 500),
        ),
        "spec.maxTrialCount",
        "maxTrialCount 500 is greater than the 196 grid combinations",
    ),
    # rule 7: early stopping
    (
        "early-stopping-name-empty",
        lambda r: setp(r, "spec.earlyStopping", {"algorithmName": ""}),
        "spec.earlyStopping.algorithmName",
        "must be specified",
    ),
    (
        "early-stopping-unknown",
        lambda r: setp(r, "spec.earlyStopping", {"algorithmName": "truncation"}),
        "spec.earlyStopping.algorithmName",
        "unable to get EarlyStopping config data for algorithm truncation",
    ),
    (
        "early-stopping-setting",
        lambda r: setp(
            r,
            "spec.earlyStopping",
            {
                "algorithmName": "medianstop",
                "algorithmSettings": [{"name": "min_trials_required", "value": "0"}],
            },
        ),
        "spec.earlyStopping.algorithmSettings[0]",
        "setting min_trials_required: must be an integer > 0",
    ),
    # rule 8: resume policy
    (
        "resume-policy",
        lambda r: setp(r, "spec.resumePolicy", "Always"),
        "spec.resumePolicy",
        "invalid ResumePolicyType 'Always'",
    ),
    # rule 9: trial template
    ("template-missing", lambda r: delp(r, "spec.trialTemplate"), "spec.trialTemplate", "must be specified"),
    (
        "primary-container-missing",
        lambda r: delp(r, "spec.trialTemplate.primaryContainerName"),
        "spec.trialTemplate.primaryContainerName",
        "must be specified",
    ),
    (
        "conditions-missing",
        lambda r: setp(r, "spec.trialTemplate.trialSpec.kind", "Workflow"),
        "spec.trialTemplate.successCondition",
        "successCondition and failureCondition must be specified",
    ),
    (
        "failure-condition-missing",
        steps(
            lambda r: setp(r, "spec.trialTemplate.trialSpec.kind", "Workflow"),
            lambda r: setp(r, "spec.trialTemplate.successCondition", "status.succeeded"),
        ),
        "spec.trialTemplate.failureCondition",
        "successCondition and failureCondition must be specified",
    ),
    (
        "trial-parameters-missing",
        lambda r: delp(r, "spec.trialTemplate.trialParameters"),
        "spec.trialTemplate.trialParameters",
        "must be specified",
    ),
    (
        "source-missing",
        lambda r: delp(r, "spec.trialTemplate.trialSpec"),
        "spec.trialTemplate",
        "spec.trialTemplate.trialSpec or spec.trialTemplate.configMap must be specified",
    ),
    (
        "source-both",
        lambda r: setp(r, "spec.trialTemplate.configMap", {"configMapName": "t"}),
        "spec.trialTemplate",
        "only one of spec.trialTemplate.trialSpec or spec.trialTemplate.configMap can be specified",
    ),
    (
        "configmap-incomplete",
        steps(
            lambda r: delp(r, "spec.trialTemplate.trialSpec"),
            lambda r: setp(
                r, "spec.trialTemplate.configMap", {"configMapName": "t", "configMapNamespace": "kubeflow"}
            ),
        ),
        "spec.trialTemplate.configMap.templatePath",
        "configMapName, configMapNamespace and templatePath must be specified",
    ),
    (
        "configmap-no-name",
        steps(
            lambda r: delp(r, "spec.trialTemplate.trialSpec"),
            lambda r: setp(
                r, "spec.trialTemplate.configMap", {"configMapNamespace": "kubeflow", "templatePath": "t"}
            ),
        ),
        "spec.trialTemplate.configMap.configMapName",
        "configMapName, configMapNamespace and templatePath must be specified",
    ),
    (
        "trial-parameter-no-reference",
        lambda r: delp(r, "spec.trialTemplate.trialParameters[0].reference"),
        "spec.trialTemplate.trialParameters[0]",
        "name and reference must be specified",
    ),
    (
        "trial-parameter-brace",
        lambda r: setp(r, "spec.trialTemplate.trialParameters[0].name", "lr}"),
        "spec.trialTemplate.trialParameters[0]",
        "name must not contain '{' or '}'",
    ),
    (
        "trial-parameter-duplicate-name",
        lambda r: setp(r, "spec.trialTemplate.trialParameters[1].name", "learningRate"),
        "spec.trialTemplate.trialParameters[1].name",
        "parameter name learningRate can't be duplicated",
    ),
    (
        "trial-parameter-duplicate-ref",
        lambda r: setp(r, "spec.trialTemplate.trialParameters[1].reference", "lr"),
        "spec.trialTemplate.trialParameters[1].reference",
        "parameter reference lr can't be duplicated",
    ),
    (
        "trial-parameter-bad-ref",
        lambda r: setp(r, "spec.trialTemplate.trialParameters[0].reference", "rate"),
        "spec.trialTemplate.trialParameters[0].reference",
        "parameter reference rate does not exist in spec.parameters",
    ),
    (
        "trial-parameter-unused",
        lambda r: container(r)["command"].pop(3),
        "spec.trialTemplate.trialParameters[0].name",
        "parameter name: learningRate in spec.trialParameters not found in spec.trialTemplate",
    ),
    (
        "template-placeholder-unknown",
        lambda r: container(r)["command"].append("--epochs=${trialParameters.epochs}"),
        "spec.trialTemplate.trialSpec.spec.template.spec.containers[0].command[6]",
        "parameters: ${trialParameters.epochs} in spec.trialTemplate not found in spec.trialParameters",
    ),
    (
        "template-placeholder-in-a-key",
        lambda r: setp(r, "spec.trialTemplate.trialSpec.metadata", {"labels": {"${trialParameters.x}": "v"}}),
        "spec.trialTemplate.trialSpec.metadata.labels[${trialParameters.x}]",
        "parameters: ${trialParameters.x} in spec.trialTemplate not found in spec.trialParameters",
    ),
    (
        "template-has-name",
        lambda r: setp(r, "spec.trialTemplate.trialSpec.metadata", {"name": "job"}),
        "spec.trialTemplate.trialSpec.metadata.name",
        "metadata.name and metadata.namespace in spec.trialTemplate must be omitted",
    ),
    (
        "template-has-namespace",
        lambda r: setp(r, "spec.trialTemplate.trialSpec.metadata", {"namespace": "team-a"}),
        "spec.trialTemplate.trialSpec.metadata.namespace",
        "metadata.name and metadata.namespace in spec.trialTemplate must be omitted",
    ),
    (
        "template-no-kind",
        lambda r: delp(r, "spec.trialTemplate.trialSpec.kind"),
        "spec.trialTemplate.trialSpec.kind",
        "APIVersion and Kind in spec.trialTemplate must be specified",
    ),
    (
        "template-no-api-version",
        lambda r: delp(r, "spec.trialTemplate.trialSpec.apiVersion"),
        "spec.trialTemplate.trialSpec.apiVersion",
        "APIVersion and Kind in spec.trialTemplate must be specified",
    ),
    (
        "job-unknown-field",
        lambda r: container(r).__setitem__("comand", ["x"]),
        "spec.trialTemplate.trialSpec.spec.template.spec.containers[0].comand",
        "unknown field 'comand'",
    ),
    (
        "job-wrong-type",
        lambda r: setp(r, "spec.trialTemplate.trialSpec.spec.backoffLimit", "three"),
        "spec.trialTemplate.trialSpec.spec.backoffLimit",
        "invalid batch/v1 Job: must be an integer",
    ),
    (
        "job-env-number",
        lambda r: container(r).__setitem__("env", [{"name": "N", "value": 1}]),
        "spec.trialTemplate.trialSpec.spec.template.spec.containers[0].env[0].value",
        "must be a string",
    ),
    # rule 10
    (
        "no-parameters",
        lambda r: delp(r, "spec.parameters"),
        "spec",
        "spec.parameters or spec.nasConfig must be specified",
    ),
    (
        "parameters-and-nas",
        lambda r: setp(r, "spec.nasConfig", {"graphConfig": {"numLayers": 2}}),
        "spec",
        "only one of spec.parameters and spec.nasConfig can be specified",
    ),
    # rule 11: parameters, plus what Katib forgets
    (
        "parameter-type-float",
        lambda r: setp(r, "spec.parameters[0].parameterType", "float"),
        "spec.parameters[0].parameterType",
        "parameterType: 'float' is not supported",
    ),
    (
        "parameter-type-missing",
        lambda r: delp(r, "spec.parameters[0].parameterType"),
        "spec.parameters[0].parameterType",
        "parameterType: None is not supported",
    ),
    (
        "parameter-type-unknown",
        lambda r: setp(r, "spec.parameters[0].parameterType", "unknown"),
        "spec.parameters[0].parameterType",
        "unknown is not supported by any algorithm",
    ),
    (
        "distribution-unknown-name",
        lambda r: setp(r, "spec.parameters[0].feasibleSpace.distribution", "gaussian"),
        "spec.parameters[0].feasibleSpace.distribution",
        "distribution: 'gaussian' is not supported",
    ),
    (
        "feasible-space-missing",
        lambda r: delp(r, "spec.parameters[0].feasibleSpace"),
        "spec.parameters[0].feasibleSpace",
        "feasibleSpace must be specified",
    ),
    (
        "double-with-list",
        lambda r: setp(r, "spec.parameters[0].feasibleSpace.list", ["0.1"]),
        "spec.parameters[0].feasibleSpace.list",
        "feasibleSpace.list is not supported for parameterType: double",
    ),
    (
        "double-no-max",
        lambda r: delp(r, "spec.parameters[0].feasibleSpace.max"),
        "spec.parameters[0].feasibleSpace.max",
        "feasibleSpace.max or feasibleSpace.min must be specified",
    ),
    (
        "categorical-with-min",
        lambda r: setp(r, "spec.parameters[2].feasibleSpace.min", "1"),
        "spec.parameters[2].feasibleSpace",
        "feasibleSpace .max, .min and .step is not supported",
    ),
    (
        "min-not-a-number",
        lambda r: setp(r, "spec.parameters[0].feasibleSpace.min", "abc"),
        "spec.parameters[0].feasibleSpace.min",
        "must be a number for parameterType double, got 'abc'",
    ),
    (
        "int-min-fraction",
        lambda r: setp(r, "spec.parameters[1].feasibleSpace.min", "1.5"),
        "spec.parameters[1].feasibleSpace.min",
        "must be an integer for parameterType int, got '1.5'",
    ),
    (
        "int-max-not-number",
        lambda r: setp(r, "spec.parameters[1].feasibleSpace.max", "many"),
        "spec.parameters[1].feasibleSpace.max",
        "must be an integer for parameterType int",
    ),
    (
        "min-above-max",
        lambda r: setp(r, "spec.parameters[0].feasibleSpace.min", "0.5"),
        "spec.parameters[0].feasibleSpace.min",
        "must be less than feasibleSpace.max (0.1), got 0.5",
    ),
    (
        "min-equals-max",
        lambda r: setp(r, "spec.parameters[1].feasibleSpace.min", "64"),
        "spec.parameters[1].feasibleSpace.min",
        "must be less than feasibleSpace.max",
    ),
    (
        "step-zero",
        lambda r: setp(r, "spec.parameters[0].feasibleSpace.step", "0"),
        "spec.parameters[0].feasibleSpace.step",
        "must be greater than 0",
    ),
    (
        "step-negative-int",
        lambda r: setp(r, "spec.parameters[1].feasibleSpace.step", "-2"),
        "spec.parameters[1].feasibleSpace.step",
        "must be greater than 0",
    ),
    (
        "step-not-a-number",
        lambda r: setp(r, "spec.parameters[0].feasibleSpace.step", "small"),
        "spec.parameters[0].feasibleSpace.step",
        "must be a number",
    ),
    (
        "log-uniform-min-zero",
        steps(
            lambda r: setp(r, "spec.parameters[0].feasibleSpace.min", "0"),
            lambda r: setp(r, "spec.parameters[0].feasibleSpace.distribution", "logUniform"),
        ),
        "spec.parameters[0].feasibleSpace.min",
        "must be greater than 0 for distribution logUniform",
    ),
    (
        "categorical-empty",
        lambda r: setp(r, "spec.parameters[2].feasibleSpace.list", []),
        "spec.parameters[2].feasibleSpace.list",
        "must list at least one value",
    ),
    (
        "categorical-duplicate",
        lambda r: setp(r, "spec.parameters[2].feasibleSpace.list", ["sgd", "sgd"]),
        "spec.parameters[2].feasibleSpace.list[1]",
        "duplicate value 'sgd'",
    ),
    (
        "discrete-not-number",
        lambda r: setp(
            r,
            "spec.parameters[2]",
            {"name": "optimizer", "parameterType": "discrete", "feasibleSpace": {"list": ["32", "big"]}},
        ),
        "spec.parameters[2].feasibleSpace.list[1]",
        "must be a number for parameterType discrete",
    ),
    (
        "categorical-log-uniform",
        lambda r: setp(r, "spec.parameters[2].feasibleSpace.distribution", "logUniform"),
        "spec.parameters[2].feasibleSpace.distribution",
        "applies only to int and double parameters",
    ),
    (
        "parameter-duplicate-name",
        lambda r: setp(r, "spec.parameters[1].name", "lr"),
        "spec.parameters[1].name",
        "duplicate parameter name 'lr'",
    ),
    (
        "parameter-name-missing",
        lambda r: delp(r, "spec.parameters[0].name"),
        "spec.parameters[0].name",
        "must be specified",
    ),
    # fix 9: distributions honoured by the algorithm or rejected
    (
        "grid-normal",
        steps(
            lambda r: settings(r, "grid", []),
            lambda r: setp(r, "spec.parameters[1].feasibleSpace.distribution", "normal"),
        ),
        "spec.parameters[1].feasibleSpace.distribution",
        "distribution normal is not supported by algorithm grid "
        "(supported for int and double: uniform, logUniform)",
    ),
    (
        "hyperband-log-normal",
        steps(
            lambda r: hyperband(r),
            lambda r: setp(r, "spec.parameters[0].feasibleSpace.distribution", "logNormal"),
        ),
        "spec.parameters[0].feasibleSpace.distribution",
        "distribution logNormal is not supported by algorithm hyperband",
    ),
    # rule 12 + fix 6: metrics collector
    (
        "collector-kind",
        lambda r: collector(r, "Stdout"),
        "spec.metricsCollectorSpec.collector.kind",
        "invalid metrics collector kind: 'Stdout'",
    ),
    (
        "stdout-filter-regex",
        lambda r: collector(r, "StdOut", {"filter": {"metricsFormat": ["([\\w+=("]}}),
        "spec.metricsCollectorSpec.source.filter.metricsFormat[0]",
        "invalid filter",
    ),
    (
        "stdout-filter-one-group",
        lambda r: collector(r, "StdOut", {"filter": {"metricsFormat": ["(\\w+)=\\d+"]}}),
        "spec.metricsCollectorSpec.source.filter.metricsFormat[0]",
        "two top subexpressions are required",
    ),
    (
        "file-relative-path",
        lambda r: collector(r, "File", {"fileSystemPath": {"path": "m.log", "kind": "File"}}),
        "spec.metricsCollectorSpec.source.fileSystemPath.path",
        "file path where metrics file exists is required",
    ),
    (
        "file-kind-directory",
        lambda r: collector(r, "File", {"fileSystemPath": {"path": "/m", "kind": "Directory"}}),
        "spec.metricsCollectorSpec.source.fileSystemPath.path",
        "file path where metrics file exists is required",
    ),
    (
        "file-format",
        lambda r: collector(r, "File", {"fileSystemPath": {"path": "/m", "kind": "File", "format": "XML"}}),
        "spec.metricsCollectorSpec.source.fileSystemPath.format",
        "format of metrics file is required",
    ),
    (
        "file-json-filter",
        lambda r: collector(
            r,
            "File",
            {
                "fileSystemPath": {"path": "/m", "kind": "File", "format": "JSON"},
                "filter": {"metricsFormat": ["(\\w+)=(\\d+)"]},
            },
        ),
        "spec.metricsCollectorSpec.source.filter",
        "filter must be nil when format of metrics file is json",
    ),
    (
        "file-filter-regex",
        lambda r: collector(r, "File", {"filter": {"metricsFormat": ["(a)(b"]}}),
        "spec.metricsCollectorSpec.source.filter.metricsFormat[0]",
        "invalid filter",
    ),
    (
        "tfevent-kind-file",
        lambda r: collector(r, "TensorFlowEvent", {"fileSystemPath": {"path": "/l", "kind": "File"}}),
        "spec.metricsCollectorSpec.source",
        "directory path where tensorflow event files exist is required",
    ),
    (
        "tfevent-format",
        lambda r: collector(r, "TensorFlowEvent", {"fileSystemPath": {"format": "TEXT"}}),
        "spec.metricsCollectorSpec.source.fileSystemPath.format",
        "must be empty, got 'TEXT'",
    ),
    (
        "prometheus-not-configured",
        lambda r: collector(r, "PrometheusMetric"),
        "spec.metricsCollectorSpec.collector.kind",
        "GetMetricsCollectorConfigData failed",
    ),
    (
        "custom-no-container",
        lambda r: collector(r, "Custom"),
        "spec.metricsCollectorSpec.collector.customCollector",
        "metrics collector kind: Custom is required",
    ),
    (
        "custom-relative-path",
        lambda r: collector(
            r,
            "Custom",
            {"fileSystemPath": {"path": "x", "kind": "File"}},
            customCollector={"name": "c", "image": "i"},
        ),
        "spec.metricsCollectorSpec.source.fileSystemPath",
        ".spec.metricsCollectorSpec.source is invalid",
    ),
]


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len({c[0] for c in CASES}) == len(CASES)


def test_base_is_valid(base: Raw) -> None:
    assert errors_of(base) == []


@pytest.mark.parametrize(("mutate", "path", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_experiment_rejected_at_path(
    base: Raw, mutate: Callable[[Raw], None], path: str, message: str
) -> None:
    mutate(base)
    errors = errors_of(base)
    matching = [e for e in errors if e.path == path and message in e.message]
    assert matching, f"no error at {path} containing {message!r}; got {[str(e) for e in errors]}"


# ---------------------------------------------------------------- cases needing another config


@pytest.mark.parametrize(
    ("http_get", "path", "message"),
    [
        (
            {"port": -1, "path": "/metrics"},
            "spec.metricsCollectorSpec.source.httpGet.port",
            "must be a positive integer value for metrics collector kind: PrometheusMetric",
        ),
        (
            {"port": "http", "path": "/metrics"},
            "spec.metricsCollectorSpec.source.httpGet.port",
            "must be a positive integer value",
        ),
        (
            {"port": 8080, "path": "metrics"},
            "spec.metricsCollectorSpec.source.httpGet.path",
            "path is invalid for metrics collector kind: PrometheusMetric",
        ),
    ],
)
def test_prometheus_source(base: Raw, http_get: Raw, path: str, message: str) -> None:
    collector(base, "PrometheusMetric", {"httpGet": http_get})
    errors = errors_of(base, config=PROMETHEUS_CONFIG)
    assert [str(e) for e in errors] == [f"{path}: {errors[0].message}"]
    assert message in errors[0].message


def test_prometheus_defaults_are_valid_when_configured(base: Raw) -> None:
    collector(base, "PrometheusMetric")
    assert errors_of(base, config=PROMETHEUS_CONFIG) == []


# ---------------------------------------------------------------- ordering and specific behaviour


def test_error_string_is_path_colon_message() -> None:
    assert (
        str(FieldError("spec.parameters[2].feasibleSpace.min", "bad"))
        == "spec.parameters[2].feasibleSpace.min: bad"
    )


def test_objective_errors_return_immediately(base: Raw) -> None:
    """As in Katib: later rules are not run, but the errors found before the objective are kept."""
    base["metadata"]["name"] = "Bad"
    base["spec"]["objective"]["type"] = "best"
    base["spec"]["algorithm"]["algorithmName"] = "nope"
    base["spec"]["parameters"][0]["feasibleSpace"]["min"] = "x"
    assert [e.path for e in errors_of(base)] == ["metadata.name", "spec.objective.type"]


def test_every_error_is_reported_not_just_the_first(base: Raw) -> None:
    base["spec"]["parameters"][0]["feasibleSpace"]["min"] = "x"
    base["spec"]["parameters"][1]["feasibleSpace"]["step"] = "0"
    base["spec"]["resumePolicy"] = "Sometimes"
    paths = [e.path for e in errors_of(base)]
    assert paths == [
        "spec.resumePolicy",
        "spec.parameters[0].feasibleSpace.min",
        "spec.parameters[1].feasibleSpace.step",
    ]


def test_name_of_exactly_40_characters_is_valid(base: Raw) -> None:
    base["metadata"]["name"] = "a" * 39 + "b"
    assert errors_of(base) == []


def test_generate_name_without_name_is_valid(base: Raw) -> None:
    del base["metadata"]["name"]
    base["metadata"]["generateName"] = "tune-"
    assert errors_of(base) == []


@pytest.mark.parametrize("kind", ["Push", "None"])
def test_push_collector_and_its_old_name_none(base: Raw, kind: str) -> None:
    collector(base, kind)
    assert errors_of(base) == []


def test_stdout_filter_with_two_groups_is_valid(base: Raw) -> None:
    collector(
        base,
        "StdOut",
        {"filter": {"metricsFormat": ["([\\w|-]+)\\s*=\\s*([+-]?\\d*(\\.\\d+)?([Ee][+-]?\\d+)?)"]}},
    )
    assert errors_of(base) == []


def test_meta_key_references_need_no_parameter(base: Raw) -> None:
    base["spec"]["trialTemplate"]["trialParameters"] += [
        {"name": "trialName", "reference": "${trialSpec.Name}"},
        {"name": "appLabel", "reference": "${trialSpec.Labels[app]}"},
    ]
    container(base)["args"] = ["${trialParameters.trialName}", "${trialParameters.appLabel}"]
    assert errors_of(base) == []
    base["spec"]["trialTemplate"]["trialParameters"][-1]["reference"] = "${trialSpec.Owner}"
    assert [e.path for e in errors_of(base)] == ["spec.trialTemplate.trialParameters[4].reference"]


def test_resource_quantities_may_be_numbers(base: Raw) -> None:
    container(base)["resources"] = {
        "limits": {"cpu": 0.5, "nvidia.com/gpu": 1},
        "requests": {"memory": "1Gi"},
    }
    assert errors_of(base) == []


def test_hyperband_resource_may_be_fixed(base: Raw) -> None:
    hyperband(base)
    base["spec"]["parameters"][1]["feasibleSpace"] = {"min": "20", "max": "20"}
    assert errors_of(base) == []
    base["spec"]["parameters"][0]["feasibleSpace"] = {"min": "0.1", "max": "0.1"}
    assert [e.path for e in errors_of(base)] == ["spec.parameters[0].feasibleSpace.min"]


def test_configmap_source_without_loader_checks_only_the_spec(base: Raw) -> None:
    tt = base["spec"]["trialTemplate"]
    del tt["trialSpec"]
    tt["configMap"] = {
        "configMapName": "trial-templates",
        "configMapNamespace": "kubeflow",
        "templatePath": "t",
    }
    errors = errors_of(base)
    message = (
        "successCondition and failureCondition must be specified (they are defaulted only for a trialSpec of "
        "kind Job, TFJob, PyTorchJob, XGBoostJob, MPIJob or TrainJob)"
    )
    assert errors == [
        FieldError("spec.trialTemplate.successCondition", message),
        FieldError("spec.trialTemplate.failureCondition", message),
    ]
    tt["successCondition"] = "status.succeeded"
    tt["failureCondition"] = "status.failed"
    assert errors_of(base) == []


TEMPLATE = """\
apiVersion: batch/v1
kind: Job
spec:
  template:
    spec:
      containers:
        - name: training-container
          image: x
          command: [python3, train.py, --lr=${trialParameters.learningRate},
                    --hidden=${trialParameters.hiddenUnits}, --opt=${trialParameters.optimizer}]
      restartPolicy: Never
"""


def _configmap_raw(base: Raw) -> Raw:
    tt = base["spec"]["trialTemplate"]
    del tt["trialSpec"]
    tt["configMap"] = {
        "configMapName": "trial-templates",
        "configMapNamespace": "kubeflow",
        "templatePath": "job",
    }
    tt["successCondition"] = 'status.conditions.#(type=="Complete")#|#(status=="True")#'
    tt["failureCondition"] = 'status.conditions.#(type=="Failed")#|#(status=="True")#'
    return base


def test_configmap_template_hook_loads_and_checks_the_template(base: Raw) -> None:
    calls: list[tuple[str, str, str]] = []

    def loader(namespace: str, name: str, path: str) -> str | None:
        calls.append((namespace, name, path))
        return TEMPLATE

    assert errors_of(_configmap_raw(base), load_template=loader) == []
    assert calls == [("kubeflow", "trial-templates", "job")]


def test_configmap_template_hook_not_found(base: Raw) -> None:
    errors = errors_of(_configmap_raw(base), load_template=lambda ns, n, p: None)
    assert [str(e) for e in errors] == [
        "spec.trialTemplate.configMap: unable to parse spec.trialTemplate: "
        "ConfigMap kubeflow/trial-templates not found or has no key 'job'"
    ]


def test_configmap_template_that_is_not_yaml(base: Raw) -> None:
    broken = TEMPLATE + "  bad: [unclosed\n"
    errors = errors_of(_configmap_raw(base), load_template=lambda ns, n, p: broken)
    assert len(errors) == 1
    assert errors[0].path == "spec.trialTemplate"
    assert errors[0].message.startswith("unable to convert spec.trialTemplate to an object")


def test_configmap_job_template_is_type_checked(base: Raw) -> None:
    typo = TEMPLATE.replace("restartPolicy", "restartPolice")
    errors = errors_of(_configmap_raw(base), load_template=lambda ns, n, p: typo)
    assert [e.path for e in errors] == ["spec.trialTemplate.spec.template.spec.restartPolice"]


def test_configmap_template_errors_are_placed_in_the_template(base: Raw) -> None:
    """A ConfigMap template's fields are named under spec.trialTemplate, as its Job's fields are."""
    named = TEMPLATE.replace("kind: Job\n", "kind: Job\nmetadata:\n  name: job\n  namespace: team-a\n")
    extra = named.replace(
        "restartPolicy: Never", "restartPolicy: Never\n      priority: ${trialParameters.p}"
    )
    errors = errors_of(_configmap_raw(base), load_template=lambda ns, n, p: extra)
    assert [str(e) for e in errors] == [
        "spec.trialTemplate.spec.template.spec.priority: parameters: ${trialParameters.p} in "
        "spec.trialTemplate not found in spec.trialParameters",
        "spec.trialTemplate.metadata.name: metadata.name and metadata.namespace in spec.trialTemplate "
        "must be omitted",
        "spec.trialTemplate.metadata.namespace: metadata.name and metadata.namespace in spec.trialTemplate "
        "must be omitted",
        "spec.trialTemplate.spec.template.spec.priority: invalid batch/v1 Job: must be an integer",
    ]


def test_trial_spec_name_and_namespace_are_each_named(base: Raw) -> None:
    base["spec"]["trialTemplate"]["trialSpec"]["metadata"] = {"name": "job", "namespace": "team-a"}
    assert [str(e) for e in errors_of(base)] == [
        "spec.trialTemplate.trialSpec.metadata.name: metadata.name and metadata.namespace in "
        "spec.trialTemplate must be omitted",
        "spec.trialTemplate.trialSpec.metadata.namespace: metadata.name and metadata.namespace in "
        "spec.trialTemplate must be omitted",
    ]


def test_every_unknown_placeholder_is_named_where_it_is(base: Raw) -> None:
    c = container(base)
    c["command"].append("--epochs=${trialParameters.epochs} --seed=${trialParameters.seed}")
    c["args"] = ["--batch=${trialParameters.batch}"]
    assert [str(e) for e in errors_of(base)] == [
        "spec.trialTemplate.trialSpec.spec.template.spec.containers[0].command[6]: parameters: "
        "${trialParameters.epochs}, ${trialParameters.seed} in spec.trialTemplate not found in "
        "spec.trialParameters",
        "spec.trialTemplate.trialSpec.spec.template.spec.containers[0].args[0]: parameters: "
        "${trialParameters.batch} in spec.trialTemplate not found in spec.trialParameters",
    ]


def test_other_kinds_are_not_type_checked(base: Raw) -> None:
    ts = base["spec"]["trialTemplate"]["trialSpec"]
    ts["apiVersion"] = "kubeflow.org/v1"
    ts["kind"] = "PyTorchJob"
    ts["spec"]["whatever"] = {"free": "form"}
    assert errors_of(base) == []


# ---------------------------------------------------------------- fix 9: the distribution table

# Written out here independently of katib_py.api.algorithms, from the project's decision.
SUPPORTS_NORMAL = {"random", "tpe", "multivariate-tpe", "cmaes", "sobol", "bayesianoptimization"}
UNIFORM_ONLY = {"grid", "hyperband", "pbt"}


def _for_algorithm(raw: Raw, algorithm: str) -> None:
    if algorithm == "hyperband":
        hyperband(raw)
    elif algorithm == "pbt":
        pbt(raw)
    else:
        settings(raw, algorithm, [])
        if algorithm == "grid":
            raw["spec"]["parameters"][0]["feasibleSpace"]["step"] = "0.01"


@pytest.mark.parametrize("algorithm", sorted(SUPPORTS_NORMAL | UNIFORM_ONLY))
@pytest.mark.parametrize("distribution", ["uniform", "logUniform", "normal", "logNormal"])
@pytest.mark.parametrize("index", [0, 1])
def test_distribution_table(base: Raw, algorithm: str, distribution: str, index: int) -> None:
    _for_algorithm(base, algorithm)
    base["spec"]["parameters"][index]["feasibleSpace"]["distribution"] = distribution
    errors = errors_of(base)
    if algorithm in SUPPORTS_NORMAL or distribution in ("uniform", "logUniform"):
        assert errors == []
    else:
        supported = "uniform, logUniform"
        assert [str(e) for e in errors] == [
            f"spec.parameters[{index}].feasibleSpace.distribution: distribution {distribution} is not "
            f"supported by algorithm {algorithm} (supported for int and double: {supported})"
        ]


# ---------------------------------------------------------------- rule 4: updates


def _stored(raw: Raw, *, condition: str | None = None, reason: str = "", trials: int = 0) -> Experiment:
    exp = apply_defaults(Experiment.load(raw))
    status: Raw = {"trials": trials}
    if condition:
        status["conditions"] = [{"type": condition, "status": "True", "reason": reason}]
    return Experiment.load({**exp.dump(), "status": status})


def _update(raw: Raw, old: Experiment) -> list[str]:
    new = apply_defaults(Experiment.load(raw))
    return [str(e) for e in validate_experiment(new, old=old)]


def test_update_of_counts_while_running_is_allowed(base: Raw) -> None:
    old = _stored(base, condition="Running", trials=3)
    base["spec"]["maxTrialCount"] = 10
    base["spec"]["parallelTrialCount"] = 3
    base["spec"]["maxFailedTrialCount"] = 1
    assert _update(base, old) == []


def test_update_unchanged_spec_is_always_allowed(base: Raw) -> None:
    old = _stored(base, condition="Failed", trials=6)
    assert _update(base, old) == []


def test_update_of_other_fields_is_forbidden(base: Raw) -> None:
    old = _stored(base, condition="Running", trials=1)
    base["spec"]["algorithm"]["algorithmName"] = "tpe"
    base["spec"]["objective"]["goal"] = 0.5
    assert _update(base, old) == [
        "spec: Forbidden: only spec.parallelTrialCount, spec.maxTrialCount, spec.maxFailedTrialCount, "
        "spec.maxDurationSeconds, spec.trialTimeoutSeconds and spec.infraRetryLimit are "
        "editable (changed: spec.algorithm, spec.objective)"
    ]


def test_an_object_stored_without_defaults_is_repaired_by_its_next_update(base: Raw) -> None:
    """Created while the webhooks were down: the defaulted update (the operator adding its
    finalizer) is not a change of spec.metricsCollectorSpec and friends."""
    raw_old = copy.deepcopy(base)
    old = Experiment.load({**raw_old, "status": {"trials": 0}})
    assert old.spec is not None and old.spec.metrics_collector_spec is None  # stored as written
    base["metadata"]["finalizers"] = ["update-prometheus-metrics"]
    assert _update(base, old) == []
    base["spec"]["algorithm"]["algorithmName"] = "tpe"
    assert _update(base, old) == [
        "spec: Forbidden: only spec.parallelTrialCount, spec.maxTrialCount, spec.maxFailedTrialCount, "
        "spec.maxDurationSeconds, spec.trialTimeoutSeconds and spec.infraRetryLimit are "
        "editable (changed: spec.algorithm)"
    ]


def test_update_max_trials_must_exceed_status_trials(base: Raw) -> None:
    old = _stored(base, condition="Running", trials=6)
    base["spec"]["maxTrialCount"] = 5
    assert _update(base, old) == ["spec.maxTrialCount: must be greater than status.trials count (6), got 5"]


def test_restart_of_completed_never_experiment_is_refused(base: Raw) -> None:
    old = _stored(base, condition="Succeeded", reason="ExperimentMaxTrialsReached", trials=6)
    base["spec"]["maxTrialCount"] = 10
    assert _update(base, old) == [
        "spec.resumePolicy: Experiment can be restarted if it is in succeeded state by reaching max trials "
        "and spec.resumePolicy = LongRunning or spec.resumePolicy = FromVolume, when experiment is completed"
    ]


@pytest.mark.parametrize("policy", ["LongRunning", "FromVolume"])
def test_restart_of_max_trials_reached_with_resume_policy_is_allowed(base: Raw, policy: str) -> None:
    base["spec"]["resumePolicy"] = policy
    old = _stored(base, condition="Succeeded", reason="ExperimentMaxTrialsReached", trials=6)
    base["spec"]["maxTrialCount"] = 10
    assert _update(base, old) == []


def test_restart_after_goal_reached_is_refused(base: Raw) -> None:
    base["spec"]["resumePolicy"] = "LongRunning"
    old = _stored(base, condition="Succeeded", reason="ExperimentGoalReached", trials=4)
    base["spec"]["maxTrialCount"] = 10
    assert [e.split(":")[0] for e in _update(base, old)] == ["spec.resumePolicy"]


def test_restart_of_failed_experiment_is_refused(base: Raw) -> None:
    base["spec"]["resumePolicy"] = "LongRunning"
    old = _stored(base, condition="Failed", reason="ExperimentFailed", trials=4)
    base["spec"]["maxTrialCount"] = 10
    assert [e.split(":")[0] for e in _update(base, old)] == ["spec.resumePolicy"]


# ---------------------------------------------------------------- katib-py's time budgets


@pytest.mark.parametrize("field", ["maxDurationSeconds", "trialTimeoutSeconds"])
@pytest.mark.parametrize("value", [0, -5])
def test_time_budgets_must_be_positive(base: Raw, field: str, value: int) -> None:
    base["spec"][field] = value
    assert [str(e) for e in errors_of(base)] == [
        f"spec.{field}: must be a number of seconds greater than 0, got {value}"
    ]


def test_time_budgets_are_accepted(base: Raw) -> None:
    base["spec"]["maxDurationSeconds"] = 3600
    base["spec"]["trialTimeoutSeconds"] = 60
    assert errors_of(base) == []


def test_time_budgets_may_change_while_running(base: Raw) -> None:
    old = _stored(base, condition="Running", trials=2)
    base["spec"]["maxDurationSeconds"] = 7200
    base["spec"]["trialTimeoutSeconds"] = 30
    assert _update(base, old) == []


@pytest.mark.parametrize("policy", ["LongRunning", "FromVolume"])
def test_restart_by_raising_the_max_duration_is_allowed(base: Raw, policy: str) -> None:
    base["spec"]["resumePolicy"] = policy
    base["spec"]["maxDurationSeconds"] = 60
    old = _stored(base, condition="Succeeded", reason="ExperimentMaxDurationReached", trials=3)
    base["spec"]["maxDurationSeconds"] = 600
    assert _update(base, old) == []


def test_restart_by_raising_the_max_duration_needs_a_resume_policy(base: Raw) -> None:
    base["spec"]["maxDurationSeconds"] = 60
    old = _stored(base, condition="Succeeded", reason="ExperimentMaxDurationReached", trials=3)
    base["spec"]["maxDurationSeconds"] = 600
    assert [e.split(":")[0] for e in _update(base, old)] == ["spec.resumePolicy"]


# ---------------------------------------------------------------- katib-py's infrastructure retries


@pytest.mark.parametrize("value", [-1, 101, 10_000])
def test_infra_retry_limit_out_of_range_is_refused(base: Raw, value: int) -> None:
    base["spec"]["infraRetryLimit"] = value
    assert [str(e) for e in errors_of(base)] == [
        "spec.infraRetryLimit: must be between 0 and 100 (retries of a trial after an infrastructure "
        f"failure), got {value}"
    ]


@pytest.mark.parametrize("value", [0, 3, 100])
def test_infra_retry_limit_is_accepted(base: Raw, value: int) -> None:
    base["spec"]["infraRetryLimit"] = value
    assert errors_of(base) == []


def test_infra_retry_limit_may_change_while_running(base: Raw) -> None:
    old = _stored(base, condition="Running", trials=2)
    base["spec"]["infraRetryLimit"] = 5
    assert _update(base, old) == []


# ---------------------------------------------------------------- katib-py's warm start

GOOD_POINT = {"lr": "0.05", "hidden": "32", "optimizer": "adam"}


def _seed(raw: Raw, **changes: Any) -> Experiment:
    other = copy.deepcopy(raw)
    other["metadata"]["name"] = "older"
    other["spec"].pop("warmStart", None)
    for path, value in changes.items():
        setp(other, path, value)
    return apply_defaults(Experiment.load(other))


def test_warm_start_points_and_experiments_are_accepted(base: Raw) -> None:
    base["spec"]["warmStart"] = {
        "points": [GOOD_POINT, {**GOOD_POINT, "lr": "0.01"}],
        "experiments": ["older"],
    }
    seeds = {"older": _seed(base)}
    assert errors_of(base, find_experiment=seeds.get) == []


@pytest.mark.parametrize(
    ("point", "message"),
    [
        ({"lr": "0.05", "hidden": "32"}, "spec.warmStart.points[0]: missing parameter(s): optimizer"),
        ({**GOOD_POINT, "depth": "3"}, "spec.warmStart.points[0]: unknown parameter(s): depth"),
        ({**GOOD_POINT, "lr": "0.5"}, "spec.warmStart.points[0].lr: 0.5 is outside [0.01, 0.1]"),
        ({**GOOD_POINT, "lr": "fast"}, "spec.warmStart.points[0].lr: 'fast' is not a number"),
        ({**GOOD_POINT, "lr": "nan"}, "spec.warmStart.points[0].lr: 'nan' is not a number"),
        ({**GOOD_POINT, "hidden": "32.5"}, "spec.warmStart.points[0].hidden: '32.5' is not an integer"),
        (
            {**GOOD_POINT, "optimizer": "rmsprop"},
            "spec.warmStart.points[0].optimizer: 'rmsprop' is not one of sgd, adam",
        ),
    ],
)
def test_a_bad_warm_start_point_is_refused(base: Raw, point: dict[str, str], message: str) -> None:
    base["spec"]["warmStart"] = {"points": [point]}
    assert [str(e) for e in errors_of(base)] == [message]


def test_an_int_point_must_be_on_the_step_grid_and_discrete_compares_numbers(base: Raw) -> None:
    base["spec"]["parameters"][1]["feasibleSpace"]["step"] = "8"
    base["spec"]["parameters"].append(
        {"name": "batch", "parameterType": "discrete", "feasibleSpace": {"list": ["32", "64"]}}
    )
    base["spec"]["warmStart"] = {"points": [{**GOOD_POINT, "hidden": "20", "batch": "64.0"}]}
    assert [str(e) for e in errors_of(base)] == [
        "spec.warmStart.points[0].hidden: 20 is not on the grid 16 + k * 8"
    ]


def test_warm_start_points_must_fit_in_max_trial_count(base: Raw) -> None:
    base["spec"]["warmStart"] = {"points": [GOOD_POINT] * 7}
    assert [str(e) for e in errors_of(base)] == [
        "spec.warmStart.points: 7 points do not fit in spec.maxTrialCount (6)"
    ]


@pytest.mark.parametrize("algorithm", ["grid", "hyperband", "pbt"])
def test_algorithms_with_their_own_schedule_take_no_warm_start(base: Raw, algorithm: str) -> None:
    _for_algorithm(base, algorithm)
    base["spec"]["warmStart"] = {"points": [GOOD_POINT]}
    errors = [str(e) for e in errors_of(base)]
    assert len(errors) == 1 and errors[0].startswith(
        f"spec.warmStart: algorithm {algorithm} takes no warm start: "
    ), errors


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        (
            {"spec.objective.type": "minimize"},
            "its objective is to minimize 'accuracy', this one's to maximize 'accuracy'",
        ),
        (
            {"spec.objective.objectiveMetricName": "loss"},
            "its objective is to maximize 'loss', this one's to maximize 'accuracy'",
        ),
        ({"spec.parameters[1].parameterType": "double"}, "parameter hidden is double there, int here"),
        (
            {"spec.objective.additionalObjectives": [{"objectiveMetricName": "loss", "type": "minimize"}]},
            "its additional objectives are minimize 'loss', this one's none",
        ),
        ({"spec.parameters[2].name": "opt"}, "its parameters are hidden, lr, opt, not hidden, lr, optimizer"),
    ],
)
def test_a_seed_experiment_must_pose_the_same_problem(
    base: Raw, changes: dict[str, Any], problem: str
) -> None:
    base["spec"]["warmStart"] = {"experiments": ["older"]}
    seeds = {"older": _seed(base, **changes)}
    assert [str(e) for e in errors_of(base, find_experiment=seeds.get)] == [
        f"spec.warmStart.experiments[0]: experiment 'older' cannot seed this one: {problem}"
    ]


def test_seed_experiments_must_exist_be_named_well_and_not_be_itself(base: Raw) -> None:
    base["spec"]["warmStart"] = {"experiments": ["gone", "base", "../secrets", "gone"]}
    assert [str(e) for e in errors_of(base, find_experiment={}.get)] == [
        "spec.warmStart.experiments[0]: experiment 'gone' not found in this namespace",
        "spec.warmStart.experiments[1]: an experiment cannot seed itself",
        "spec.warmStart.experiments[2]: '../secrets' is not an experiment name (a DNS-1123 subdomain)",
        "spec.warmStart.experiments[3]: experiment 'gone' is listed twice",
    ]


# ---------------------------------------------------------------- asha


def _asha(raw: Raw, **values: str) -> None:
    raw["spec"]["earlyStopping"] = {
        "algorithmName": "asha",
        "algorithmSettings": [{"name": k, "value": v} for k, v in values.items()],
    }


def test_asha_settings_are_accepted(base: Raw) -> None:
    _asha(base, min_resource="1", reduction_factor="3", max_resource="27")
    assert errors_of(base) == []


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"min_resource": "1"},
            "spec.earlyStopping.algorithmSettings: algorithm asha requires setting 'max_resource' "
            "(an integer >= 1)",
        ),
        (
            {"max_resource": "4", "min_resource": "4"},
            "spec.earlyStopping.algorithmSettings: max_resource (4) must be greater than min_resource (4)",
        ),
        (
            {"max_resource": "9", "reduction_factor": "1"},
            "spec.earlyStopping.algorithmSettings[1]: setting reduction_factor: "
            "must be an integer >= 2, got '1'",
        ),
    ],
)
def test_bad_asha_settings_are_refused(base: Raw, values: dict[str, str], message: str) -> None:
    _asha(base, **values)
    assert [str(e) for e in errors_of(base)] == [message]


# ---------------------------------------------------------------- katib-py's multi-objective search


def _objectives(raw: Raw, *extras: tuple[str | None, str | None]) -> None:
    raw["spec"]["objective"]["additionalObjectives"] = [
        {"objectiveMetricName": n, "type": t} for n, t in extras
    ]


def test_additional_objectives_are_defaulted_into_the_collected_metrics(base: Raw) -> None:
    _objectives(base, ("latency", "minimize"), ("loss", "minimize"))
    assert errors_of(base) == []
    exp, _ = load_experiment(base)
    assert exp is not None
    obj = apply_defaults(exp).dump()["spec"]["objective"]
    assert obj["additionalMetricNames"] == ["loss", "latency"]
    # each by its own direction, not the first objective's (maximize)
    assert obj["metricStrategies"] == [
        {"name": "latency", "value": "min"},
        {"name": "loss", "value": "min"},
        {"name": "accuracy", "value": "max"},
    ]


def test_an_experiment_without_additional_objectives_defaults_as_before(base: Raw) -> None:
    exp, _ = load_experiment(base)
    assert exp is not None
    obj = apply_defaults(exp).dump()["spec"]["objective"]
    assert "additionalObjectives" not in obj
    assert obj["additionalMetricNames"] == ["loss"]
    assert obj["metricStrategies"] == [{"name": "accuracy", "value": "max"}, {"name": "loss", "value": "max"}]


@pytest.mark.parametrize(
    ("extras", "message"),
    [
        (
            [(None, "minimize")],
            "spec.objective.additionalObjectives[0].objectiveMetricName: must be specified",
        ),
        (
            [("accuracy", "minimize")],
            "spec.objective.additionalObjectives[0].objectiveMetricName: 'accuracy' is already the first "
            "objective (spec.objective.objectiveMetricName)",
        ),
        (
            [("latency", "minimize"), ("latency", "maximize")],
            "spec.objective.additionalObjectives[1].objectiveMetricName: duplicate objective 'latency'",
        ),
        (
            [("latency", "fastest")],
            "spec.objective.additionalObjectives[0].type: must be minimize or maximize, got 'fastest'",
        ),
        (
            [("latency", None)],
            "spec.objective.additionalObjectives[0].type: must be minimize or maximize, got None",
        ),
        (
            [(f"m{i}", "minimize") for i in range(11)],
            "spec.objective.additionalObjectives: at most 10 additional objectives, got 11",
        ),
    ],
)
def test_bad_additional_objectives_are_refused(
    base: Raw, extras: list[tuple[str | None, str | None]], message: str
) -> None:
    _objectives(base, *extras)
    assert [str(e) for e in errors_of(base)] == [message]


def test_ten_additional_objectives_are_accepted(base: Raw) -> None:
    _objectives(base, *[(f"m{i}", "minimize") for i in range(10)])
    assert errors_of(base) == []


def test_an_undefaulted_additional_objective_must_be_collected(base: Raw) -> None:
    _objectives(base, ("latency", "minimize"))
    exp, _ = load_experiment(base)
    assert exp is not None
    assert [str(e) for e in validate_experiment(exp)] == [
        "spec.objective.additionalObjectives[0].objectiveMetricName: 'latency' must be in "
        "spec.objective.additionalMetricNames to be collected"
    ]


@pytest.mark.parametrize("algorithm", ["random", "tpe", "multivariate-tpe", "nsga2"])
def test_multi_objective_algorithms_accept_additional_objectives(base: Raw, algorithm: str) -> None:
    base["spec"]["algorithm"] = {"algorithmName": algorithm}
    _objectives(base, ("latency", "minimize"))
    assert errors_of(base) == []


@pytest.mark.parametrize("algorithm", ["cmaes", "sobol", "bayesianoptimization", "grid"])
def test_single_objective_algorithms_refuse_additional_objectives(base: Raw, algorithm: str) -> None:
    base["spec"]["algorithm"] = {"algorithmName": algorithm}
    if algorithm == "grid":
        base["spec"]["parameters"][0]["feasibleSpace"]["step"] = "0.01"
    _objectives(base, ("latency", "minimize"))
    assert [str(e) for e in errors_of(base)] == [
        f"spec.objective.additionalObjectives: algorithm {algorithm} cannot search additional objectives: "
        "it optimizes one objective (random, tpe, multivariate-tpe and nsga2 search several)"
    ]


def test_hyperband_refuses_additional_objectives(base: Raw) -> None:
    hyperband(base)
    _objectives(base, ("latency", "minimize"))
    assert "spec.objective.additionalObjectives: algorithm hyperband cannot search additional objectives" in (
        "\n".join(str(e) for e in errors_of(base))
    )


def test_nsga2_settings_are_checked(base: Raw) -> None:
    base["spec"]["algorithm"] = {"algorithmName": "nsga2"}
    settings(base, "nsga2", [("population_size", "1"), ("crossover_prob", "1.5")])
    assert [str(e) for e in errors_of(base)] == [
        "spec.algorithm.algorithmSettings[0]: setting population_size: must be an integer >= 2, got '1'",
        "spec.algorithm.algorithmSettings[1]: setting crossover_prob: "
        "must be a number >= 0 and <= 1, got '1.5'",
    ]
