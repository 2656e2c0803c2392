"""manifests/install.yaml and the chart's CRD copy are regenerated from their sources, and
install.yaml holds only schema-valid objects."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from .chart_tools import ROOT, find, validate_object

SCRIPT = ROOT / "scripts" / "render-manifests.sh"
INSTALL = ROOT / "manifests" / "install.yaml"


def test_install_yaml_and_chart_crds_are_up_to_date() -> None:
    proc = subprocess.run(["bash", str(SCRIPT), "--check"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_check_notices_a_stale_install_yaml(tmp_path: Path) -> None:
    original = INSTALL.read_text(encoding="utf-8")
    stale = original.replace("getSuggestionsTimeoutSeconds: 300", "getSuggestionsTimeoutSeconds: 301")
    assert stale != original
    copy = tmp_path / "install.yaml"
    copy.write_text(stale, encoding="utf-8")
    env = {**os.environ, "INSTALL_YAML": str(copy)}
    proc = subprocess.run(
        ["bash", str(SCRIPT), "--check"], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 1
    assert "manifests/install.yaml is stale" in proc.stderr
    copy.write_text(original, encoding="utf-8")
    proc = subprocess.run(
        ["bash", str(SCRIPT), "--check"], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 0, proc.stderr


def test_install_yaml_objects_are_valid() -> None:
    objects = [doc for doc in yaml.safe_load_all(INSTALL.read_text(encoding="utf-8")) if doc]
    assert objects[0]["kind"] == "Namespace" and objects[0]["metadata"]["name"] == "kubeflow"
    for obj in objects:
        validate_object(obj)
    names = {o["metadata"]["name"] for o in find(objects, "CustomResourceDefinition")}
    assert {"experiments.kubeflow.org", "suggestions.kubeflow.org", "trials.kubeflow.org"} <= names
    for obj in objects:
        if obj["kind"] not in (
            "Namespace",
            "CustomResourceDefinition",
            "ClusterRole",
            "ClusterRoleBinding",
        ) and ("WebhookConfiguration" not in obj["kind"]):
            assert obj["metadata"]["namespace"] == "kubeflow", obj["metadata"]["name"]
