"""The Trial an experiment creates for one assignment.

Katib's `getTrialInstance` (`pkg/controller.v1beta1/experiment/experiment_controller_util.go`).
Fix against Katib: `spec.labels` carries the assignment's labels (Katib never fills it).
The trial is created with its `clean-metrics-in-db` finalizer already in place, which saves the
trial controller a write.
"""

from __future__ import annotations

import json
from typing import Any

from katib_py.api import algorithms
from katib_py.api.models import API_VERSION, Experiment, TrialAssignment
from katib_py.core import shell
from katib_py.core.template import render_trial

EXPERIMENT_LABEL = "katib.kubeflow.org/experiment"
# katib-py: the trial's early-stopping rules are alternatives (the collector's -stop-rule-mode any)
STOP_ON_ANY_RULE_ANNOTATION = "katib-py.kubeflow.org/stop-rule-mode"
TRIAL_FINALIZER = "clean-metrics-in-db"


def build_trial(exp: Experiment, assignment: TrialAssignment, template_text: str) -> dict[str, Any]:
    """The Trial object (wire form). Raises template.TemplateError when the template cannot render."""
    assert exp.metadata is not None and exp.spec is not None
    spec = exp.spec
    template = spec.trial_template
    name = assignment.name or ""
    namespace = exp.metadata.namespace or "default"
    params = assignment.parameter_assignments or []
    rendered = render_trial(
        template_text,
        trial_name=name,
        namespace=namespace,
        assignments=params,
        trial_parameters=(template.trial_parameters if template else None) or [],
        primary_container_name=template.primary_container_name if template else None,
    )
    run_spec = rendered.run_spec
    labels = dict(exp.metadata.labels or {})
    labels[EXPERIMENT_LABEL] = exp.metadata.name or ""
    labels.update(assignment.labels or {})
    trial_spec: dict[str, Any] = {
        "parameterAssignments": [p.dump() for p in params],
        "runSpec": run_spec,
    }
    if spec.objective is not None:
        trial_spec["objective"] = spec.objective.dump()
    if spec.early_stopping is not None and assignment.early_stopping_rules:
        trial_spec["earlyStoppingRules"] = [r.dump() for r in assignment.early_stopping_rules]
    if template is not None:
        if template.retain is not None:
            trial_spec["retainRun"] = template.retain
        if template.primary_pod_labels:
            trial_spec["primaryPodLabels"] = dict(template.primary_pod_labels)
        if template.primary_container_name:
            trial_spec["primaryContainerName"] = template.primary_container_name
        if template.success_condition and template.failure_condition:
            trial_spec["successCondition"] = template.success_condition
            trial_spec["failureCondition"] = template.failure_condition
    if spec.trial_timeout_seconds is not None:
        trial_spec["timeoutSeconds"] = spec.trial_timeout_seconds
    if spec.infra_retry_limit:
        trial_spec["infraRetryLimit"] = spec.infra_retry_limit
    if spec.metrics_collector_spec is not None:
        trial_spec["metricsCollector"] = spec.metrics_collector_spec.dump()
    if assignment.labels:
        trial_spec["labels"] = dict(assignment.labels)
    metadata: dict[str, Any] = {"annotations": {}}
    es_info = algorithms.EARLY_STOPPING_ALGORITHMS.get(
        (spec.early_stopping.algorithm_name if spec.early_stopping else None) or ""
    )
    if es_info is not None and es_info.stop_on_any_rule and assignment.early_stopping_rules:
        metadata["annotations"][STOP_ON_ANY_RULE_ANNOTATION] = "any"
    if any(isinstance(p, shell.Value) for argv in rendered.primary_argvs for e in argv for p in e):
        # where the values sit in the primary container's argv, for the Pod webhook's shell escaping
        encoded = json.dumps(shell.encode(rendered.primary_argvs), separators=(",", ":"))
        metadata["annotations"][shell.ARGV_ANNOTATION] = encoded
    if not metadata["annotations"]:
        del metadata["annotations"]
    return {
        "apiVersion": API_VERSION,
        "kind": "Trial",
        "metadata": {
            **metadata,
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "finalizers": [TRIAL_FINALIZER],
            "ownerReferences": [
                {
                    "apiVersion": API_VERSION,
                    "kind": "Experiment",
                    "name": exp.metadata.name,
                    "uid": exp.metadata.uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": trial_spec,
    }
