"""Hostile log input: regexp-killer lines, huge lines, log rotation, `;` inside metric names."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from katib_py.api.collector_flags import join_flag_list, split_flag_list
from katib_py.metricscollector.cli import config_from_args, register
from katib_py.metricscollector.collector import CollectorConfig
from katib_py.metricscollector.parse import TextParser
from katib_py.metricscollector.tail import LineTail

REPO = Path(__file__).resolve().parents[2]


def trial() -> str:
    return f"trial-{uuid.uuid4().hex[:10]}"


def run_bounded(code: str, seconds: float) -> str:
    """Run Python code in a child process; fail if it takes longer than `seconds` (the child is killed)."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=seconds,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {seconds}s (killed)")
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_default_filter_is_linear_on_a_line_of_one_long_word() -> None:
    """Python `re` took 21 s on 40,000 letters (quadratic); 2 MB must take well under a second."""
    out = run_bounded(
        """
        import time
        from katib_py.metricscollector.parse import TextParser
        parser = TextParser(["accuracy", "loss"])
        for size in (40_000, 2_000_000):
            started = time.thread_time()
            assert parser.parse("accuracy " + "a" * size) == []
            assert parser.parse("accuracy " + "a" * size + "=0.5 loss=1")[-1].value == "1"
            print(size, time.thread_time() - started)
        """,
        20,
    )
    seconds = [float(line.split()[1]) for line in out.splitlines()]
    assert max(seconds) < 1.0, out


def test_user_filter_with_nested_repetition_is_linear() -> None:
    """`((?:\\w+\\s?)+)=` is exponential in a backtracking engine; RE2 reads the line once."""
    run_bounded(
        r"""
        from katib_py.metricscollector.parse import TextParser
        parser = TextParser(["accuracy"], [r"((?:\w+\s?)+)=(\d+)"])
        assert parser.parse("accuracy " + "a " * 40 + "!") == []
        line = "accuracy " + "b " * 100_000 + "!"
        assert parser.parse(line) == []
        assert [(o.name, o.value) for o in parser.parse("accuracy=7")] == [("accuracy", "7")]
        """,
        20,
    )


def test_filters_see_ascii_classes_as_go_does() -> None:
    """RE2's (and Go's) \\w and \\d are ASCII: a Devanagari digit is not a value."""
    parser = TextParser(["loss", "损失"])
    assert [(o.name, o.value) for o in parser.parse("loss=\u0969 loss=3")] == [("loss", "3")]
    assert parser.parse("损失=0.5") == []
    unicode_names = TextParser(["损失"], [r"(\S+)=(\d+)"])
    assert [(o.name, o.value) for o in unicode_names.parse("损失=5")] == [("损失", "5")]


def test_collector_survives_a_regexp_killer_line_and_stores_the_rest(
    tmp_path: Path, db_manager: Any, collector: Any, observations: Any
) -> None:
    name, log = trial(), tmp_path / "metrics.log"
    address = f"127.0.0.1:{db_manager.port}"
    log.write_text("loss=1\n" + "accuracy " + "a" * 200_000 + "\nloss=2\n")
    proc = collector(
        "-t", name, "-m", "loss;accuracy", "-s-db", address, "-path", str(log), "-format", "TEXT",
        "-timeout", "20s", "-p", "100ms",
    )  # fmt: skip
    proc.send_signal(signal.SIGTERM)
    try:
        proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("the collector hung on a 200 KB line")
    assert proc.returncode == 0
    assert [v for _, _, v in observations(address, name, "loss")] == ["1", "2"]


def test_tail_skips_a_line_longer_than_the_limit_and_counts_it(tmp_path: Path) -> None:
    path = tmp_path / "metrics.log"
    tail = LineTail(path, chunk_bytes=1000, max_line_bytes=4000)
    path.write_bytes(b"loss=1\n" + b"x" * 10_000 + b"loss=9\nloss=2\n" + b"y" * 5000)
    seen: list[tuple[int, str]] = []
    while chunk := tail.finish():
        seen.extend(chunk)
    assert seen == [(1, "loss=1"), (3, "loss=2")]
    assert tail.overlong == 2


def test_tail_follows_rename_rotation(tmp_path: Path) -> None:
    """`mv metrics.log metrics.log.1` and a new metrics.log: the rest of the old file, then the new one."""
    path = tmp_path / "metrics.log"
    tail = LineTail(path)
    with path.open("w") as old:
        old.write("a 1\na 2\n")
        old.flush()
        assert [t for _, t in tail.poll()] == ["a 1", "a 2"]
        old.write("a 3\n")  # written before the rename, not read yet
        old.flush()
        path.rename(tmp_path / "metrics.log.1")
        old.write("a 4 unterminated")
    path.write_text("b 1\nb 2\n")
    seen = []
    while chunk := tail.poll():
        seen.extend(chunk)
    assert seen == [(3, "a 3"), (4, "a 4 unterminated"), (5, "b 1"), (6, "b 2")]
    with path.open("a") as new:
        new.write("b 3\n")
    assert tail.poll() == [(7, "b 3")]


ROTATING_WRITER = """
import os, sys, time
path = sys.argv[1]
for i in range(30):
    if i == 10:
        os.rename(path, path + ".1")
    with open(path, "a") as out:
        out.write(f"epoch {i}: loss={i}\\n")
    time.sleep(0.02)
"""


def test_collector_reads_every_line_across_a_rotation(
    tmp_path: Path, db_manager: Any, collector: Any, observations: Any, wait_until: Any
) -> None:
    name, log = trial(), tmp_path / "metrics.log"
    address = f"127.0.0.1:{db_manager.port}"
    writer = tmp_path / "rotate.py"
    writer.write_text(ROTATING_WRITER)
    proc = collector(
        "-t", name, "-m", "loss", "-s-db", address, "-path", str(log), "-format", "TEXT", "-p", "100ms",
    )  # fmt: skip
    subprocess.run([sys.executable, str(writer), str(log)], check=True, timeout=60)
    wait_until(lambda: len(observations(address, name, "loss")) >= 30, 20)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert sorted(int(v) for _, _, v in observations(address, name, "loss")) == list(range(30))


def test_memory_does_not_grow_with_line_length(
    tmp_path: Path, db_manager: Any, observations: Any, measured_collector: Any
) -> None:
    """A 50 MB line took the collector to 206 MB; now it costs no more than a small log."""
    address = f"127.0.0.1:{db_manager.port}"
    small, huge = tmp_path / "small.log", tmp_path / "huge.log"
    small.write_text("loss=1\nloss=2\n")
    with huge.open("w") as out:
        out.write("loss=1\n")
        for _ in range(50):
            out.write("loss " * 209_716)  # 50 MB on one line
        out.write("\nloss=2\n")
    peaks = []
    for log in (small, huge):
        name = trial()
        flags = [
            "-t",
            name,
            "-m",
            "loss",
            "-s-db",
            address,
            "-path",
            str(log),
            "-format",
            "TEXT",
            "-p",
            "100ms",
        ]
        code, peak = measured_collector(
            flags, lambda name=name: [v for _, _, v in observations(address, name, "loss")] == ["1", "2"]
        )
        assert code == 0
        peaks.append(peak)
    assert peaks[1] - peaks[0] < 24 * 1024, f"peak RSS {peaks[1]} KiB against {peaks[0]} KiB for a small log"


def config(*argv: str) -> CollectorConfig:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return config_from_args(parser.parse_args(["metrics-collector", "-t", "t", "-format", "TEXT", *argv]))


def test_metric_names_may_contain_semicolons() -> None:
    names = ["val;acc", "loss", "a\\"]
    joined = join_flag_list(names)
    assert joined == "val\\;acc;loss;a\\"
    assert split_flag_list(joined) == names
    assert config("-m", joined).metric_names == names
    assert config("-m", "accuracy;loss").metric_names == ["accuracy", "loss"]  # Katib's join, unchanged


def test_filters_keep_an_escaped_semicolon() -> None:
    filters = [r"(\w+);(\d+)", r"(\w+)=(\d+)"]
    read = config("-m", "a", "-f", join_flag_list(filters)).filters
    assert read == filters
    assert [(o.name, o.value) for o in TextParser(["a"], read).parse("a;5 a=6")] == [
        ("a", "5"),
        ("a", "6"),
    ]
