"""Observation logs in SQL: the three DBManager operations on SQLAlchemy Core.

ReportObservationLog is idempotent for retries. The wire carries no request id, so a row is
treated as already stored when the same trial already has a row with the same metric name,
time and value. The duplicate check is one indexed range query per request over
(trial_name, metric_name IN request's metrics, time BETWEEN the request's first and last time).
Rows repeated inside one request are all kept: only rows already in the table are dropped.

Check and insert run under a per-trial lock, so that copies of a report arriving together (a
retry racing the attempt it repeats, or reports through two db-manager replicas) cannot both
find the rows missing: a PostgreSQL advisory lock or a MySQL/MariaDB `GET_LOCK` on a hash of the
trial name (other trials are not held up), or SQLite's `BEGIN IMMEDIATE` (one writer at a time).
Named locks rather than a unique key: Katib's table holds legitimate duplicate rows (its collector
stores every untimed line at the zero time), which a unique index on Katib's columns would refuse
to build, and Katib's own db-manager must keep writing to the table unchanged.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    LargeBinary,
    bindparam,
    cast,
    create_engine,
    delete,
    exists,
    insert,
    select,
    text,
)
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from katib_py.dbmanager.schema import observation_logs

T = observation_logs.c
R = TypeVar("R")
LOCK_WAIT_SECONDS = 60
log = logging.getLogger(__name__)

# PostgreSQL: a transaction-level advisory lock, released by the commit or rollback that ends the
# work. MySQL/MariaDB: a named lock held by the session until released (after the commit).
PG_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
MYSQL_LOCK = text("SELECT GET_LOCK(:key, :wait)")
MYSQL_UNLOCK_SQL = "SELECT RELEASE_LOCK(%s)"  # pymysql's paramstyle


class LockTimeout(SQLAlchemyError):
    """Another report of the same trial held the trial's lock for LOCK_WAIT_SECONDS."""


def lock_key(dialect: str, trial_name: str) -> str | int:
    """The trial's lock name: at most 64 characters for MySQL, a signed 64-bit number for PostgreSQL."""
    digest = hashlib.sha256(trial_name.encode("utf-8")).digest()
    if dialect == "postgresql":
        return int.from_bytes(digest[:8], "big", signed=True)
    return f"katib_py_trial_{digest.hex()[:40]}"


@dataclass(frozen=True, slots=True)
class LogRow:
    """One metric value at one time (naive UTC, microsecond precision)."""

    time: datetime
    metric_name: str
    value: str


def make_engine(url: URL, connect_timeout: float = 5.0) -> Engine:
    """The engine, with the round trips of a report cut to the work itself.

    No ping before each use (`pool_pre_ping`, a round trip a report): a connection the database
    dropped fails its first statement, the pool is refreshed, and `ObservationStore` runs the
    work once more on a new connection. No rollback when a connection goes back to the pool
    (`reset_on_return`, another round trip): every transaction here ends by a commit, or by the
    rollback with which `Connection.close` ends an open one.
    """
    connect_args: dict[str, Any] = {}
    backend = url.get_backend_name()
    if backend in ("mysql", "mariadb") or backend == "postgresql":
        connect_args = {"connect_timeout": max(1, int(connect_timeout))}
    elif backend == "sqlite":
        connect_args = {"check_same_thread": False, "timeout": 30}
    return create_engine(url, pool_recycle=3600, pool_reset_on_return=None, connect_args=connect_args)


def _insert_if_new(dialect: str) -> Any:
    """INSERT one row unless its trial already holds it: the duplicate check and the insert in one
    statement (one round trip). Names and value compare exactly: as bytes on MySQL/MariaDB, whose
    collations take `Loss` and `loss ` for `loss`."""
    fields = {
        "trial_name": bindparam("trial_name", type_=T.trial_name.type),
        "time": bindparam("time", type_=T.time.type),
        "metric_name": bindparam("metric_name", type_=T.metric_name.type),
        "value": bindparam("value", type_=T.value.type),
    }
    same = [T[name] == param for name, param in fields.items()]
    if dialect == "mysql":
        same += [
            cast(T[name], LargeBinary) == cast(fields[name], LargeBinary)
            for name in ("trial_name", "metric_name", "value")
        ]
    new = select(*fields.values()).where(~exists().where(*same))
    return insert(observation_logs).from_select(list(fields), new)


class ObservationStore:
    """Reads and writes `observation_logs` through one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert_one = _insert_if_new(engine.dialect.name)

    def _again_if_disconnected(self, work: Callable[[], R]) -> R:
        """work(), once more if the database had dropped the connection (see make_engine); safe for
        reports too, which store each row once however often they run."""
        try:
            return work()
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            log.info("database connection lost (%s): once more on a new connection", exc.__class__.__name__)
            return work()

    def ping(self) -> None:
        """`SELECT 1`; raises when the database does not answer."""

        def work() -> None:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1")).all()

        self._again_if_disconnected(work)

    def report(self, trial_name: str, rows: Sequence[LogRow]) -> int:
        """Insert the rows the table does not already hold; returns how many were inserted."""
        return self._again_if_disconnected(lambda: self._report(trial_name, rows))

    def _report(self, trial_name: str, rows: Sequence[LogRow]) -> int:
        if not rows:
            return 0
        if len(rows) == 1:  # what a collector sends while a trial logs slowly
            (row,) = rows
            with self._trial_locked(trial_name) as connection:
                inserted = connection.execute(
                    self._insert_one,
                    {
                        "trial_name": trial_name,
                        "time": row.time,
                        "metric_name": row.metric_name,
                        "value": row.value,
                    },
                ).rowcount
                connection.commit()
            return int(inserted)
        low = min(r.time for r in rows)
        high = max(r.time for r in rows)
        names = sorted({r.metric_name for r in rows})
        with self._trial_locked(trial_name) as connection:
            stored = connection.execute(
                select(T.metric_name, T.time, T.value, T.trial_name).where(
                    T.trial_name == trial_name,
                    T.metric_name.in_(names),
                    T.time >= low,
                    T.time <= high,
                )
            ).all()
            # Exact names: MySQL/MariaDB collations also return `T`'s rows for `t`, `Loss`'s for `loss`.
            seen = {(name, time, value) for name, time, value, trial in stored if trial == trial_name}
            fresh = [
                {"trial_name": trial_name, "time": r.time, "metric_name": r.metric_name, "value": r.value}
                for r in rows
                if (r.metric_name, r.time, r.value) not in seen
            ]
            if len(fresh) == 1:
                connection.execute(insert(observation_logs), fresh[0])
            elif fresh:
                connection.execute(insert(observation_logs), fresh)
            connection.commit()
        return len(fresh)

    @contextmanager
    def _trial_locked(self, trial_name: str) -> Iterator[Connection]:
        """A connection whose transaction no other report of `trial_name` runs beside; the caller commits.

        The lock comes before the work's first read, so the work's snapshot (taken at that read in
        MySQL's REPEATABLE READ, at each statement in PostgreSQL's READ COMMITTED) holds what the
        last holder committed.
        """
        dialect = self.engine.dialect.name
        key = lock_key(dialect, trial_name)
        if dialect == "postgresql":
            with self.engine.connect().execution_options(isolation_level="READ COMMITTED") as connection:
                connection.execute(PG_LOCK, {"key": key})
                yield connection
            return
        with self.engine.connect() as connection:
            if dialect != "mysql":  # SQLite: the database's write lock, from the start
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                yield connection
                return
            if connection.execute(MYSQL_LOCK, {"key": key, "wait": LOCK_WAIT_SECONDS}).scalar() != 1:
                raise LockTimeout(
                    f"trial {trial_name!r} stayed locked by another report for {LOCK_WAIT_SECONDS}s"
                )
            try:
                yield connection
            finally:
                try:
                    connection.rollback()  # nothing left to roll back after the caller's commit
                    # On the driver's cursor: through SQLAlchemy it would begin a transaction that
                    # closing the connection then rolls back, a round trip for nothing.
                    cursor = connection.connection.cursor()
                    cursor.execute(MYSQL_UNLOCK_SQL, (key,))
                    cursor.fetchall()
                    cursor.close()
                except Exception:
                    log.warning("could not release the lock of trial %r: closing its connection", trial_name)
                    connection.invalidate()  # the server drops a session's locks with the session

    def get(
        self,
        trial_name: str,
        metric_name: str = "",
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[LogRow]:
        """Rows of a trial (one metric, or all when `metric_name` is empty), oldest first.

        Names are compared exactly here too: MySQL/MariaDB's default collations match `Loss` and
        `loss ` for `loss`, where SQLite and PostgreSQL do not.
        """
        query = select(T.time, T.metric_name, T.value, T.trial_name).where(T.trial_name == trial_name)
        if metric_name:
            query = query.where(T.metric_name == metric_name)
        if start is not None:
            query = query.where(T.time >= start)
        if end is not None:
            query = query.where(T.time <= end)
        query = query.order_by(T.time, T.id)

        def work() -> list[LogRow]:
            with self.engine.connect() as connection:
                return [
                    LogRow(time, name, value)
                    for time, name, value, trial in connection.execute(query)
                    if trial == trial_name and (name == metric_name or not metric_name)
                ]

        return self._again_if_disconnected(work)

    def delete(self, trial_name: str) -> int:
        """Remove every row of a trial (the Trial finalizer calls this)."""

        def work() -> int:
            with self.engine.begin() as connection:
                return int(
                    connection.execute(delete(observation_logs).where(T.trial_name == trial_name)).rowcount
                )

        return self._again_if_disconnected(work)

    def delete_many(self, trial_names: Iterable[str]) -> None:
        """Remove the rows of several trials in one statement."""
        names = list(trial_names)

        def work() -> None:
            with self.engine.begin() as connection:
                connection.execute(delete(observation_logs).where(T.trial_name.in_(names)))

        if names:
            self._again_if_disconnected(work)
