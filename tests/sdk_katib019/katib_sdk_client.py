"""Drive katib-py with the upstream Kubeflow Katib SDK (kubeflow-katib 0.19), exactly as a user would.

Runs in .venv-katib-sdk (see scripts/install-katib-sdk.sh), never in katib-py's venv: it imports only
the SDK and the Kubernetes client the SDK depends on. It builds a random-search Experiment with the SDK's
own models, creates it, waits for Succeeded, reads the results back through the SDK, and writes a JSON
summary to --output for the pytest side to check (the SDK prints progress on stdout while it waits).

`read FILE` instead loads the Experiment and Trial objects of a JSON file (as the API server returns
them) with the SDK's deserializer and prints what the SDK made of them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from kubeflow.katib import (
    ApiClient,
    KatibClient,
    V1beta1AlgorithmSpec,
    V1beta1Experiment,
    V1beta1ExperimentSpec,
    V1beta1FeasibleSpace,
    V1beta1ObjectiveSpec,
    V1beta1ParameterSpec,
    V1beta1TrialParameterSpec,
    V1beta1TrialTemplate,
)
from kubernetes.client import V1ObjectMeta

MAX_TRIALS = 3


def build_experiment(name: str, namespace: str) -> V1beta1Experiment:
    """Random search over the sklearn trainer's learning rate, hidden size and optimizer."""
    parameters = [
        V1beta1ParameterSpec(
            name="lr", parameter_type="double", feasible_space=V1beta1FeasibleSpace(min="0.001", max="0.1")
        ),
        V1beta1ParameterSpec(
            name="hidden", parameter_type="int", feasible_space=V1beta1FeasibleSpace(min="16", max="64")
        ),
        V1beta1ParameterSpec(
            name="optimizer",
            parameter_type="categorical",
            feasible_space=V1beta1FeasibleSpace(list=["sgd", "adam"]),
        ),
    ]
    trial_spec: dict[str, Any] = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
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
                                "--epochs=3",
                            ],
                        }
                    ],
                }
            },
        },
    }
    template = V1beta1TrialTemplate(
        primary_container_name="training-container",
        trial_parameters=[
            V1beta1TrialParameterSpec(name="learningRate", description="Learning rate", reference="lr"),
            V1beta1TrialParameterSpec(name="hiddenUnits", description="Hidden units", reference="hidden"),
            V1beta1TrialParameterSpec(name="optimizer", description="sgd or adam", reference="optimizer"),
        ],
        trial_spec=trial_spec,
    )
    return V1beta1Experiment(
        api_version="kubeflow.org/v1beta1",
        kind="Experiment",
        metadata=V1ObjectMeta(name=name, namespace=namespace),
        spec=V1beta1ExperimentSpec(
            objective=V1beta1ObjectiveSpec(
                type="maximize", objective_metric_name="accuracy", additional_metric_names=["loss"]
            ),
            algorithm=V1beta1AlgorithmSpec(algorithm_name="random"),
            parameters=parameters,
            trial_template=template,
            max_trial_count=MAX_TRIALS,
            parallel_trial_count=2,
            max_failed_trial_count=1,
        ),
    )


def metrics_of(metrics: list[Any] | None) -> list[dict[str, Any]]:
    """SDK V1beta1Metric objects as plain dicts (values stay the strings the API returns)."""
    return [{"name": m.name, "latest": m.latest, "min": m.min, "max": m.max} for m in metrics or []]


def run(kubeconfig: str, namespace: str, name: str, db_manager: str) -> dict[str, Any]:
    katib = KatibClient(config_file=kubeconfig, namespace=namespace)
    katib.create_experiment(build_experiment(name, namespace), namespace=namespace)
    done = katib.wait_for_experiment_condition(name, namespace, timeout=240, polling_interval=2)

    optimal = katib.get_optimal_hyperparameters(name, namespace)
    details = katib.get_success_trial_details(name, namespace)
    trials = katib.list_trials(name, namespace)
    best = optimal.best_trial_name if optimal is not None else None
    logs = katib.get_trial_metrics(best, namespace, db_manager_address=db_manager) if best else []
    return {
        "succeeded": katib.is_experiment_succeeded(name, namespace, experiment=done),
        "conditions": [
            {"type": c.type, "status": c.status, "reason": c.reason} for c in done.status.conditions or []
        ],
        "trials_succeeded": done.status.trials_succeeded,
        "optimal": None
        if optimal is None
        else {
            "best_trial_name": optimal.best_trial_name,
            "parameter_assignments": {p.name: p.value for p in optimal.parameter_assignments or []},
            "metrics": metrics_of(optimal.observation.metrics),
        },
        "success_trials": [
            {
                "name": d["name"],
                "parameter_assignments": {p.name: p.value for p in d["parameter_assignments"] or []},
                "metrics": metrics_of(d["metrics"]),
            }
            for d in details
        ],
        "trials": [
            {
                "name": t.metadata.name,
                "experiment_label": (t.metadata.labels or {}).get("katib.kubeflow.org/experiment"),
                "conditions": [c.type for c in (t.status.conditions if t.status else None) or []],
            }
            for t in trials
        ],
        "best_trial_metric_logs": [
            {"time_stamp": log.time_stamp, "name": log.metric.name, "value": log.metric.value} for log in logs
        ],
    }


class _Response:
    """What ApiClient.deserialize reads: an object with the body in `.data`."""

    def __init__(self, obj: Any) -> None:
        self.data = json.dumps(obj)


def read(path: Path) -> dict[str, Any]:
    objects = json.loads(path.read_text())
    api = ApiClient()
    exp = api.deserialize(_Response(objects["experiment"]), "V1beta1Experiment")
    trial = api.deserialize(_Response(objects["trial"]), "V1beta1Trial")
    return {
        "experiment": api.sanitize_for_serialization(exp),
        "trial": api.sanitize_for_serialization(trial),
    }


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "read":
        print(json.dumps(read(Path(sys.argv[2]))))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--name", required=True)
    parser.add_argument("--db-manager", required=True, help="host:port of katib-db-manager")
    parser.add_argument("--output", required=True, type=Path)
    args = parser.parse_args()
    summary = run(args.kubeconfig, args.namespace, args.name, args.db_manager)
    args.output.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
