"""kubeflow-katib's `V1beta1*` model names, bound to katib-py's pydantic models.

They take the same snake_case keyword arguments (`V1beta1Experiment(api_version=..., spec=...)`),
and nested parts may be models or plain dicts. They are pydantic models, not OpenAPI classes:
`.dump()` gives the wire form where kubeflow-katib has `.to_dict()`.
"""

from __future__ import annotations

from katib_py.api import models as m

V1beta1AlgorithmSetting = m.AlgorithmSetting
V1beta1AlgorithmSpec = m.AlgorithmSpec
V1beta1CollectorSpec = m.CollectorSpec
V1beta1EarlyStoppingRule = m.EarlyStoppingRule
V1beta1EarlyStoppingSetting = m.EarlyStoppingSetting
V1beta1EarlyStoppingSpec = m.EarlyStoppingSpec
V1beta1Experiment = m.Experiment
V1beta1ExperimentCondition = m.Condition
V1beta1ExperimentSpec = m.ExperimentSpec
V1beta1ExperimentStatus = m.ExperimentStatus
V1beta1FeasibleSpace = m.FeasibleSpace
V1beta1FileSystemPath = m.FileSystemPath
V1beta1FilterSpec = m.FilterSpec
V1beta1Metric = m.Metric
V1beta1MetricStrategy = m.MetricStrategy
V1beta1MetricsCollectorSpec = m.MetricsCollectorSpec
V1beta1ObjectiveSpec = m.ObjectiveSpec
V1beta1Observation = m.Observation
V1beta1OptimalTrial = m.OptimalTrial
V1beta1ParameterAssignment = m.ParameterAssignment
V1beta1ParameterSpec = m.ParameterSpec
V1beta1SourceSpec = m.SourceSpec
V1beta1Suggestion = m.Suggestion
V1beta1SuggestionCondition = m.Condition
V1beta1Trial = m.Trial
V1beta1TrialCondition = m.Condition
V1beta1TrialParameterSpec = m.TrialParameterSpec
V1beta1TrialTemplate = m.TrialTemplate
V1ObjectMeta = m.ObjectMeta

__all__ = [
    "V1ObjectMeta",
    "V1beta1AlgorithmSetting",
    "V1beta1AlgorithmSpec",
    "V1beta1CollectorSpec",
    "V1beta1EarlyStoppingRule",
    "V1beta1EarlyStoppingSetting",
    "V1beta1EarlyStoppingSpec",
    "V1beta1Experiment",
    "V1beta1ExperimentCondition",
    "V1beta1ExperimentSpec",
    "V1beta1ExperimentStatus",
    "V1beta1FeasibleSpace",
    "V1beta1FileSystemPath",
    "V1beta1FilterSpec",
    "V1beta1Metric",
    "V1beta1MetricStrategy",
    "V1beta1MetricsCollectorSpec",
    "V1beta1ObjectiveSpec",
    "V1beta1Observation",
    "V1beta1OptimalTrial",
    "V1beta1ParameterAssignment",
    "V1beta1ParameterSpec",
    "V1beta1SourceSpec",
    "V1beta1Suggestion",
    "V1beta1SuggestionCondition",
    "V1beta1Trial",
    "V1beta1TrialCondition",
    "V1beta1TrialParameterSpec",
    "V1beta1TrialTemplate",
]
