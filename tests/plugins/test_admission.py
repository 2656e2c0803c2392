"""Admission of the custom algorithms' Experiments: any algorithm the katib-config names is accepted.

`katib-py validate` applies the admission webhook's defaulting and validation offline. With the
katib-config entries shipped beside the examples, both Experiments are valid, settings included
(katib-py has no settings table for these algorithms: their services check them); against the
packaged katib-config, which does not name them, they are refused as Katib refuses them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from katib_py.api.config import default_config_text

ROOT = Path(__file__).resolve().parents[2]
KATIB_PY = Path(sys.executable).parent / "katib-py"
EXPERIMENTS = [
    ROOT / "examples" / "custom-algorithm" / "experiment.yaml",
    ROOT / "examples" / "foreign-suggestion" / "experiment.yaml",
]


def validate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KATIB_PY), "validate", "-q", *args], capture_output=True, text=True, timeout=120
    )


def test_named_by_katib_config_they_are_admitted_with_their_own_settings(tmp_path: Path) -> None:
    config = yaml.safe_load(default_config_text())
    for example in EXPERIMENTS:
        config["runtime"]["suggestions"].append(
            yaml.safe_load((example.parent / "katib-config-entry.yaml").read_text())
        )
    path = tmp_path / "katib-config.yaml"
    path.write_text(yaml.safe_dump(config))
    # A setting no algorithm katib-py ships has: left to the service, as Katib leaves it.
    odd = yaml.safe_load(EXPERIMENTS[1].read_text())
    odd["spec"]["algorithm"]["algorithmSettings"] = [{"name": "anything", "value": "goes"}]
    odd_path = tmp_path / "odd.yaml"
    odd_path.write_text(yaml.safe_dump(odd))

    result = validate("--config", str(path), *map(str, EXPERIMENTS), str(odd_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        f"{EXPERIMENTS[0]}: valid (Experiment coordinate-search)",
        f"{EXPERIMENTS[1]}: valid (Experiment halton)",
        f"{odd_path}: valid (Experiment halton)",
    ]


def test_without_a_katib_config_entry_they_are_refused() -> None:
    result = validate(str(EXPERIMENTS[0]))
    assert result.returncode == 1
    assert (
        "spec.algorithm.algorithmName: unable to get Suggestion config data for algorithm coordinate-search: "
        "katib-config has no runtime.suggestions entry with an image for it" in result.stdout + result.stderr
    )
