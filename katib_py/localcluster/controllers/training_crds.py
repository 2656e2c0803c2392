"""The CustomResourceDefinitions of the Training-Operator kinds the embedded cluster serves.

Written here, not copied: a minimal structural schema (the Training Operator v1.9's
manifests/base/crds/kubeflow.org_<plural>.yaml are 8,000-line controller-gen output). It checks
what the controller relies on, the replica specs (`replicas` an integer, `restartPolicy` one of
the four policies, a `template` object) and runPolicy's fields, and keeps every other field as
written; the names, the printer columns (State, Age) and the status subresource are the real ones.
"""

from __future__ import annotations

from katib_py.kube.meta import Obj

from .training_plan import GROUP, Framework

RESTART_POLICIES = ["Always", "OnFailure", "Never", "ExitCode"]
CLEAN_POD_POLICIES = ["All", "Running", "None"]


def _open(schema: Obj | None = None) -> Obj:
    return {"type": "object", "x-kubernetes-preserve-unknown-fields": True, **(schema or {})}


def _replica_spec() -> Obj:
    return _open(
        {
            "properties": {
                "replicas": {"type": "integer", "format": "int32", "minimum": 0},
                "restartPolicy": {"type": "string", "enum": RESTART_POLICIES},
                "template": _open(),
            },
        }
    )


def _run_policy() -> Obj:
    return _open(
        {
            "properties": {
                "cleanPodPolicy": {"type": "string", "enum": CLEAN_POD_POLICIES},
                "backoffLimit": {"type": "integer", "format": "int32", "minimum": 0},
                "activeDeadlineSeconds": {"type": "integer", "format": "int64", "minimum": 0},
                "ttlSecondsAfterFinished": {"type": "integer", "format": "int32"},
                "suspend": {"type": "boolean"},
            }
        }
    )


def build_crd(fw: Framework) -> Obj:
    """The CRD of one framework's kind (kubeflow.org/v1)."""
    spec = _open(
        {
            "required": [fw.specs_field],
            "properties": {
                fw.specs_field: {"type": "object", "additionalProperties": _replica_spec()},
                "runPolicy": _run_policy(),
            },
        }
    )
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{fw.plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "names": {
                "kind": fw.kind,
                "listKind": f"{fw.kind}List",
                "plural": fw.plural,
                "singular": fw.kind.lower(),
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {"jsonPath": ".status.conditions[-1:].type", "name": "State", "type": "string"},
                        {"jsonPath": ".metadata.creationTimestamp", "name": "Age", "type": "date"},
                    ],
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec,
                                "status": _open(),
                            },
                        }
                    },
                }
            ],
        },
    }
