"""Reports of one row (a collector while its trial logs slowly) take one INSERT ... WHERE NOT EXISTS.

The duplicate check and the insert are one statement there, and db-manager no longer pings a
connection before each use: these tests hold that path to the rules of the batch path (exact
names, retries stored once, copies at once stored once) and show a connection the database
dropped being replaced without an error reaching the client.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest
import sqlalchemy as sa

from katib_py.proto import api_pb2
from tests.dbmanager.conftest import private_database, start_db_manager
from tests.dbmanager.test_bad_rows import STAMP, report, stored, trial
from tests.dbmanager.test_concurrent_retries import at_once


def test_one_row_reports_compare_names_and_values_exactly(dbm: Any) -> None:
    """MariaDB's collation takes `Loss`, `loss ` and `1 ` for `loss` and `1`: each is a row of its own."""
    name = trial()
    rows = [
        (STAMP.format(0), "loss", "1"),
        (STAMP.format(0), "Loss", "1"),
        (STAMP.format(0), "loss ", "1"),
        (STAMP.format(0), "loss", "1 "),
        (STAMP.format(0), "loss", "1.0"),
        (STAMP.format(1), "loss", "1"),
    ]
    for row in rows:
        report(dbm, name, [row])
    for row in rows:  # every retry of one of them: stored already
        report(dbm, name, [row])
    report(dbm, name.upper(), rows[:1])  # another trial's row
    assert sorted(stored(dbm, name)) == sorted(rows)
    assert stored(dbm, name.upper()) == rows[:1]


def test_one_row_copies_at_once_are_stored_once(dbm: Any, db_manager_factory: Any) -> None:
    replica = db_manager_factory(dbm.url)
    stubs = [dbm.stub, replica.stub]
    counts = []
    for _ in range(10):
        name = trial()
        copy = api_pb2.ReportObservationLogRequest(
            trial_name=name,
            observation_log=api_pb2.ObservationLog(
                metric_logs=[
                    api_pb2.MetricLog(
                        time_stamp=STAMP.format(3), metric=api_pb2.Metric(name="loss", value="0.5")
                    )
                ]
            ),
        )
        at_once(
            [
                lambda stub=stubs[i % 2], copy=copy: stub.ReportObservationLog(copy, timeout=60)
                for i in range(8)
            ]
        )
        counts.append(len(stored(dbm, name)))
    assert counts == [1] * 10


def drop_connections(backend: str, url: str) -> int:
    """End, from another session, the db-manager's sessions (its database on MariaDB, its
    application_name on PostgreSQL); how many there were."""
    parsed = sa.make_url(url)
    if backend == "mariadb":
        admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", database="test", autocommit=True)
        try:
            cursor = admin.cursor()
            cursor.execute("SELECT id FROM information_schema.processlist WHERE db = %s", (parsed.database,))
            ids = [row[0] for row in cursor.fetchall()]
            for session in ids:
                cursor.execute(f"KILL {int(session)}")
            return len(ids)
        finally:
            admin.close()
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (parsed.query["application_name"],),
        ).fetchall()
        return len(rows)


@pytest.mark.db
@pytest.mark.parametrize("backend", ["mariadb", "postgresql"])
def test_a_connection_the_database_dropped_is_replaced_without_an_error(backend: str, tmp_path: Path) -> None:
    for url in private_database(backend, tmp_path):
        if backend == "postgresql":
            url += f"&application_name=katibpy_{uuid.uuid4().hex[:12]}"
        running = start_db_manager(url)
        try:
            name = trial()
            report(running, name, [(STAMP.format(0), "loss", "1")])  # leaves a connection in the pool
            assert drop_connections(backend, url) >= 1
            report(running, name, [(STAMP.format(1), "loss", "2")])  # tried on the dropped one first
            assert drop_connections(backend, url) >= 1
            report(running, name, [(STAMP.format(t), "loss", str(t + 1)) for t in range(1, 4)])
            assert drop_connections(backend, url) >= 1
            assert stored(running, name) == [(STAMP.format(t), "loss", str(t + 1)) for t in range(4)]
        finally:
            running.channel.close()
            running.server.stop(grace=1)
