"""Real databases for db-manager tests: SQLite, MariaDB and PostgreSQL, one private schema per test."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import psycopg
import pymysql
import pytest
from grpc_health.v1 import health_pb2_grpc

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
