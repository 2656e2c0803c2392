"""Waiting for the training container through a shared PID namespace (Katib's `pns` wait).

In a pod with `shareProcessNamespace: true` every container's first process has parent pid 0
(its parent lives outside the namespace); pid 1 is the pause container. The main process is the
one whose command line writes `echo completed > <metricsDir>` (the wrapped command), else the
first such process. When it is gone, `<metricsDir>/<pid>.pid` says how it ended:
`completed`, `early-stopped`, or anything else (failed).
"""

from __future__ import annotations

import logging
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcessInfo:
    pid: int
    ppid: int
    state: str
    cmdline: str


def read_process(pid: int) -> ProcessInfo | None:
    """/proc/<pid>/stat and cmdline, or None when the process is gone."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name is in parentheses and may contain spaces: split after the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    return ProcessInfo(pid, int(fields[1]), fields[0], raw.replace(b"\0", b" ").decode(errors="replace"))


def all_processes() -> list[ProcessInfo]:
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            info = read_process(int(entry.name))
            if info is not None:
                found.append(info)
    return found


def top_level_processes() -> list[ProcessInfo]:
    """Other containers' first processes: parent pid 0, not pid 1, not us, not kernel threads."""
    me = os.getpid()
    return sorted(
        (p for p in all_processes() if p.ppid == 0 and p.pid not in (1, me) and p.cmdline.strip()),
        key=lambda p: p.pid,
    )


def is_alive(pid: int) -> bool:
    info = read_process(pid)
    return info is not None and info.state not in ("Z", "X")


def children_of(pid: int) -> list[int]:
    return [p.pid for p in all_processes() if p.ppid == pid and p.state not in ("Z", "X")]


def terminate_children(pid: int) -> list[int]:
    """SIGTERM the training process started by the main shell (Katib's early stop)."""
    killed = []
    for child in children_of(pid):
        try:
            os.kill(child, signal.SIGTERM)
            killed.append(child)
        except ProcessLookupError:
            pass
    return killed


def pid_file(metrics_dir: Path, pid: int) -> Path:
    return metrics_dir / f"{pid}.pid"


def ending_of(metrics_dir: Path, pid: int) -> str:
    """`completed`, `early-stopped`, or `failed` (the wrapped command wrote nothing else)."""
    try:
        first = pid_file(metrics_dir, pid).read_text().splitlines()[0].strip()
    except (FileNotFoundError, IndexError):
        return "failed"
    return first if first in ("completed", "early-stopped") else "failed"


@dataclass
class MainProcessWatch:
    """Finds the main process (re-scanning until it appears) and tells when it has ended."""

    metrics_dir: Path
    wait_all: bool = True
    main_pid: int | None = None
    others: list[int] = field(default_factory=list)

    def discover(self) -> bool:
        if self.main_pid is not None:
            return True
        procs = top_level_processes()
        if not procs:
            return False
        marker = f"echo completed > {self.metrics_dir}"
        wrapped = [p for p in procs if marker in p.cmdline]
        main = wrapped[0] if wrapped else procs[0]
        self.main_pid = main.pid
        log.info("main process %d: %s", main.pid, main.cmdline[:200])
        self.others = [p.pid for p in procs if p.pid != main.pid]
        return True

    def state(self) -> str:
        """`none` (no main process seen), `running`, or the main process's ending."""
        if not self.discover():
            return "none"
        assert self.main_pid is not None
        if is_alive(self.main_pid):
            return "running"
        if self.wait_all and any(is_alive(pid) for pid in self.others):
            return "running"
        return ending_of(self.metrics_dir, self.main_pid)
