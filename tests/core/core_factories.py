"""Small builders of Experiment/Trial/Suggestion objects for the core tests."""

from __future__ import annotations

from typing import Any

from katib_py.api.models import Experiment, Suggestion, Trial
from katib_py.core.trial_facts import TrialFacts, facts_of

T0 = "2026-01-01T00:00:00Z"
T1 = "2026-01-01T00:00:01Z"
T2 = "2026-01-01T00:00:02Z"


def experiment(**spec: Any) -> Experiment:
    base: dict[str, Any] = {
        "parallelTrialCount": 3,
        "objective": {
            "type": "minimize",
            "objectiveMetricName": "loss",
            "metricStrategies": [{"name": "loss", "value": "min"}],
        },
        "algorithm": {"algorithmName": "random"},
        "parameters": [
            {"name": "lr", "parameterType": "double", "feasibleSpace": {"min": "0.01", "max": "0.1"}},
        ],
    }
    base.update(spec)
    return Experiment.load(
        {
            "apiVersion": "kubeflow.org/v1beta1",
            "kind": "Experiment",
            "metadata": {"name": "exp", "namespace": "default", "uid": "uid-exp"},
            "spec": base,
        }
    )


def cond(type_: str, status: str = "True", reason: str = "r") -> dict[str, Any]:
    return {"type": type_, "status": status, "reason": reason, "message": "m", "lastTransitionTime": T0}


STATES: dict[str, list[dict[str, Any]]] = {
    "pending": [cond("Created")],
    "running": [cond("Created"), cond("Running")],
    "succeeded": [cond("Created"), cond("Running", "False"), cond("Succeeded")],
    "failed": [cond("Created"), cond("Running", "False"), cond("Failed")],
    "killed": [cond("Created"), cond("Running", "False"), cond("Killed")],
    "earlystopped": [cond("Created"), cond("Running"), cond("EarlyStopped")],
    "metricsunavailable": [cond("Created"), cond("Running", "False"), cond("MetricsUnavailable")],
}


def trial(
    name: str,
    state: str = "pending",
    *,
    loss: str | None = None,
    created: str = T0,
    deleting: bool = False,
    params: dict[str, str] | None = None,
    strategy: str = "min",
) -> Trial:
    status: dict[str, Any] = {"conditions": STATES[state]}
    if loss is not None:
        status["observation"] = {"metrics": [{"name": "loss", "min": loss, "max": loss, "latest": loss}]}
    meta: dict[str, Any] = {"name": name, "namespace": "default", "creationTimestamp": created}
    if deleting:
        meta["deletionTimestamp"] = T2
    return Trial.load(
        {
            "metadata": meta,
            "spec": {
                "objective": {
                    "type": "minimize",
                    "objectiveMetricName": "loss",
                    "metricStrategies": [{"name": "loss", "value": strategy}],
                },
                "parameterAssignments": [
                    {"name": k, "value": v} for k, v in (params or {"lr": "0.05"}).items()
                ],
            },
            "status": status,
        }
    )


def suggestion(
    assigned: list[str], count: int | None = None, requests: int = 0, settings: dict[str, str] | None = None
) -> Suggestion:
    return Suggestion.load(
        {
            "metadata": {"name": "exp", "namespace": "default", "uid": "uid-s", "labels": {"team": "a"}},
            "spec": {"algorithm": {"algorithmName": "random"}, "requests": requests},
            "status": {
                "suggestionCount": len(assigned) if count is None else count,
                "suggestions": [
                    {"name": n, "parameterAssignments": [{"name": "lr", "value": "0.05"}]} for n in assigned
                ],
                "algorithmSettings": [{"name": k, "value": v} for k, v in (settings or {}).items()],
            },
        }
    )


def facts(*trials: Trial) -> list[TrialFacts]:
    """The trials' facts for their own objective, as the operator's cache gives them."""
    return [facts_of(t, t.spec.objective if t.spec else None) for t in trials]
