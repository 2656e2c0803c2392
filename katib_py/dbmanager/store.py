"""Observation logs in SQL: the three DBManager operations on SQLAlchemy Core.

ReportObservationLog is idempotent for retries. The wire carries no request id, so a row is
treated as already stored when the same trial already has a row with the same metric name,
time and value. The duplicate check is one indexed range query per request over
(trial_name, metric_name IN request's metrics, time BETWEEN the request's first and last time).
Rows repeated inside one request are all kept: only rows already in the table are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, create_engine, delete, insert, select, text
from sqlalchemy.engine import URL

from katib_py.dbmanager.schema import observation_logs

T = observation_logs.c


@dataclass(frozen=True, slots=True)
class LogRow:
    """One metric value at one time (naive UTC, microsecond precision)."""

    time: datetime
    metric_name: str
    value: str


def make_engine(url: URL, connect_timeout: float = 5.0) -> Engine:
    """An engine that checks connections before use, so a database that restarts is reconnected."""
    connect_args: dict[str, Any] = {}
    backend = url.get_backend_name()
    if backend in ("mysql", "mariadb") or backend == "postgresql":
        connect_args = {"connect_timeout": max(1, int(connect_timeout))}
    elif backend == "sqlite":
        connect_args = {"check_same_thread": False, "timeout": 30}
    return create_engine(url, pool_pre_ping=True, pool_recycle=3600, connect_args=connect_args)


class ObservationStore:
    """Reads and writes `observation_logs` through one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ping(self) -> None:
        """`SELECT 1`; raises when the database does not answer."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1")).all()

    def report(self, trial_name: str, rows: Sequence[LogRow]) -> int:
        """Insert the rows the table does not already hold; returns how many were inserted."""
        if not rows:
            return 0
        low = min(r.time for r in rows)
        high = max(r.time for r in rows)
        names = sorted({r.metric_name for r in rows})
        with self.engine.begin() as connection:
            stored = connection.execute(
                select(T.metric_name, T.time, T.value).where(
                    T.trial_name == trial_name,
                    T.metric_name.in_(names),
                    T.time >= low,
                    T.time <= high,
                )
            ).all()
            seen = {(name, time, value) for name, time, value in stored}
            fresh = [
                {"trial_name": trial_name, "time": r.time, "metric_name": r.metric_name, "value": r.value}
                for r in rows
                if (r.metric_name, r.time, r.value) not in seen
            ]
            if len(fresh) == 1:
                connection.execute(insert(observation_logs), fresh[0])
            elif fresh:
                connection.execute(insert(observation_logs), fresh)
        return len(fresh)

    def get(
        self,
        trial_name: str,
        metric_name: str = "",
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[LogRow]:
        """Rows of a trial (one metric, or all when `metric_name` is empty), oldest first."""
        query = select(T.time, T.metric_name, T.value).where(T.trial_name == trial_name)
        if metric_name:
            query = query.where(T.metric_name == metric_name)
        if start is not None:
            query = query.where(T.time >= start)
        if end is not None:
            query = query.where(T.time <= end)
        query = query.order_by(T.time, T.id)
        with self.engine.connect() as connection:
            return [LogRow(time, name, value) for time, name, value in connection.execute(query)]

    def delete(self, trial_name: str) -> int:
        """Remove every row of a trial (the Trial finalizer calls this)."""
        with self.engine.begin() as connection:
            return connection.execute(delete(observation_logs).where(T.trial_name == trial_name)).rowcount

    def delete_many(self, trial_names: Iterable[str]) -> None:
        """Remove the rows of several trials in one statement."""
        names = list(trial_names)
        if names:
            with self.engine.begin() as connection:
                connection.execute(delete(observation_logs).where(T.trial_name.in_(names)))
