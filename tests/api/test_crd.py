"""The generated CRDs: valid apiextensions.k8s.io/v1 objects, structural, in sync, and enforcing types."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from katib_py.api.crd import KINDS, build_crd, build_schema, expected_files, main

ROOT = Path(__file__).resolve().parents[2]
CRDS = ROOT / "crds"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
K8S_VERSION = kubernetes_validate.latest_version()
# JSON paths (dotted, [] for array items) that may keep unknown fields.
FREE_FORM = {
    "Experiment": {
        "spec.trialTemplate.trialSpec",
        "spec.metricsCollectorSpec.source.httpGet",
        "spec.metricsCollectorSpec.collector.customCollector",
        "status.kopf",
    },
    "Trial": {
        "spec.runSpec",
        "spec.metricsCollector.source.httpGet",
        "spec.metricsCollector.collector.customCollector",
        "status.kopf",
    },
    "Suggestion": {"status.kopf"},
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_crd_is_a_valid_v1_object_strictly(kind: str) -> None:
    crd = yaml.safe_load((CRDS / f"{kind.lower()}.yaml").read_text())
    kubernetes_validate.validate(crd, K8S_VERSION, strict=True)


def test_strict_validation_catches_a_broken_crd() -> None:
    """The check above can fail: a misspelt CRD field is reported."""
    crd = build_crd("Trial")
    crd["spec"]["versions"][0]["servedd"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(crd, K8S_VERSION, strict=True)


def test_all_yaml_holds_the_three_crds() -> None:
    docs = list(yaml.safe_load_all((CRDS / "all.yaml").read_text()))
    assert docs == [build_crd(k) for k in KINDS]


def test_crd_files_are_up_to_date() -> None:
    for name, text in expected_files().items():
        assert (CRDS / name).read_text() == text, (
            f"crds/{name} is stale: run python -m katib_py.api.crd --write"
        )


def test_check_mode_reports_stale_files(tmp_path: Path) -> None:
    assert main(["--write", "--dir", str(tmp_path)]) == 0
    assert main(["--check", "--dir", str(tmp_path)]) == 0
    (tmp_path / "trial.yaml").write_text("stale\n")
    assert main(["--check", "--dir", str(tmp_path)]) == 1


def test_module_runs_as_a_script(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "katib_py.api.crd", "--write", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "all.yaml",
        "experiment.yaml",
        "suggestion.yaml",
        "trial.yaml",
    ]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_names_categories_subresource(kind: str) -> None:
    spec = build_crd(kind)["spec"]
    assert spec["group"] == "kubeflow.org" and spec["scope"] == "Namespaced"
    assert spec["names"]["categories"] == ["all", "kubeflow", "katib"]
    assert spec["names"]["plural"] == kind.lower() + "s" and spec["names"]["singular"] == kind.lower()
    assert "shortNames" not in spec["names"]
    (version,) = spec["versions"]
    assert version["name"] == "v1beta1" and version["served"] and version["storage"]
    assert version["subresources"] == {"status": {}}


def test_printer_columns() -> None:
    def columns(kind: str) -> list[tuple[str, str]]:
        return [
            (c["name"], c["jsonPath"])
            for c in build_crd(kind)["spec"]["versions"][0]["additionalPrinterColumns"]
        ]

    katib = [("Type", ".status.conditions[-1:].type"), ("Status", ".status.conditions[-1:].status")]
    age = ("Age", ".metadata.creationTimestamp")
    assert columns("Trial") == [
        *katib,
        ("Timeout", ".spec.timeoutSeconds"),
        ("Retries", ".status.infraRetries"),
        age,
    ]
    assert columns("Suggestion") == [
        *katib,
        ("Requested", ".spec.requests"),
        ("Assigned", ".status.suggestionCount"),
        age,
    ]
    assert columns("Experiment") == [
        *katib,
        ("Trials", ".status.trials"),
        ("Succeeded", ".status.trialsSucceeded"),
        ("Running", ".status.trialsRunning"),
        ("Failed", ".status.trialsFailed"),
        ("Best", ".status.currentOptimalTrial.observation.metrics[0].latest"),
        ("Max Duration", ".spec.maxDurationSeconds"),
        ("Seeded From", ".spec.warmStart.experiments"),
        ("Pareto Front", ".status.paretoFrontSize"),
        age,
    ]


# ---------------------------------------------------------------- structural schema rules


def _nodes(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, schema
    for name, sub in schema.get("properties", {}).items():
        yield from _nodes(sub, f"{path}.{name}" if path else name)
    if "items" in schema:
        yield from _nodes(schema["items"], path + "[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _nodes(schema["additionalProperties"], path + "{}")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_schema_is_structural(kind: str) -> None:
    schema = build_schema(kind)
    preserved = set()
    for path, node in _nodes(schema):
        assert node.get("type") in {"object", "array", "string", "integer", "number", "boolean"}, path
        assert not ("properties" in node and "additionalProperties" in node), path
        for forbidden in ("$ref", "anyOf", "oneOf", "allOf", "not", "definitions", "$defs", "nullable"):
            assert forbidden not in node, (path, forbidden)
        if node["type"] == "array":
            assert "items" in node, path
        if node.get("x-kubernetes-preserve-unknown-fields"):
            assert node["type"] == "object" and "properties" not in node, path
            preserved.add(path)
    assert preserved == FREE_FORM[kind]
    assert schema["properties"]["metadata"] == {"type": "object"}


# ---------------------------------------------------------------- the schema enforces types


def _validator(kind: str) -> jsonschema.Draft4Validator:
    return jsonschema.Draft4Validator(build_schema(kind))


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_fit_the_schema(example: Path) -> None:
    _validator("Experiment").validate(yaml.safe_load(example.read_text()))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("spec", "parallelTrialCount"), "three"),
        (("spec", "objective", "goal"), "high"),
        (("spec", "parameters"), {"name": "lr"}),
        (("spec", "trialTemplate", "retain"), "yes"),
        (("spec", "objective", "additionalMetricNames"), "loss"),
    ],
)
def test_schema_rejects_wrongly_typed_field(path: tuple[str, ...], value: Any) -> None:
    obj = copy.deepcopy(yaml.safe_load((ROOT / "examples" / "random.yaml").read_text()))
    node = obj
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    errors = list(_validator("Experiment").iter_errors(obj))
    assert [tuple(e.absolute_path) for e in errors] == [path]


def test_trial_and_suggestion_schema_types() -> None:
    trial = {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Trial",
        "metadata": {"name": "t"},
        "spec": {"runSpec": {"anything": [1, "x"]}, "retainRun": True},
        "status": {
            "observation": {"metrics": [{"name": "accuracy", "min": "0.1", "max": "0.9", "latest": "0.8"}]}
        },
    }
    _validator("Trial").validate(trial)
    suggestion = {"spec": {"requests": "3"}}
    assert [tuple(e.absolute_path) for e in _validator("Suggestion").iter_errors(suggestion)] == [
        ("spec", "requests")
    ]
