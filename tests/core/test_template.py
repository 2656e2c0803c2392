"""Trial template loading and rendering (Katib's applyParameters), including every error."""

from __future__ import annotations

import json
from typing import Any

import pytest

from katib_py.api.models import ConfigMapSource, ParameterAssignment, TrialParameterSpec, TrialTemplate
from katib_py.core.template import TemplateError, render_run_spec, trial_template_text

TRIAL_SPEC: dict[str, Any] = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"labels": {"team": "ml"}, "annotations": {"owner": "ana"}},
    "spec": {
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "training-container",
                        "image": "python:3.11",
                        "command": [
                            "python",
                            "train.py",
                            "--lr=${trialParameters.learningRate}",
                            "--lr-again=${trialParameters.learningRate}",
                            "--opt=${trialParameters.optimizer}",
                        ],
                        "env": [
                            {"name": "TRIAL", "value": "${trialParameters.trialName}"},
                            {"name": "NS", "value": "${trialParameters.ns}"},
                            {"name": "KIND", "value": "${trialParameters.kind}"},
                            {"name": "API", "value": "${trialParameters.api}"},
                            {"name": "TEAM", "value": "${trialParameters.team}"},
                            {"name": "OWNER", "value": "${trialParameters.owner}"},
                        ],
                    }
                ],
                "restartPolicy": "Never",
            }
        }
    },
}
PARAMS = [
    TrialParameterSpec(name="learningRate", reference="lr"),
    TrialParameterSpec(name="optimizer", reference="optimizer"),
    TrialParameterSpec(name="trialName", reference="${trialSpec.Name}"),
    TrialParameterSpec(name="ns", reference="${trialSpec.Namespace}"),
    TrialParameterSpec(name="kind", reference="${trialSpec.Kind}"),
    TrialParameterSpec(name="api", reference="${trialSpec.APIVersion}"),
    TrialParameterSpec(name="team", reference="${trialSpec.Labels[team]}"),
    TrialParameterSpec(name="owner", reference="${trialSpec.Annotations[owner]}"),
]
ASSIGNMENTS = [
    ParameterAssignment(name="lr", value="0.01"),
    ParameterAssignment(name="optimizer", value="adam"),
]


def no_configmaps(name: str, namespace: str) -> dict[str, str] | None:
    return None


def render(
    text: str, params: list[TrialParameterSpec] = PARAMS, assignments: list[ParameterAssignment] = ASSIGNMENTS
) -> dict[str, Any]:
    return render_run_spec(
        text, trial_name="exp-abc", namespace="team-a", assignments=assignments, trial_parameters=params
    )


def test_inline_trial_spec_is_go_style_json() -> None:
    text = trial_template_text(
        TrialTemplate(trial_spec={"kind": "Job", "apiVersion": "batch/v1"}), no_configmaps
    )
    assert text == '{"apiVersion":"batch/v1","kind":"Job"}'


def test_render_substitutes_parameters_and_meta_references() -> None:
    text = trial_template_text(TrialTemplate(trial_spec=TRIAL_SPEC), no_configmaps)
    run_spec = render(text)
    container = run_spec["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "train.py", "--lr=0.01", "--lr-again=0.01", "--opt=adam"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env == {
        "TRIAL": "exp-abc",
        "NS": "team-a",
        "KIND": "Job",
        "API": "batch/v1",
        "TEAM": "ml",
        "OWNER": "ana",
    }
    assert run_spec["metadata"]["name"] == "exp-abc"
    assert run_spec["metadata"]["namespace"] == "team-a"
    assert run_spec["metadata"]["labels"] == {"team": "ml"}
    assert "${trialParameters." not in json.dumps(run_spec)


def test_name_and_namespace_are_forced_even_without_metadata() -> None:
    run_spec = render('{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x","namespace":"y"}}', [], [])
    assert run_spec["metadata"] == {"name": "exp-abc", "namespace": "team-a"}
    assert render('{"apiVersion":"v1","kind":"Pod"}', [], [])["metadata"] == {
        "name": "exp-abc",
        "namespace": "team-a",
    }


def test_configmap_template_yaml() -> None:
    yaml_text = """
apiVersion: batch/v1
kind: Job
spec:
  template:
    spec:
      containers:
        - name: training-container
          image: python:3.11
          command: ["python", "train.py", "--lr=${trialParameters.learningRate}"]
"""
    seen: list[tuple[str, str]] = []

    def load(name: str, namespace: str) -> dict[str, str] | None:
        seen.append((name, namespace))
        return {"defaultTrialTemplate.yaml": yaml_text}

    template = TrialTemplate(
        config_map=ConfigMapSource(
            config_map_name="trial-templates",
            config_map_namespace="kubeflow",
            template_path="defaultTrialTemplate.yaml",
        )
    )
    text = trial_template_text(template, load)
    assert seen == [("trial-templates", "kubeflow")]
    run_spec = render(text, [PARAMS[0]], [ASSIGNMENTS[0]])
    assert run_spec["spec"]["template"]["spec"]["containers"][0]["command"][2] == "--lr=0.01"


def test_values_are_inserted_raw() -> None:
    # ENAS-style JSON-ish value with single quotes inserted inside a JSON string, as Katib does
    text = '{"apiVersion":"v1","kind":"Pod","spec":{"arg":"--arch=${trialParameters.arch}"}}'
    params = [TrialParameterSpec(name="arch", reference="architecture")]
    value = "[[3], [0, 1]]"
    run_spec = render(text, params, [ParameterAssignment(name="architecture", value=value)])
    assert run_spec["spec"]["arg"] == f"--arch={value}"


@pytest.mark.parametrize(
    ("template", "loader", "message"),
    [
        (TrialTemplate(), no_configmaps, "neither trialSpec nor configMap"),
        (
            TrialTemplate(config_map=ConfigMapSource(config_map_name="t", template_path="p")),
            no_configmaps,
            "needs configMapName, configMapNamespace and templatePath",
        ),
        (
            TrialTemplate(
                config_map=ConfigMapSource(config_map_name="t", config_map_namespace="ns", template_path="p")
            ),
            no_configmaps,
            "ConfigMap ns/t not found",
        ),
        (
            TrialTemplate(
                config_map=ConfigMapSource(config_map_name="t", config_map_namespace="ns", template_path="p")
            ),
            lambda name, namespace: {"other": "x"},
            "has no key 'p'",
        ),
    ],
)
def test_template_text_errors(template: TrialTemplate, loader: Any, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        trial_template_text(template, loader)


BASE = '{"apiVersion":"v1","kind":"Pod","metadata":{"labels":{"a":"1"}},"spec":{"x":"${trialParameters.p}"}}'


@pytest.mark.parametrize(
    ("params", "assignments", "message"),
    [
        ([TrialParameterSpec(name="p", reference="missing")], ASSIGNMENTS[:1], "references 'missing'"),
        ([TrialParameterSpec(name="p", reference="lr")], ASSIGNMENTS, "every search parameter must be used"),
        (
            [TrialParameterSpec(name="p", reference="${trialSpec.Labels[nope]}")],
            [],
            r"no metadata.labels\['nope'\]",
        ),
        (
            [TrialParameterSpec(name="p", reference="${trialSpec.Annotations[nope]}")],
            [],
            r"no metadata.annotations\['nope'\]",
        ),
        ([TrialParameterSpec(name="p", reference="${trialSpec.Labels}")], [], "needs a key"),
        ([TrialParameterSpec(name="p", reference="${trialSpec.Uid}")], [], "unknown metadata reference"),
    ],
)
def test_render_errors(
    params: list[TrialParameterSpec], assignments: list[ParameterAssignment], message: str
) -> None:
    with pytest.raises(TemplateError, match=message):
        render(BASE, params, assignments)


def test_unparsable_results_are_errors() -> None:
    with pytest.raises(TemplateError, match="neither valid JSON nor YAML"):
        render('{"a": [', [], [])
    with pytest.raises(TemplateError, match="must be an object"):
        render("[1, 2]", [], [])


BASE_TEXT = json.dumps(TRIAL_SPEC, sort_keys=True, separators=(",", ":"))


@pytest.mark.parametrize(
    "value",
    [
        'a"b: [',  # broke Katib's JSON parse
        '0.1"],"command":["sh","-c","touch /tmp/pwned"],"x":["',  # rewrote the command in Katib
        "0.1\nrestartPolicy: Always",
        "${trialParameters.optimizer}",  # a value that looks like a placeholder stays as it is
    ],
)
def test_a_value_is_data_never_structure(value: str) -> None:
    spec = render(BASE_TEXT, PARAMS, [ParameterAssignment(name="lr", value=value), ASSIGNMENTS[1]])
    container = spec["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == [
        "python",
        "train.py",
        f"--lr={value}",
        f"--lr-again={value}",
        "--opt=adam",
    ]
    assert set(container) == {"name", "image", "command", "env"}
    assert spec["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_a_whole_unquoted_yaml_scalar_keeps_the_value_type() -> None:
    """Katib's text substitution lets `parallelism: ${trialParameters.n}` parse as a number."""
    text = (
        "apiVersion: batch/v1\nkind: Job\n"
        "spec:\n  parallelism: ${trialParameters.n}\n  x: '${trialParameters.n}'\n"
    )
    params = [TrialParameterSpec(name="n", reference="n")]
    spec = render(text, params, [ParameterAssignment(name="n", value="3")])
    assert spec["spec"] == {"parallelism": 3, "x": "3"}
    spec = render(text, params, [ParameterAssignment(name="n", value="[1, {a: b}]")])
    assert spec["spec"] == {"parallelism": "[1, {a: b}]", "x": "[1, {a: b}]"}
