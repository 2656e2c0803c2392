"""A SIGTERM at any moment of the collector's start-up still leads to a full read and flush.

A native sidecar is sent SIGTERM as soon as the main container ends; a main container that exits
at once can do that while the collector's Python is still starting (before any handler exists),
which killed it with status 143 and stored nothing. Started as `env --block-signal=TERM katib-py
metrics-collector ...` (coreutils env blocks SIGTERM before it execs), the signal stays pending
until the collector has its handler, and the collector unblocks it then. The random moments start
once `env` has blocked the signal (its own start, about a millisecond, is the one window left).
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

RUNS = 40
AT_ONCE = 4
LAUNCHER = ["env", "--block-signal=TERM"]


def start(address: str, name: str, log: Path) -> subprocess.Popen[bytes]:
    katib_py = str(Path(sys.executable).with_name("katib-py"))
    cmd = [
        *LAUNCHER, katib_py, "metrics-collector", "-t", name, "-m", "loss", "-s-db", address,
        "-path", str(log), "-format", "TEXT", "-timeout", "20s",
    ]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_until_blocked(pid: int) -> None:
    """Until the launcher has blocked SIGTERM (/proc/PID/status SigBlk), so the test aims after it."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        fields = dict(
            line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
        )
        if int(fields["SigBlk"], 16) & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.0002)
    raise AssertionError(f"{LAUNCHER} never blocked SIGTERM in process {pid}")


def test_sigterm_at_random_early_moments_never_loses_the_metrics(
    tmp_path: Path, db_manager: Any, observations: Any
) -> None:
    address = f"127.0.0.1:{db_manager.port}"
    rng = random.Random(14)
    failures = []
    started = time.monotonic()
    for first in range(0, RUNS, AT_ONCE):
        batch = []
        for run in range(first, first + AT_ONCE):
            name, log = f"trial-{uuid.uuid4().hex[:10]}", tmp_path / f"run{run}" / "metrics.log"
            log.parent.mkdir()
            if run % 2:
                log.write_text(f"loss={run}\n")  # the main container printed one line and exited
            proc = start(address, name, log)
            wait_until_blocked(proc.pid)
            batch.append((run, name, proc, rng.uniform(0.0, 0.4), time.monotonic()))
        for _, _, proc, delay, blocked in sorted(batch, key=lambda item: item[3] + item[4]):
            time.sleep(max(0.0, blocked + delay - time.monotonic()))
            proc.send_signal(signal.SIGTERM)
        for run, name, proc, delay, _ in batch:
            when = f"run {run}, SIGTERM {delay * 1000:.0f} ms after the launcher blocked it"
            try:
                _, err = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
                failures.append(f"{when}: did not finish")
                continue
            expected = [str(run) if run % 2 else "unavailable"]
            stored = [value for _, _, value in observations(address, name, "loss")]
            if proc.returncode != 0 or stored != expected:
                log_tail = err.decode(errors="replace")[-300:]
                failures.append(f"{when}: exit {proc.returncode}, stored {stored}, log: {log_tail!r}")
    assert not failures, "\n".join(failures)
    assert time.monotonic() - started < 240
