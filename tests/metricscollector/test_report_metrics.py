"""Push collection: katib_py.sdk.report_metrics against a real db-manager."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from katib_py.kube import rfc3339
from katib_py.sdk import report_metrics


def test_push_stores_metrics_now(db_manager: Any, observations: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"trial-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("KATIB_TRIAL_NAME", name)
    address = f"127.0.0.1:{db_manager.port}"
    report_metrics({"accuracy": 0.9, "loss": "0.25", "epoch": 3}, db_manager_address=address, timeout=30)
    report_metrics({"accuracy": 0.9}, db_manager_address=address, timeout=30)
    got = observations(address, name)
    assert sorted((n, v) for _, n, v in got) == [
        ("accuracy", "0.9"),
        ("accuracy", "0.9"),
        ("epoch", "3"),
        ("loss", "0.25"),
    ]
    assert all(rfc3339.parse(t).year >= 2024 for t, _, _ in got)


def test_push_validates_like_katib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KATIB_TRIAL_NAME", raising=False)
    with pytest.raises(ValueError, match="Trial name"):
        report_metrics({"accuracy": 0.9})
    monkeypatch.setenv("KATIB_TRIAL_NAME", "t")
    with pytest.raises(ValueError, match="accuracy"):
        report_metrics({"accuracy": "high"})


def test_push_to_a_dead_db_manager_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KATIB_TRIAL_NAME", "t")
    with pytest.raises(RuntimeError, match="Unable to report"):
        report_metrics({"accuracy": 1}, db_manager_address="127.0.0.1:1", timeout=1)
