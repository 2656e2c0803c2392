"""`katib-py validate` as a user runs it: the installed console script, in a subprocess."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
KATIB_PY = ROOT / ".venv" / "bin" / "katib-py"
EXAMPLE = ROOT / "examples" / "random.yaml"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(KATIB_PY), "validate", *args], capture_output=True, text=True, timeout=120)


def test_good_file_prints_defaulted_yaml() -> None:
    done = run(str(EXAMPLE))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    (obj,) = yaml.safe_load_all(done.stdout)
    assert obj["metadata"]["name"] == "random"
    assert obj["spec"]["resumePolicy"] == "Never"
    assert obj["spec"]["metricsCollectorSpec"] == {"collector": {"kind": "StdOut"}}
    assert obj["spec"]["objective"]["metricStrategies"] == [
        {"name": "accuracy", "value": "max"},
        {"name": "loss", "value": "max"},
    ]


def test_several_files_and_documents(tmp_path: Path) -> None:
    two = tmp_path / "two.yaml"
    raw = yaml.safe_load(EXAMPLE.read_text())
    second = {**raw, "metadata": {"name": "second"}}
    two.write_text(yaml.safe_dump_all([raw, second]))
    done = run(str(EXAMPLE), str(two), "--quiet")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"{EXAMPLE}: valid (Experiment random)",
        f"{two}: document 1: valid (Experiment random)",
        f"{two}: document 2: valid (Experiment second)",
    ]


def test_bad_file_lists_every_error_with_path(tmp_path: Path) -> None:
    raw = yaml.safe_load(EXAMPLE.read_text())
    raw["metadata"]["name"] = "Random_1"
    raw["spec"]["parallelTrialCount"] = 0
    raw["spec"]["parameters"][0]["feasibleSpace"]["min"] = "1"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw))
    done = run(str(bad))
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert [line.split(": ")[1] for line in lines] == [
        "metadata.name",
        "spec.parallelTrialCount",
        "spec.parameters[0].feasibleSpace.min",
    ]
    assert all(line.startswith(f"{bad}: ") for line in lines)
    assert (
        lines[2]
        == f"{bad}: spec.parameters[0].feasibleSpace.min: must be less than feasibleSpace.max (0.1), got 1"
    )


def test_wrongly_typed_field_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "typed.yaml"
    bad.write_text(EXAMPLE.read_text().replace("parallelTrialCount: 3", "parallelTrialCount: three"))
    done = run(str(bad))
    assert done.returncode == 1
    assert done.stderr == f"{bad}: spec.parallelTrialCount: must be an integer, got 'three'\n"


def test_good_and_bad_together_exit_1_but_print_the_good(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: kubeflow.org/v1beta1\nkind: Trial\nmetadata: {name: t}\n")
    done = run(str(EXAMPLE), str(bad))
    assert done.returncode == 1
    assert yaml.safe_load(done.stdout)["metadata"]["name"] == "random"
    assert done.stderr.splitlines()[0] == f"{bad}: kind: must be Experiment, got 'Trial'"


def test_non_yaml_file_gives_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "junk.yaml"
    junk.write_text("spec: [unclosed\n  - x: {\n")
    done = run(str(junk))
    assert done.returncode == 1
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith(f"{junk}: not valid YAML (line ")
    assert "Traceback" not in done.stderr


def test_binary_file_gives_one_line(tmp_path: Path) -> None:
    blob = tmp_path / "blob.yaml"
    blob.write_bytes(b"\xff\xfe\x00\x00garbage")
    done = run(str(blob))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"{blob}: not valid YAML"]


def test_missing_file_gives_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    done = run(str(missing))
    assert done.returncode == 1
    assert done.stderr == f"{missing}: cannot read: No such file or directory\n"


def test_empty_file_and_scalar_document(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing\n")
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just a string\n")
    done = run(str(empty), str(scalar))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"{empty}: no YAML documents in file",
        f"{scalar}: <root>: an Experiment must be a mapping (apiVersion, kind, metadata, spec)",
    ]


def test_custom_katib_config(tmp_path: Path) -> None:
    config = tmp_path / "katib-config.yaml"
    config.write_text(
        "apiVersion: config.kubeflow.org/v1beta1\nkind: KatibConfig\nruntime:\n"
        "  suggestions: [{algorithmName: tpe, image: x}]\n  metricsCollectors: [{kind: StdOut, image: x}]\n"
    )
    done = run("--config", str(config), str(EXAMPLE))
    assert done.returncode == 1
    assert done.stderr.startswith(
        f"{EXAMPLE}: spec.algorithm.algorithmName: unable to get Suggestion config data for algorithm random"
    )
    assert "(known: tpe)" in done.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: Nope\n")
    done = run("--config", str(broken), str(EXAMPLE))
    assert done.returncode == 1
    assert done.stderr == f"{broken}: cannot use as katib-config: katib-config kind must be KatibConfig\n"


def test_trial_spec_with_a_name_names_that_field(tmp_path: Path) -> None:
    raw = yaml.safe_load(EXAMPLE.read_text())
    raw["spec"]["trialTemplate"]["trialSpec"]["metadata"] = {"name": "my-job"}
    named = tmp_path / "named.yaml"
    named.write_text(yaml.safe_dump(raw))
    done = run(str(named))
    assert done.returncode == 1
    assert done.stderr == (
        f"{named}: spec.trialTemplate.trialSpec.metadata.name: "
        "metadata.name and metadata.namespace in spec.trialTemplate must be omitted\n"
    )
