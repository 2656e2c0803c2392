"""Metrics collector read throughput: a TEXT log of N lines, default filter and a user filter.

    .venv/bin/python -m bench.collector_bench [--lines 1000000]

Rows, all on the same file in the same run: `wc -l` and a pure Python read loop (the floor),
Katib's default regex with Python's `findall` line by line, the plain per-line path
(`LineTail.finish` lines through `read_lines`, the collector before block reading), and the
collector's path (`LineSource.drain`: tail blocks through `TextParser.read`). Rates are lines per
CPU second of the reading process (of `wc` for its row), so that other work on a shared machine
does not count; wall seconds are shown beside them. Both collector paths must find the same
metrics, or the benchmark fails.

A second table is the sidecar's start-up, which every StdOut trial pays once: the median over
`--starts` runs of a bare `python -c pass` (the floor), of importing what the sidecar loads before
it reads a line (with and without the TensorFlowEvent reader, numpy included, which only that
collector needs now), and of the `katib-py metrics-collector --help` console script.
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.dbmanager_bench import table
from katib_py.metricscollector.collector import CollectorConfig, LineSource
from katib_py.metricscollector.parse import KATIB_DEFAULT_FILTER, TextParser, read_lines
from katib_py.metricscollector.tail import LineTail

USER_FILTER = r"([\w|-]+)\s*:\s*([+-]?\d+(?:\.\d+)?)"
NAMES = ["loss", "accuracy"]


def write_log(path: Path, lines: int, separator: str) -> None:
    """3 of 4 lines carry two metrics (`name=value` or `name: value`), the 4th none."""
    with path.open("w") as stream:
        for i in range(lines):
            if i % 4 == 3:
                stream.write(f"INFO step {i} data loader ready, {i * 7} samples\n")
            else:
                stream.write(
                    f"epoch {i // 100} step {i}: loss{separator}{1 / (i + 1):.6f} "
                    f"accuracy{separator}{i / lines:.4f}\n"
                )


def measure(fn: Callable[[], object]) -> tuple[object, float, float]:
    """fn's result, its CPU seconds (this process and waited-for children) and wall seconds."""

    def cpu() -> float:
        return time.process_time() + resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime

    cpu_start, wall_start = cpu(), time.perf_counter()
    result = fn()
    return result, cpu() - cpu_start, time.perf_counter() - wall_start


def collector(path: Path, filters: list[str]) -> list[tuple[str, str, str]]:
    config = CollectorConfig(
        trial_name="t", metric_names=NAMES, maximize=True, db_manager_address="", kind="TEXT",
        path=path, filters=filters, echo=False,
    )  # fmt: skip
    source = LineSource(config)
    found = [metric for part in source.drain() for metric in part]
    source.tail.close()
    return found


def per_line(path: Path, filters: list[str]) -> list[tuple[str, str, str]]:
    parser, tail = TextParser(NAMES, filters), LineTail(path)
    found: list[tuple[str, str, str]] = []
    while lines := tail.finish():
        found += read_lines(parser, lines)[0]
    tail.close()
    return found


def read_loop(path: Path) -> int:
    with path.open("rb") as stream:
        return sum(1 for _ in stream)


def katib_regex(path: Path) -> int:
    pattern = re.compile(KATIB_DEFAULT_FILTER)
    with path.open() as stream:
        return sum(len(pattern.findall(line)) for line in stream)


def wc(path: Path) -> int:
    return int(
        subprocess.run(["wc", "-l", str(path)], capture_output=True, check=True, text=True).stdout.split()[0]
    )


def bench(lines: int) -> list[list[str]]:
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as folder:
        for label, separator, filters in (("default filter", "=", []), ("user filter", ": ", [USER_FILTER])):
            path = Path(folder) / f"metrics-{len(rows)}.log"
            write_log(path, lines, separator)
            runs: list[tuple[str, Callable[[], object]]] = [
                ("`wc -l` (floor)", lambda path=path: wc(path)),
                ("Python read loop (floor)", lambda path=path: read_loop(path)),
                ("plain per-line path (baseline)", lambda path=path, f=filters: per_line(path, f)),
                ("collector: blocks (ours)", lambda path=path, f=filters: collector(path, f)),
            ]
            if not filters:
                runs.insert(
                    2, ("Katib's regex, Python findall per line", lambda path=path: katib_regex(path))
                )
            results = [(name, *measure(fn)) for name, fn in runs]
            found = {name: result for name, result, _, _ in results if isinstance(result, list)}
            baseline, ours = found["plain per-line path (baseline)"], found["collector: blocks (ours)"]
            assert ours == baseline, f"{label}: the block reader found other metrics than the per-line path"
            base_cpu = next(cpu for name, _, cpu, _ in results if name.startswith("plain"))
            for name, result, cpu, wall in results:
                count = len(result) if isinstance(result, list) else result
                rows.append(
                    [label, name, f"{count:,}", f"{cpu:.2f}", f"{wall:.2f}", f"{lines / cpu:,.0f}",
                     f"{base_cpu / cpu:.2f}x"]
                )  # fmt: skip
    return rows


def startup(starts: int) -> list[list[str]]:
    """Median CPU and wall seconds of each start-up command, and its ratio to the bare interpreter."""
    scripts = Path(sys.executable).parent
    commands = [
        ("python -c pass (floor)", [sys.executable, "-c", "pass"]),
        ("import the sidecar (katib_py.metricscollector.cli)",
         [sys.executable, "-c", "import katib_py.metricscollector.cli"]),
        ("... and the TF event reader, as every sidecar did before",
         [sys.executable, "-c", "import katib_py.metricscollector.cli, katib_py.metricscollector.tfevents"]),
        ("katib-py metrics-collector --help", [str(scripts / "katib-py"), "metrics-collector", "--help"]),
    ]  # fmt: skip
    rows: list[list[str]] = []
    floor = 0.0
    for name, command in commands:
        samples = [
            measure(lambda c=command: subprocess.run(c, check=True, stdout=subprocess.DEVNULL))[1:]
            for _ in range(starts)
        ]
        cpu = statistics.median(c for c, _ in samples)
        wall = statistics.median(w for _, w in samples)
        floor = floor or cpu
        rows.append([name, f"{cpu * 1000:.0f}", f"{wall * 1000:.0f}", f"{cpu / floor:.1f}x"])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines in the log")
    parser.add_argument("--starts", type=int, default=10, help="runs of each start-up command")
    args = parser.parse_args(argv)
    table(
        f"Metrics collector, {args.lines:,}-line TEXT log (3 of 4 lines carry 2 metrics); "
        "rate = lines per CPU second",
        ["filter", "reader", "lines or metrics", "CPU s", "wall s", "lines/CPU s", "vs per-line"],
        bench(args.lines),
    )
    table(
        f"Metrics collector sidecar start-up, median of {args.starts} runs",
        ["command", "CPU ms", "wall ms", "CPU vs bare python"],
        startup(args.starts),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
