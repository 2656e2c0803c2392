"""CustomResourceDefinitions for Experiment, Suggestion and Trial, with a structural schema.

Katib ships its CRDs (`manifests/v1beta1/components/crd/{experiment,suggestion,trial}.yaml`) with
`x-kubernetes-preserve-unknown-fields` at the root and no schema. We derive a real structural
openAPIV3Schema from the pydantic models instead, so that the API server rejects a wrongly typed
field (`parallelTrialCount: three`) and prunes unknown ones. Values are typed but not enumerated:
the validating webhook gives the better message for a wrong value. Only free-form parts
(`trialSpec`, `runSpec`, `customCollector`, `httpGet`, and `status.kopf`, where the kopf operator
keeps its handler progress) keep unknown fields.

`python -m katib_py.api.crd --write` regenerates `crds/`; `--check` fails when it is stale.
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel

from katib_py.api.models import GROUP, VERSION, Experiment, ObjectMeta, Suggestion, Trial

KINDS: dict[str, type[BaseModel]] = {"Experiment": Experiment, "Suggestion": Suggestion, "Trial": Trial}
CATEGORIES = ["all", "kubeflow", "katib"]
# Fields Katib declares as int32 (everything else integer-valued is int64).
_INT32 = {
    "parallelTrialCount",
    "maxTrialCount",
    "maxFailedTrialCount",
    "requests",
    "suggestionCount",
    "startStep",
    "numLayers",
    "inputSizes",
    "outputSizes",
    "trials",
    "trialsSucceeded",
    "trialsFailed",
    "trialsKilled",
    "trialsPending",
    "trialsRunning",
    "trialsEarlyStopped",
    "trialMetricsUnavailable",
}
_CONDITION_COLUMNS = [
    {"name": "Type", "type": "string", "jsonPath": ".status.conditions[-1:].type"},
    {"name": "Status", "type": "string", "jsonPath": ".status.conditions[-1:].status"},
]
_AGE = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
PRINTER_COLUMNS: dict[str, list[dict[str, Any]]] = {
    "Experiment": [
        *_CONDITION_COLUMNS,
        {"name": "Trials", "type": "integer", "jsonPath": ".status.trials"},
        {"name": "Succeeded", "type": "integer", "jsonPath": ".status.trialsSucceeded"},
        {"name": "Running", "type": "integer", "jsonPath": ".status.trialsRunning", "priority": 1},
        {"name": "Failed", "type": "integer", "jsonPath": ".status.trialsFailed", "priority": 1},
        {
            "name": "Best",
            "type": "string",
            "description": "latest value of the best trial's first (objective) metric",
            "jsonPath": ".status.currentOptimalTrial.observation.metrics[0].latest",
        },
        {
            "name": "Max Duration",
            "type": "integer",
            "description": "the time budget in seconds (katib-py: spec.maxDurationSeconds)",
            "jsonPath": ".spec.maxDurationSeconds",
            "priority": 1,
        },
        {
            "name": "Seeded From",
            "type": "string",
            "description": "experiments seeding the algorithm (katib-py: spec.warmStart.experiments)",
            "jsonPath": ".spec.warmStart.experiments",
            "priority": 1,
        },
        {
            "name": "Pareto Front",
            "type": "integer",
            "description": "trials on the Pareto front (katib-py: spec.objective.additionalObjectives)",
            "jsonPath": ".status.paretoFrontSize",
            "priority": 1,
        },
        _AGE,
    ],
    "Suggestion": [
        *_CONDITION_COLUMNS,
        {"name": "Requested", "type": "integer", "jsonPath": ".spec.requests"},
        {"name": "Assigned", "type": "integer", "jsonPath": ".status.suggestionCount"},
        _AGE,
    ],
    "Trial": [
        *_CONDITION_COLUMNS,
        {
            "name": "Timeout",
            "type": "integer",
            "description": "seconds the trial may run (katib-py: spec.timeoutSeconds)",
            "jsonPath": ".spec.timeoutSeconds",
            "priority": 1,
        },
        {
            "name": "Retries",
            "type": "integer",
            "description": "retries after infrastructure failures (katib-py: status.infraRetries)",
            "jsonPath": ".status.infraRetries",
            "priority": 1,
        },
        _AGE,
    ],
}


def _schema_for(annotation: Any, wire_name: str) -> dict[str, Any]:
    """The structural schema of one annotation (Optional unwrapped)."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        assert len(args) == 1, annotation
        return _schema_for(args[0], wire_name)
    if origin is list:
        (item,) = get_args(annotation)
        return {"type": "array", "items": _schema_for(item, wire_name)}
    if origin is dict:
        _, value = get_args(annotation)
        if value is typing.Any:
            return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        return {"type": "object", "additionalProperties": _schema_for(value, wire_name)}
    if annotation is str:
        return {"type": "string"}
    if annotation is bool:
        return {"type": "boolean"}
    if annotation is int:
        return {"type": "integer", "format": "int32" if wire_name in _INT32 else "int64"}
    if annotation is float:
        return {"type": "number"}
    if isinstance(annotation, type) and issubclass(annotation, ObjectMeta):
        return {"type": "object"}  # the API server owns metadata's schema
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _object_schema(annotation)
    raise TypeError(f"no schema mapping for {annotation!r}")


def _object_schema(model: type[BaseModel]) -> dict[str, Any]:
    hints = typing.get_type_hints(model)
    properties: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        wire = info.alias or name
        properties[wire] = _schema_for(hints[name], wire)
    return {"type": "object", "properties": properties}


def build_schema(kind: str) -> dict[str, Any]:
    """openAPIV3Schema of `kind`."""
    schema = _object_schema(KINDS[kind])
    # kopf keeps handler progress in status.kopf; without this the API server would prune it.
    schema["properties"]["status"]["properties"]["kopf"] = {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
    }
    schema["description"] = (
        f"Katib {kind} (kubeflow.org/v1beta1), schema generated by katib-py from its models."
    )
    return schema


def build_crd(kind: str) -> dict[str, Any]:
    """The CustomResourceDefinition (apiextensions.k8s.io/v1) of Experiment, Suggestion or Trial."""
    plural = kind.lower() + "s"
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}", "labels": {"katib.kubeflow.org/component": "controller"}},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "categories": list(CATEGORIES),
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [dict(c) for c in PRINTER_COLUMNS[kind]],
                    "schema": {"openAPIV3Schema": build_schema(kind)},
                }
            ],
        },
    }


def render(kind: str) -> str:
    header = "# Generated by `python -m katib_py.api.crd --write` from katib_py/api/models.py. Do not edit.\n"
    return header + yaml.safe_dump(build_crd(kind), sort_keys=False, default_flow_style=False, width=120)


def expected_files() -> dict[str, str]:
    """crds/ file name -> content."""
    files = {f"{kind.lower()}.yaml": render(kind) for kind in KINDS}
    files["all.yaml"] = "---\n".join(files[f"{kind.lower()}.yaml"] for kind in KINDS)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m katib_py.api.crd", description=__doc__)
    parser.add_argument("--dir", default="crds", help="output folder (default: crds)")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="regenerate the CRD files")
    mode.add_argument("--check", action="store_true", help="exit 1 if the files are stale")
    args = parser.parse_args(argv)
    out = Path(args.dir)
    stale = []
    for name, text in expected_files().items():
        path = out / name
        if args.write:
            out.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        elif not path.is_file() or path.read_text() != text:
            stale.append(str(path))
    if stale:
        print(f"stale CRDs: {', '.join(stale)}; run `python -m katib_py.api.crd --write`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
