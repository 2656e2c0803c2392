"""Trial parameter values reach the program as data, never as shell code (run through a real `sh`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from katib_py.api.models import Experiment, Trial, TrialAssignment
from katib_py.core import shell
from katib_py.core.pod_injection import mutate_trial_pod
from katib_py.core.template import trial_template_text
from katib_py.core.trial_instance import build_trial

from .test_pod_injection import CONFIG, DB

DUMP = "import json, sys; open(sys.argv[1], 'w').write(json.dumps(sys.argv[2:]))"
INJECTIONS = [
    "0.1; touch CANARY",
    "$(touch CANARY)",
    "0.3 && touch CANARY",
    "`touch CANARY`",
    "0.1 | touch CANARY",
    'it\'s "quoted" \\ $HOME ${PATH} !x',
    "a\nb; touch CANARY",
]


def experiment(workdir: Path, args: list[str], kind: str, *, own_shell: bool = False) -> Experiment:
    """One parameter `v`; the primary container runs a program that writes its argv to a file."""
    script = workdir / "dump.py"
    script.write_text(DUMP)
    command = [sys.executable, str(script), str(workdir / "argv.json"), *args]
    if own_shell:
        command = ["sh", "-c", " ".join(command)]
    collector: dict[str, Any] = {"collector": {"kind": kind}}
    if kind == "File":
        path = {"path": str(workdir / "metrics" / "m.log"), "kind": "File"}
        collector["source"] = {"fileSystemPath": path}
    return Experiment.load(
        {
            "apiVersion": "kubeflow.org/v1beta1",
            "kind": "Experiment",
            "metadata": {"name": "exp", "namespace": "default", "uid": "u"},
            "spec": {
                "objective": {"type": "minimize", "objectiveMetricName": "loss"},
                "algorithm": {"algorithmName": "random"},
                "parameters": [
                    {"name": "v", "parameterType": "categorical", "feasibleSpace": {"list": ["x"]}}
                ],
                "metricsCollectorSpec": collector,
                "trialTemplate": {
                    "primaryContainerName": "training-container",
                    "trialParameters": [{"name": "v", "reference": "v"}],
                    "trialSpec": {
                        "apiVersion": "batch/v1",
                        "kind": "Job",
                        "spec": {
                            "template": {
                                "spec": {
                                    "containers": [{"name": "training-container", "command": command}],
                                    "restartPolicy": "Never",
                                }
                            }
                        },
                    },
                },
            },
        }
    )


def run_trial(exp: Experiment, value: str, workdir: Path, *, katib: bool = False) -> list[str]:
    """Render the trial, admit its Pod, run the primary container's command; the program's argv.

    `katib=True` drops the recorded argv segments, which gives Katib's raw join.
    """
    assignment = TrialAssignment.load(
        {"name": "exp-t1", "parameterAssignments": [{"name": "v", "value": value}]}
    )
    assert exp.spec is not None and exp.spec.trial_template is not None
    text = trial_template_text(exp.spec.trial_template, lambda name, ns: None)
    trial_obj = build_trial(exp, assignment, text)
    if katib:
        trial_obj["metadata"].pop("annotations", None)
    trial = Trial.load(trial_obj)
    pod_template = trial_obj["spec"]["runSpec"]["spec"]["template"]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": {}}, "spec": pod_template["spec"]}
    mutated = mutate_trial_pod(
        pod,
        trial,
        config=CONFIG,
        db_manager_address=DB,
        earlystop_address=None,
        suggestion_trial_dir=None,
        suggestion_claim_name=None,
        native_sidecar=True,
    )
    container = mutated["spec"]["containers"][0]
    (workdir / "metrics").mkdir(exist_ok=True)
    out = workdir / "argv.json"
    out.unlink(missing_ok=True)
    proc = subprocess.run(
        [*container.get("command", []), *container.get("args", [])],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.exists(), f"the program did not run: {proc.stdout}{proc.stderr}"
    argv: list[str] = json.loads(out.read_text())
    return argv


@pytest.mark.parametrize("value", INJECTIONS)
@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("--v=${trialParameters.v}", "--v={}"),  # bare
        ('--v="${trialParameters.v}"', "--v={}"),  # inside double quotes, the shell removes them
        ("--v='${trialParameters.v}'", "--v={}"),  # inside single quotes
        ('"${trialParameters.v}"x${trialParameters.v}', "{}x{}"),  # twice, in two contexts
    ],
)
def test_a_wrapped_container_gets_the_value_literally(
    tmp_path: Path, value: str, arg: str, expected: str
) -> None:
    argv = run_trial(experiment(tmp_path, [arg], "File"), value, tmp_path)
    assert argv == [expected.format(value, value)]
    assert not (tmp_path / "CANARY").exists()


@pytest.mark.parametrize("value", INJECTIONS[:3])
def test_katib_would_have_run_the_injected_command(tmp_path: Path, value: str) -> None:
    """The same trial without the recorded segments is Katib's raw join: the canary appears."""
    run_trial(experiment(tmp_path, ["--v=${trialParameters.v}"], "File"), value, tmp_path, katib=True)
    assert (tmp_path / "CANARY").exists()


def test_an_unwrapped_exec_form_container_gets_the_raw_value(tmp_path: Path) -> None:
    value = "0.1; touch CANARY"
    argv = run_trial(experiment(tmp_path, ["--v=${trialParameters.v}"], "Push"), value, tmp_path)
    assert argv == [f"--v={value}"]
    assert not (tmp_path / "CANARY").exists()


def test_an_authors_own_sh_c_script_gets_escaped_values_too(tmp_path: Path) -> None:
    value = "$(touch CANARY)"
    exp = experiment(tmp_path, ['--v="${trialParameters.v}"'], "Push", own_shell=True)
    assert run_trial(exp, value, tmp_path) == [f"--v={value}"]
    assert not (tmp_path / "CANARY").exists()


# Commands shaped like Katib's examples: the program gets the same argv as on Katib for the values
# Katib's services return.
KATIB_SHAPES = [
    ("--lr=${trialParameters.v}", "0.0123"),
    ("--num-layers=${trialParameters.v}", "3"),
    (
        '--algorithm-settings="${trialParameters.v}"',
        "{'num_epochs': '1', 'w_lr': '0.025', 'stem_multiplier': '3'}",
    ),
    (
        '--search-space="${trialParameters.v}"',
        "['separable_convolution_3x3', 'max_pooling_3x3', 'skip_connection']",
    ),
    ('--architecture="${trialParameters.v}"', "[[3], [0, 1], [0, 0, 1]]"),
    (
        '--nn_config="${trialParameters.v}"',
        "{'num_layers': 3, 'input_sizes': [32, 32, 3], 'output_sizes': [10]}",
    ),
    ("--optimizer=${trialParameters.v}", "sgd"),
]


@pytest.mark.parametrize(("arg", "value"), KATIB_SHAPES)
def test_katib_example_commands_give_the_same_argv_as_on_katib(tmp_path: Path, arg: str, value: str) -> None:
    exp = experiment(tmp_path, [arg], "File")
    ours = run_trial(exp, value, tmp_path)
    katib = run_trial(exp, value, tmp_path, katib=True)
    assert ours == katib


@pytest.mark.parametrize(
    ("text", "context"),
    [
        ("a ", shell.Context.BARE),
        ('a "b ', shell.Context.DOUBLE),
        ("a 'b \"", shell.Context.SINGLE),
        ("a \"b $(c '", shell.Context.SINGLE),  # a command substitution inside double quotes
        ('a "b" \\"', shell.Context.BARE),
        ('a `b "', shell.Context.DOUBLE),
    ],
)
def test_the_context_is_read_from_the_authors_text(text: str, context: shell.Context) -> None:
    rendered = shell.shell_text([(text, shell.Value("$x"))])
    assert rendered == text + shell.escape("$x", context)


def test_malformed_recordings_are_dropped() -> None:
    assert shell.decode({"not": "a list"}) == []
    assert shell.decode([[["ok", {"value": 1}]]]) == []
    argvs = [(("--v=", shell.Value("1")), ("x",))]
    assert shell.decode(json.loads(json.dumps(shell.encode(argvs)))) == argvs
