"""`katib-py cluster up|down`: run the embedded control plane in the foreground, or stop it."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import faulthandler
import os
import signal
import sys
import time
from pathlib import Path


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "katib-py" / "cluster"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("cluster", help="run the embedded Kubernetes-compatible control plane")
    sub = parser.add_subparsers(dest="cluster_command", metavar="{up,down}", required=True)
    up = sub.add_parser("up", help="start the control plane in the foreground")
    up.add_argument(
        "--data-dir", type=Path, default=None, help=f"state directory (default {default_data_dir()})"
    )
    up.add_argument("--port", type=int, default=0, help="API server port on 127.0.0.1 (default: a free port)")
    up.add_argument("--in-memory", action="store_true", help="keep API objects in memory only")
    up.set_defaults(func=cmd_up, log_default="WARNING")
    down = sub.add_parser("down", help="stop a control plane started with `cluster up`")
    down.add_argument("--data-dir", type=Path, default=None)
    down.add_argument("--timeout", type=float, default=60.0)
    down.set_defaults(func=cmd_down)


def _pid_file(data_dir: Path) -> Path:
    return data_dir / "cluster.pid"


def cmd_up(args: argparse.Namespace) -> int:
    from .cluster import LocalCluster

    data_dir = (args.data_dir or default_data_dir()).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pid_file = _pid_file(data_dir)
    if pid_file.exists():
        with contextlib.suppress(ValueError, OSError):
            old = int(pid_file.read_text().strip())
            if not _alive(old):
                raise ValueError("stale pid file")
            print(f"a cluster is already running from {data_dir} (pid {old})", file=sys.stderr)
            return 1

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 PID` dumps stacks

    async def main() -> None:
        cluster = LocalCluster(data_dir, port=args.port, in_memory=args.in_memory)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await cluster.start()
        pid_file.write_text(f"{os.getpid()}\n")
        print(f"katib-py cluster is up at {cluster.url}")
        print(f"export KUBECONFIG={cluster.kubeconfig}", flush=True)
        try:
            await stop.wait()
        finally:
            await cluster.stop()

    try:
        asyncio.run(main())
    finally:
        with contextlib.suppress(OSError):
            if pid_file.read_text().strip() == str(os.getpid()):
                pid_file.unlink()
    return 0


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting for its parent to reap it counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError, IndexError), open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def cmd_down(args: argparse.Namespace) -> int:
    data_dir = (args.data_dir or default_data_dir()).resolve()
    pid_file = _pid_file(data_dir)
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        print(f"no cluster running from {data_dir}", file=sys.stderr)
        return 1
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pid_file.unlink(missing_ok=True)
        print(f"no cluster running from {data_dir} (stale pid file removed)", file=sys.stderr)
        return 1
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            print("katib-py cluster is down")
            return 0
        time.sleep(0.1)
    print(f"cluster (pid {pid}) did not stop within {args.timeout}s", file=sys.stderr)
    return 1
