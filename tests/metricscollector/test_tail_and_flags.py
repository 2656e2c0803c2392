"""Bounded tailing of a growing file, and Katib's Go-style collector flags."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from katib_py.metricscollector.cli import config_from_args, duration_seconds, register
from katib_py.metricscollector.tail import LineTail
from katib_py.metricscollector.tfevents import TFEventDirectory


def test_tail_reads_bounded_chunks_numbers_lines_and_restarts_after_truncation(tmp_path: Path) -> None:
    path = tmp_path / "metrics.log"
    tail = LineTail(path, chunk_bytes=1024)
    assert tail.poll() == []  # not there yet
    path.write_text("".join(f"line {i}\n" for i in range(5000)) + "partial")
    seen: list[tuple[int, str]] = []
    while chunk := tail.poll():
        assert sum(len(text) + 1 for _, text in chunk) <= 1024 + 16
        seen.extend(chunk)
    assert seen == [(i + 1, f"line {i}") for i in range(5000)]
    with path.open("a") as stream:
        stream.write(" and done\n")
    assert tail.poll() == [(5001, "partial and done")]
    path.write_text("fresh\nlast")
    assert tail.finish() == [(1, "fresh")]
    assert tail.finish() == [(2, "last")]
    assert tail.finish() == []


def test_corrupt_event_file_is_counted_once_and_skipped(tmp_path: Path) -> None:
    (tmp_path / "events.out.tfevents.1.host").write_bytes(b"\xff" * 64)
    reader = TFEventDirectory(tmp_path, ["loss"])
    assert reader.poll() == []
    assert reader.poll() == []
    assert reader.malformed == 1


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return parser.parse_args(["metrics-collector", *argv])


def test_katib_flags_as_the_webhook_passes_them(tmp_path: Path) -> None:
    args = parse(
        "-t", "trial-1", "-m", "accuracy;loss", "-o-type", "minimize", "-s-db", "db:6789",
        "-path", str(tmp_path / "m.log"), "-f", r"(\w+)=(\d+);(\w+):(\d+)", "-format", "JSON",
        "-w", "false", "-stop-rule", "accuracy;0.5;less;2", "-stop-rule", "loss;3;GREATER;0",
        "-s-earlystop", "es:6788", "-timeout", "1m30s", "-p=500ms",
    )  # fmt: skip
    config = config_from_args(args)
    assert (config.trial_name, config.metric_names, config.maximize) == (
        "trial-1",
        ["accuracy", "loss"],
        False,
    )
    assert (config.kind, config.db_manager_address, config.early_stop_address) == (
        "JSON",
        "db:6789",
        "es:6788",
    )
    assert config.filters == [r"(\w+)=(\d+)", r"(\w+):(\d+)"]
    assert [r.name for r in config.stop_rules] == ["accuracy", "loss"]
    assert (config.wait_all, config.timeout_seconds, config.poll_seconds) == (False, 90.0, 0.5)
    assert config.metrics_dir == tmp_path


def test_kind_is_inferred() -> None:
    assert config_from_args(parse("-t", "t", "-m", "a", "-format", "TEXT")).kind == "TEXT"
    assert config_from_args(parse("-t", "t", "-m", "a")).path == Path("/var/log/katib/metrics.log")
    tf = config_from_args(parse("-t", "t", "-m", "a", "-path", "/"))
    assert (tf.kind, tf.metrics_dir) == ("TFEVENT", Path("/"))
    assert config_from_args(parse("-t", "t", "-m", "a", "-kind", "TensorFlowEvent")).path == Path("/log")


def test_bad_filter_and_duration_rejected() -> None:
    with pytest.raises(ValueError, match="two groups"):
        config_from_args(parse("-t", "t", "-m", "a", "-f", r"loss=(\d+)", "-format", "TEXT"))
    assert duration_seconds("2") == 2.0
    assert duration_seconds("1h2m3.5s") == 3723.5
    with pytest.raises(argparse.ArgumentTypeError):
        duration_seconds("soon")
