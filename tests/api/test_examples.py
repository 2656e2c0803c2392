"""The shipped examples and Katib-shaped Experiments: accepted, round-tripped, and runnable trials."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from katib_py.api.algorithms import EARLY_STOPPING_ALGORITHMS, SUGGESTION_ALGORITHMS
from katib_py.api.defaults import apply_defaults
from katib_py.api.models import Experiment
from katib_py.api.validation import load_experiment, validate_experiment
from katib_py.trainers import sklearn_trainer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
# The NAS examples run their own trial programs (tests/nas/test_nas_examples.py covers them).
NAS_EXAMPLES = [p for p in EXAMPLES if "nasConfig" in yaml.safe_load(p.read_text())["spec"]]
HP_EXAMPLES = [p for p in EXAMPLES if p not in NAS_EXAMPLES]
KATIB_SHAPES = sorted((Path(__file__).parent / "katib_shapes").glob("*.yaml"))
ALL = EXAMPLES + KATIB_SHAPES
IDS = [f"{p.parent.name}/{p.stem}" for p in ALL]
# Katib's default StdOut/File TEXT filter (spec 5.3), applied the way the collector does.
DEFAULT_FILTER = re.compile(r"([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)")


def load(path: Path) -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(path.read_text())
    return raw


@pytest.mark.parametrize("path", ALL, ids=IDS)
def test_accepted(path: Path) -> None:
    exp, errors = load_experiment(load(path))
    assert errors == [] and exp is not None
    assert validate_experiment(apply_defaults(exp)) == []


@pytest.mark.parametrize("path", ALL, ids=IDS)
def test_round_trip(path: Path) -> None:
    raw = load(path)
    assert Experiment.load(raw).dump() == raw
    defaulted = apply_defaults(Experiment.load(raw)).dump()
    assert Experiment.load(defaulted).dump() == defaulted


def test_every_algorithm_has_an_example() -> None:
    algorithms = {load(p)["spec"]["algorithm"]["algorithmName"] for p in EXAMPLES}
    assert algorithms == set(SUGGESTION_ALGORITHMS)
    early = {load(p)["spec"].get("earlyStopping", {}).get("algorithmName") for p in EXAMPLES} - {None}
    assert early == set(EARLY_STOPPING_ALGORITHMS)
    kinds = {
        load(p)["spec"].get("metricsCollectorSpec", {}).get("collector", {}).get("kind") for p in EXAMPLES
    }
    assert kinds == {None, "File", "StdOut"}  # StdOut with a custom filter: darts


@pytest.mark.parametrize("path", HP_EXAMPLES, ids=[p.stem for p in HP_EXAMPLES])
def test_examples_are_ci_sized_and_run_the_bundled_trainer(path: Path) -> None:
    spec = load(path)["spec"]
    assert 4 <= spec["maxTrialCount"] <= 12
    assert 2 <= spec["parallelTrialCount"] <= 3
    assert path.stem == load(path)["metadata"]["name"]
    container = spec["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]
    assert container["name"] == spec["trialTemplate"]["primaryContainerName"] == "training-container"
    assert container["command"][:3] == ["python3", "-m", "katib_py.trainers.sklearn_trainer"]


def render_args(path: Path, tmp_path: Path) -> list[str]:
    """The trainer arguments of the example's trial, with each parameter at its lower bound or first value."""
    spec = load(path)["spec"]
    values = {}
    for p in spec["parameters"]:
        fs = p["feasibleSpace"]
        values[p["name"]] = fs["list"][0] if "list" in fs else fs["min"]
    by_name = {tp["name"]: values[tp["reference"]] for tp in spec["trialTemplate"]["trialParameters"]}
    container = spec["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]
    args = []
    for arg in container["command"][3:]:
        arg = re.sub(r"\$\{trialParameters\.(\w+)\}", lambda m: str(by_name[m.group(1)]), arg)
        arg = arg.replace("/var/log/katib", str(tmp_path))
        args.append(arg)
    return args


@pytest.mark.parametrize("path", HP_EXAMPLES, ids=[p.stem for p in HP_EXAMPLES])
def test_trial_program_accepts_the_example_arguments(path: Path, tmp_path: Path) -> None:
    args = sklearn_trainer.build_parser().parse_args(render_args(path, tmp_path))
    args.epochs = min(args.epochs, 2)  # enough to see the per-epoch lines
    out = io.StringIO()
    sklearn_trainer.train(args, out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    for epoch, line in enumerate(lines, start=1):
        parsed = {m.group(1): m.group(2) for m in DEFAULT_FILTER.finditer(line)}
        assert set(parsed) == {"epoch", "accuracy", "loss"}
        assert int(parsed["epoch"]) >= epoch
        assert 0.0 <= float(parsed["accuracy"]) <= 1.0


def test_braces_output_matches_the_custom_filter_of_the_example(tmp_path: Path) -> None:
    path = ROOT / "examples" / "file-metrics-collector.yaml"
    (flt,) = load(path)["spec"]["metricsCollectorSpec"]["source"]["filter"]["metricsFormat"]
    args = sklearn_trainer.build_parser().parse_args(render_args(path, tmp_path))
    args.epochs = 1
    sklearn_trainer.train(args, io.StringIO())
    text = Path(args.metrics_file).read_text()
    assert args.metrics_file.startswith(str(tmp_path))
    found = {m.group(1): float(m.group(2)) for m in re.finditer(flt, text)}
    assert set(found) == {"epoch", "accuracy", "loss"}


def test_json_output_has_string_values(tmp_path: Path) -> None:
    path = ROOT / "examples" / "file-metrics-collector-json.yaml"
    args = sklearn_trainer.build_parser().parse_args(render_args(path, tmp_path))
    args.epochs = 2
    sklearn_trainer.train(args, io.StringIO())
    rows = [yaml.safe_load(line) for line in Path(args.metrics_file).read_text().splitlines()]
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert all(isinstance(r["accuracy"], str) and isinstance(r["timestamp"], float) for r in rows)


def test_checkpoint_resumes_training(tmp_path: Path) -> None:
    """PBT: a second trial starting from the same checkpoint dir continues the epoch count and weights."""
    ckpt = tmp_path / "ckpt"
    parser = sklearn_trainer.build_parser()
    first = io.StringIO()
    sklearn_trainer.train(parser.parse_args(["--epochs=2", f"--checkpoint-dir={ckpt}"]), first)
    second = io.StringIO()
    acc = sklearn_trainer.train(parser.parse_args(["--epochs=1", f"--checkpoint-dir={ckpt}"]), second)
    assert second.getvalue().startswith("epoch=3 ")
    fresh = io.StringIO()
    fresh_acc = sklearn_trainer.train(parser.parse_args(["--epochs=1"]), fresh)
    assert fresh.getvalue().startswith("epoch=1 ")
    assert acc != fresh_acc  # the resumed model started from trained weights


def test_trainer_runs_as_a_module_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "katib_py.trainers.sklearn_trainer", "--lr=0.01", "--epochs=2", "--hidden=16"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["epoch=1", "epoch=2"]


def test_nas_algorithms_need_a_nas_config() -> None:
    """enas and darts search spec.nasConfig: an Experiment with parameters only is refused at admission."""
    raw = load(ROOT / "examples" / "random.yaml")
    raw["spec"]["algorithm"] = {"algorithmName": "enas"}
    raw["spec"]["trialTemplate"]["trialParameters"] = [{"name": "learningRate", "reference": "lr"}]
    exp, _ = load_experiment(raw)
    assert exp is not None
    errors = validate_experiment(apply_defaults(exp))
    assert [str(e) for e in errors if e.path == "spec.nasConfig"] == [
        "spec.nasConfig: algorithm enas searches architectures: it needs spec.nasConfig"
    ]
