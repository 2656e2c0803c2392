"""Shared fixtures for the API tests: a small valid Experiment to mutate."""

from __future__ import annotations

import copy
from typing import Any

import pytest

BASE: dict[str, Any] = {
    "apiVersion": "kubeflow.org/v1beta1",
    "kind": "Experiment",
    "metadata": {"name": "base", "namespace": "default"},
    "spec": {
        "objective": {
            "type": "maximize",
            "goal": 0.99,
            "objectiveMetricName": "accuracy",
            "additionalMetricNames": ["loss"],
        },
        "algorithm": {"algorithmName": "random"},
        "parallelTrialCount": 2,
        "maxTrialCount": 6,
        "maxFailedTrialCount": 2,
        "parameters": [
            {"name": "lr", "parameterType": "double", "feasibleSpace": {"min": "0.01", "max": "0.1"}},
            {"name": "hidden", "parameterType": "int", "feasibleSpace": {"min": "16", "max": "64"}},
            {"name": "optimizer", "parameterType": "categorical", "feasibleSpace": {"list": ["sgd", "adam"]}},
        ],
        "trialTemplate": {
            "primaryContainerName": "training-container",
            "trialParameters": [
                {"name": "learningRate", "reference": "lr"},
                {"name": "hiddenUnits", "reference": "hidden"},
                {"name": "optimizer", "reference": "optimizer"},
            ],
            "trialSpec": {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [
                                {
                                    "name": "training-container",
                                    "image": "ghcr.io/katib-py/katib-py:0.1.0",
                                    "command": [
                                        "python3",
                                        "-m",
                                        "katib_py.trainers.sklearn_trainer",
                                        "--lr=${trialParameters.learningRate}",
                                        "--hidden=${trialParameters.hiddenUnits}",
                                        "--optimizer=${trialParameters.optimizer}",
                                    ],
                                    "resources": {"limits": {"cpu": 1, "memory": "1Gi"}},
                                }
                            ],
                            "restartPolicy": "Never",
                        }
                    }
                },
            },
        },
    },
}


@pytest.fixture
def base() -> dict[str, Any]:
    """A fresh copy of a valid raw Experiment."""
    return copy.deepcopy(BASE)
