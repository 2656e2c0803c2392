"""Render the katib-py Helm chart with the real helm binary and sort what comes out.

Shared by the packaging tests. helm and hadolint come from scripts/install-tools.sh (run once per
session by conftest.py), so a missing tool fails the run instead of skipping it.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import re
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "manifests" / "helm" / "katib-py"
BIN = ROOT / ".venv" / "bin"
HELM = BIN / "helm"
HADOLINT = BIN / "hadolint"
NAMESPACE = "kubeflow"

# Every documented option of values.yaml, each alone: name -> values overriding the defaults.
VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "external-mysql": {
        "database": {
            "bundled": {"enabled": False},
            "external": {"host": "mysql.example.internal", "port": 3307, "name": "katib", "user": "katib"},
            "password": "s3cret",
        }
    },
    "bundled-postgres": {"database": {"type": "postgres"}},
    "external-postgres": {
        "database": {
            "type": "postgres",
            "bundled": {"enabled": False},
            "existingSecret": "my-db-credentials",
            "external": {"host": "pg.example.internal", "port": 5432, "sslMode": "require"},
        }
    },
    "cert-manager": {"certManager": {"enabled": True}},
    "cert-manager-cluster-issuer": {
        "certManager": {
            "enabled": True,
            "issuerRef": {"name": "corp-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"},
        }
    },
    "network-policy": {
        "networkPolicy": {"enabled": True, "metricsNamespaceSelector": {"matchLabels": {"a": "b"}}}
    },
    "service-monitor": {"serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}}},
    "replicas": {"operator": {"replicas": 3}, "dbManager": {"replicas": 2}},
    "ui": {"ui": {"enabled": True}},
    "embedded-webhook": {"webhook": {"insecure": True, "url": "http://127.0.0.1:18443"}},
    "no-crds-no-pdb": {"crds": {"install": False}, "podDisruptionBudget": {"enabled": False}},
    "katib-suggestion-image": {
        "katibConfig": {
            "suggestions": [
                {"algorithmName": "random"},
                {"algorithmName": "enas", "image": "ghcr.io/kubeflow/katib/suggestion-enas:v0.19.0"},
            ],
            "suggestionResources": {"limits": {"memory": "1Gi"}},
            "trialResources": ["Job.v1.batch", "Workflow.v1alpha1.argoproj.io"],
        }
    },
}


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a tool; on failure the assertion shows its output."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kwargs)
    assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _values_file(values: Mapping[str, Any], directory: str) -> str:
    path = Path(directory) / "values.yaml"
    path.write_text(yaml.safe_dump(dict(values)), encoding="utf-8")
    return str(path)


def helm_lint(values: Mapping[str, Any]) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        return run([str(HELM), "lint", "--strict", str(CHART), "-f", _values_file(values, tmp)]).stdout


def helm_template(values: Mapping[str, Any], *, include_crds: bool = True) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [str(HELM), "template", "katib-py", str(CHART), "--namespace", NAMESPACE]
        cmd += ["-f", _values_file(values, tmp)]
        if include_crds:
            cmd.append("--include-crds")
        return run(cmd).stdout


def render(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The chart's objects for these values (CRDs included)."""
    return [doc for doc in yaml.safe_load_all(helm_template(values)) if doc]


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = find(objects, kind, name)
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod")


def pod_specs(objects: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind/name, pod spec) of every workload."""
    for obj in objects:
        kind = obj["kind"]
        if kind not in WORKLOAD_KINDS:
            continue
        if kind == "Pod":
            spec = obj["spec"]
        elif kind == "CronJob":
            spec = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        else:
            spec = obj["spec"]["template"]["spec"]
        yield f"{kind}/{obj['metadata']['name']}", spec


# ---------------------------------------------------------------- schema validation

# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and a recent one.
KUBERNETES_VERSIONS = ("1.30.0", "1.33.0")  # schema folders of kubernetes-validate
CUSTOM_SCHEMAS = Path(__file__).with_name("schemas") / "custom-objects.yaml"


def _custom_validators() -> dict[str, Any]:
    import jsonschema

    raw = yaml.safe_load(CUSTOM_SCHEMAS.read_text(encoding="utf-8"))
    defs = raw.pop("$defs")
    return {key: jsonschema.Draft202012Validator({**schema, "$defs": defs}) for key, schema in raw.items()}


_CUSTOM: dict[str, Any] | None = None


@functools.cache
def _kubernetes_validator(kind: str, api_version: str, version: str) -> Any:
    """kubernetes-validate's strict schema for one kind, compiled once (its validate() re-reads the
    schema files on every call, which dominates the run time over a few hundred objects)."""
    import jsonschema
    import kubernetes_validate
    import referencing
    from kubernetes_validate import utils

    files = importlib.resources.files(kubernetes_validate) / "kubernetes-json-schema"
    # Same mapping as kubernetes_validate.validate: rbac.authorization.k8s.io/v1 -> rbac-v1.
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema_dir = files / f"v{version}-local-strict"
    path = schema_dir / f"{kind.lower()}-{group_version}.json"
    if not path.is_file():
        raise utils.SchemaNotFoundError(kind=kind, version=version, api_version=api_version)
    schema = json.loads(path.read_text(encoding="utf-8"))
    definitions = json.loads((schema_dir / "_definitions.json").read_text(encoding="utf-8"))
    # Both files carry an $id, under which the registry serves them to each other's $refs.
    registry = referencing.Resource.from_contents(schema) @ referencing.Registry()
    registry = referencing.Resource.from_contents(definitions) @ registry
    return jsonschema.Draft202012Validator(schema, registry=registry)


def validate_object(obj: dict[str, Any]) -> None:
    """Validate one rendered object strictly: kubernetes-validate's schemas for Kubernetes' own kinds
    (CRDs through the apiextensions schema), our custom-object schemas for cert-manager, Prometheus
    Operator kinds. Raises on any error, including a kind nobody has a schema for."""
    global _CUSTOM
    if _CUSTOM is None:
        _CUSTOM = _custom_validators()
    key = f"{obj['apiVersion']} {obj['kind']}"
    if key in _CUSTOM:
        _CUSTOM[key].validate(obj)
        return
    for version in KUBERNETES_VERSIONS:
        _kubernetes_validator(obj["kind"], obj["apiVersion"], version).validate(obj)
