"""A real db-manager, a fake training process and the collector as a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pymysql
import pytest

from katib_py.dbmanager.server import DBManagerServer
from katib_py.dbmanager.settings import load
from katib_py.proto import api_pb2, api_pb2_grpc

REPO = Path(__file__).resolve().parents[2]

WRITER = """
import json, sys, time
count, delay, fmt = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
for i in range(count):
    if fmt == "json":
        print(json.dumps({"loss": i, "accuracy": str(i / 1000)}), flush=True)
        if i % 10 == 5:
            print("{not json at all", flush=True)
    elif fmt == "low":
        print(f"epoch {i} accuracy=0.0{i % 10}", flush=True)
    elif fmt == "none":
        print(f"epoch {i} nothing to see", flush=True)
    else:
        print(f"epoch {i}: loss={i} accuracy=0.{i:04d}", flush=True)
    time.sleep(delay)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def writer_script(tmp_path: Path) -> Path:
    path = tmp_path / "writer.py"
    path.write_text(WRITER)
    return path


class DBManagerProcess:
    """`katib-py db-manager` as a process that a test can kill and start again on the same port."""

    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.port = free_port()
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [sys.executable, "-m", "katib_py.cli", "db-manager", "--listen", f"127.0.0.1:{self.port}"]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([*cmd, "--db-url", self.url], cwd=REPO, stdout=out, stderr=out)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(20)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    (tmp_path / "db").mkdir()
    return f"sqlite:///{tmp_path / 'db' / 'katib.db'}"


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    name = f"katibpy_{uuid.uuid4().hex[:12]}"
    admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", database="test", autocommit=True)
    try:
        admin.cursor().execute(f"CREATE DATABASE {name}")
        yield f"mysql+pymysql://root@127.0.0.1:3306/{name}?charset=utf8mb4"
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()


@pytest.fixture
def db_manager_process(tmp_path: Path) -> Iterator[Callable[[str], DBManagerProcess]]:
    started: list[DBManagerProcess] = []

    def make(url: str) -> DBManagerProcess:
        proc = DBManagerProcess(url, tmp_path / "db-manager.log")
        proc.start()
        started.append(proc)
        return proc

    yield make
    for proc in started:
        proc.kill()


@pytest.fixture
def db_manager(sqlite_url: str) -> Iterator[DBManagerServer]:
    server = DBManagerServer(load(env={}, db_url=sqlite_url), "127.0.0.1:0")
    server.start()
    assert server.ready.wait(30)
    yield server
    server.stop(grace=1)


def observation_values(address: str, trial: str, metric: str = "") -> list[tuple[str, str, str]]:
    with grpc.insecure_channel(address) as channel:
        reply = api_pb2_grpc.DBManagerStub(channel).GetObservationLog(
            api_pb2.GetObservationLogRequest(trial_name=trial, metric_name=metric),
            timeout=30,
            wait_for_ready=True,
        )
    return [(m.time_stamp, m.metric.name, m.metric.value) for m in reply.observation_log.metric_logs]


@pytest.fixture(name="observations")
def observations_fixture() -> Callable[..., list[tuple[str, str, str]]]:
    return observation_values


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start `katib-py metrics-collector` with the given flags (stdout/stderr captured)."""
    procs: list[subprocess.Popen[str]] = []

    def start(*flags: str, prefix: tuple[str, ...] = ()) -> subprocess.Popen[str]:
        cmd = [*prefix, sys.executable, "-m", "katib_py.cli", "metrics-collector", *flags]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        proc = subprocess.Popen(
            cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        procs.append(proc)
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:  # wait until it runs (and handles SIGTERM)
            seen.append(line)
            if "collecting metrics" in line:
                break
        proc.startup_log = "".join(seen)  # type: ignore[attr-defined]
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


PEAK_RSS = """
import resource, signal, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
signal.signal(signal.SIGTERM, lambda *_: child.terminate())
code = child.wait()
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


@pytest.fixture
def measured_collector(tmp_path: Path) -> Callable[..., tuple[int, int]]:
    """measured_collector(flags, until): run the collector until `until()` holds, SIGTERM it, and
    return its exit status and peak RSS in KiB (read by a parent process once it has exited)."""
    (tmp_path / "peak.py").write_text(PEAK_RSS)

    def run(flags: list[str], until: Callable[[], bool]) -> tuple[int, int]:
        cmd = [sys.executable, str(tmp_path / "peak.py"), sys.executable, "-m", "katib_py.cli"]
        proc = subprocess.Popen(
            [*cmd, "metrics-collector", *flags],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            wait_until(until, 120)
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=120)
        finally:
            proc.kill()
        code, peak = out.split()
        return int(code), int(peak)

    return run


def wait_until(predicate: Callable[[], bool], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


@pytest.fixture(name="wait_until")
def wait_until_fixture() -> Callable[..., None]:
    return wait_until
