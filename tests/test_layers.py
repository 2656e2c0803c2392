"""The layers of ARCHITECTURE.md are enforced: `lint-imports` passes here and fails on a scratch break."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    assert LINT_IMPORTS.exists(), f"{LINT_IMPORTS} is missing: `make install` installs import-linter"
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "katib_py", tree / "katib_py", ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_tree_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint(_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        (
            "katib_py/core/gjson.py",
            "import katib_py.localcluster.cluster",
            "Types and decisions (api, core) do no I/O",
        ),
        ("katib_py/api/models.py", "import socket", "Types and decisions (api, core) do no I/O"),
        (
            "katib_py/localcluster/kubelet/env.py",
            "from katib_py.api import models",
            "The embedded cluster knows Kubernetes (the kit), never Katib",
        ),
        ("katib_py/kube/meta.py", "import katib_py.settings", "The Kubernetes kit knows nothing of Katib"),
        (
            "katib_py/ui/rows.py",
            "import katib_py.localcluster.cluster",
            "The web UI is a client of the Kubernetes API and db-manager",
        ),
        (
            "katib_py/controller/trial.py",
            "from katib_py.localcluster import cluster",
            "The operator (controllers, webhooks) never imports the embedded cluster",
        ),
        (
            "katib_py/webhook/server.py",
            "import katib_py.controller.cache",
            "The webhooks sit below the controllers",
        ),
        (
            "katib_py/sdk/report_metrics.py",
            "from katib_py.dbmanager import store",
            "The metrics collector and the SDK reach db-manager over gRPC only",
        ),
    ],
)
def test_a_scratch_import_that_crosses_a_layer_fails(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    tree = _copy(tmp_path)
    with open(tree / module, "a") as fh:
        fh.write(f"\n{line}  # scratch: must break a contract\n")
    result = _lint(tree)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout and contract in result.stdout
