"""Real databases for db-manager tests: SQLite, MariaDB and PostgreSQL, one private schema per test."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import psycopg
import pymysql
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from katib_py.dbmanager.server import DBManagerServer
from katib_py.dbmanager.settings import DBSettings, load
from katib_py.proto import api_pb2_grpc

# MariaDB and PostgreSQL on 127.0.0.1 (`pytest -m "not db"` runs without them; CI runs all).
BACKENDS = [
    "sqlite",
    pytest.param("mariadb", marks=pytest.mark.db),
    pytest.param("postgresql", marks=pytest.mark.db),
]


def private_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database (SQLite file, MariaDB database or PostgreSQL schema); dropped after."""
    name = f"katibpy_{uuid.uuid4().hex[:12]}"
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'katib.db'}"
    elif backend == "mariadb":
        admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", database="test", autocommit=True)
        try:
            admin.cursor().execute(f"CREATE DATABASE {name}")
            yield f"mysql+pymysql://root@127.0.0.1:3306/{name}?charset=utf8mb4"
        finally:
            admin.cursor().execute(f"DROP DATABASE IF EXISTS {name}")
            admin.close()
    else:
        admin = psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True)
        try:
            admin.execute(f"CREATE SCHEMA {name}")
            yield f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{name}"
        finally:
            admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
            admin.close()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from private_database(request.param, tmp_path)


@dataclass
class RunningDBManager:
    server: DBManagerServer
    channel: grpc.Channel
    stub: api_pb2_grpc.DBManagerStub
    health: health_pb2_grpc.HealthStub
    url: str


def start_db_manager(url: str, wait_ready: bool = True) -> RunningDBManager:
    server = DBManagerServer(DBSettings(load(env={}, db_url=url).url), "127.0.0.1:0", connect_timeout=2)
    server.start()
    if wait_ready:
        assert server.ready.wait(60), "db-manager never reached the database"
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    return RunningDBManager(
        server, channel, api_pb2_grpc.DBManagerStub(channel), health_pb2_grpc.HealthStub(channel), url
    )


@pytest.fixture
def dbm(db_url: str) -> Iterator[RunningDBManager]:
    running = start_db_manager(db_url)
    try:
        yield running
    finally:
        running.channel.close()
        running.server.stop(grace=1)


def wait_for(predicate: object, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached")


@pytest.fixture
def db_manager_factory() -> Iterator[object]:
    """Start more db-managers in a test (stopped at the end)."""
    started: list[RunningDBManager] = []

    def factory(url: str, wait_ready: bool = True) -> RunningDBManager:
        running = start_db_manager(url, wait_ready)
        started.append(running)
        return running

    yield factory
    for running in started:
        running.channel.close()
        running.server.stop(grace=1)


@pytest.fixture
def mariadb_url(tmp_path: Path) -> Iterator[str]:
    yield from private_database("mariadb", tmp_path)


@pytest.fixture(name="wait_for")
def wait_for_fixture() -> object:
    return wait_for


REPO = Path(__file__).resolve().parents[2]


@dataclass
class DBManagerProcess:
    """`katib-py db-manager` as a process, and a channel to it that sends and receives any size."""

    proc: subprocess.Popen[bytes]
    channel: grpc.Channel
    stub: api_pb2_grpc.DBManagerStub

    def serving(self) -> bool:
        reply = health_pb2_grpc.HealthStub(self.channel).Check(health_pb2.HealthCheckRequest(), timeout=30)
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    def answers(self) -> bool:
        try:
            return self.serving()
        except grpc.RpcError:
            return False

    def peak_rss_kib(self) -> int:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+)", status).group(1))  # type: ignore[union-attr]


@pytest.fixture
def db_manager_process() -> Iterator[Callable[[str], DBManagerProcess]]:
    """db_manager_process(url): db-manager started as its own process, serving; killed after the test."""
    started: list[DBManagerProcess] = []

    def start(url: str) -> DBManagerProcess:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        cmd = [
            sys.executable,
            "-m",
            "katib_py.cli",
            "db-manager",
            "--listen",
            f"127.0.0.1:{port}",
            "--db-url",
            url,
        ]
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        channel = grpc.insecure_channel(
            f"127.0.0.1:{port}", options=[("grpc.max_receive_message_length", -1)]
        )
        served = DBManagerProcess(proc, channel, api_pb2_grpc.DBManagerStub(channel))
        started.append(served)
        deadline = time.monotonic() + 60
        while not served.answers():
            assert proc.poll() is None and time.monotonic() < deadline, "db-manager did not start"
            time.sleep(0.2)
        return served

    yield start
    for served in started:
        served.channel.close()
        served.proc.kill()
        served.proc.wait(10)
