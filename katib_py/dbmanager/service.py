"""The DBManager gRPC servicer and the db-manager's gRPC health check.

What every backend can hold is checked before the database sees a row, so that MySQL/MariaDB,
PostgreSQL and SQLite store the same rows: Katib's columns (`pkg/db/v1beta1/mysql/init.go`) are
VARCHAR(255) names and a TEXT value (65,535 bytes in MySQL), PostgreSQL text holds no NUL, and
a time must be a real one (years 1 to 9999 in UTC). A row that fails is refused by name, the
rest of the request is stored, and the answer is INVALID_ARGUMENT, which the collector does not
retry. Database errors are UNAVAILABLE only when the database is away or busy (a retry may
succeed); a database that answers with a fault is INTERNAL.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import exc as sa_exc

from katib_py.dbmanager.store import LockTimeout, LogRow, ObservationStore
from katib_py.kube import rfc3339
from katib_py.proto import api_pb2, api_pb2_grpc
from katib_py.proto.serving import abort

log = logging.getLogger(__name__)

HEALTH_SERVICE_NAMES = ("", "grpc.health.v1.Health")
MAX_NAME_CHARACTERS = 255  # trial_name, metric_name: VARCHAR(255)
MAX_VALUE_BYTES = 65_535  # value: TEXT in MySQL/MariaDB
LISTED_REFUSALS = 10
# sqlite3 reports a missing table or column as an OperationalError, as it does a locked database.
_SQLITE_SCHEMA_FAULTS = ("no such table", "no such column", "has no column")

R = TypeVar("R")


class StoreGate:
    """The store, once start-up has reached the database; until then every call is UNAVAILABLE."""

    def __init__(self) -> None:
        self._store: ObservationStore | None = None
        self._lock = threading.Lock()

    def open(self, store: ObservationStore) -> None:
        with self._lock:
            self._store = store

    def get(self) -> ObservationStore | None:
        with self._lock:
            return self._store


def status_of(exc: sa_exc.SQLAlchemyError) -> grpc.StatusCode:
    """UNAVAILABLE when the database is away or busy; INVALID_ARGUMENT for data it refuses; else INTERNAL."""
    if isinstance(exc, sa_exc.DataError):
        return grpc.StatusCode.INVALID_ARGUMENT
    if isinstance(exc, sa_exc.OperationalError) and any(f in str(exc.orig) for f in _SQLITE_SCHEMA_FAULTS):
        return grpc.StatusCode.INTERNAL
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.DisconnectionError):
        return grpc.StatusCode.UNAVAILABLE
    if isinstance(exc, sa_exc.TimeoutError | LockTimeout):  # pool exhausted, trial lock not granted
        return grpc.StatusCode.UNAVAILABLE
    return grpc.StatusCode.INTERNAL


def _call(context: grpc.ServicerContext, gate: StoreGate, work: Callable[[ObservationStore], R]) -> R:
    store = gate.get()
    if store is None:
        abort(context, grpc.StatusCode.UNAVAILABLE, "database not reachable yet")
    try:
        return work(store)
    except sa_exc.SQLAlchemyError as exc:
        code = status_of(exc)
        log.warning(
            "database error (%s): %s",
            code.name,
            exc.__class__.__name__,
            exc_info=log.isEnabledFor(logging.DEBUG),
        )
        abort(context, code, f"database error: {exc.__class__.__name__}: {exc}"[:2000])


def _short(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def name_fault(what: str, text: str) -> str | None:
    """Why no backend can hold `text` in a VARCHAR(255) name column, or None."""
    if len(text) > MAX_NAME_CHARACTERS:
        return f"{what} is {len(text)} characters, over the {MAX_NAME_CHARACTERS} of its VARCHAR(255) column"
    if "\x00" in text:
        return f"{what} holds a NUL character, which PostgreSQL cannot store"
    return None


def value_fault(value: str) -> str | None:
    """Why no backend can hold `value` in the TEXT value column, or None."""
    size = len(value) if len(value) * 4 <= MAX_VALUE_BYTES else len(value.encode("utf-8"))
    if size > MAX_VALUE_BYTES:
        return f"value is {size} bytes, over the {MAX_VALUE_BYTES} of a MySQL TEXT column"
    if "\x00" in value:
        return "value holds a NUL character, which PostgreSQL cannot store"
    return None


def parse_time(what: str, text: str) -> datetime | str:
    """The time as naive UTC, or why it is none (not RFC 3339, or outside years 1-9999 in UTC)."""
    try:
        return rfc3339.parse(text)
    except (ValueError, OverflowError) as exc:
        reason = str(exc) if "RFC 3339" in str(exc) else f"{_short(text)} is out of range ({exc})"
        return f"{what}: {reason}"


def rows_from_request(request: api_pb2.ReportObservationLogRequest) -> tuple[list[LogRow], list[str]]:
    """The request's rows every backend can hold, and what is wrong with each of the others.

    Logs with an empty timestamp are skipped, as in Katib.
    """
    rows = []
    refusals = []
    for index, metric_log in enumerate(request.observation_log.metric_logs):
        stamp, name, value = metric_log.time_stamp, metric_log.metric.name, metric_log.metric.value
        if not stamp:
            continue
        time = parse_time("time_stamp", stamp)
        name_wrong, value_wrong = name_fault("metric name", name), value_fault(value)
        if isinstance(time, str) or name_wrong or value_wrong:
            faults = [f for f in (time if isinstance(time, str) else None, name_wrong, value_wrong) if f]
            refusals.append(
                f"metric_logs[{index}] (metric {_short(name)} at {_short(stamp)}): {'; '.join(faults)}"
            )
        else:
            rows.append(LogRow(time, name, value))
    return rows, refusals


def refusal_message(total: int, stored: int, refusals: list[str]) -> str:
    listed = "; ".join(refusals[:LISTED_REFUSALS])
    more = f"; and {len(refusals) - LISTED_REFUSALS} more" if len(refusals) > LISTED_REFUSALS else ""
    skipped = total - stored - len(refusals)
    without = f" ({skipped} without a timestamp skipped)" if skipped else ""
    return (
        f"{len(refusals)} of {total} metric logs refused, the other {stored} stored{without}: {listed}{more}"
    )


class DBManagerServicer(api_pb2_grpc.DBManagerServicer):
    """ReportObservationLog / GetObservationLog / DeleteObservationLog on an ObservationStore."""

    def __init__(self, gate: StoreGate) -> None:
        self.gate = gate

    def ReportObservationLog(
        self, request: api_pb2.ReportObservationLogRequest, context: grpc.ServicerContext
    ) -> api_pb2.ReportObservationLogReply:
        fault = name_fault("trial name", request.trial_name)
        if fault:
            abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"{fault}: nothing of {_short(request.trial_name)} kept",
            )
        rows, refusals = rows_from_request(request)
        _call(context, self.gate, lambda store: store.report(request.trial_name, rows))
        if refusals:
            total = len(request.observation_log.metric_logs)
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, refusal_message(total, len(rows), refusals))
        return api_pb2.ReportObservationLogReply()

    def GetObservationLog(
        self, request: api_pb2.GetObservationLogRequest, context: grpc.ServicerContext
    ) -> api_pb2.GetObservationLogReply:
        start = parse_time("start_time", request.start_time) if request.start_time else None
        end = parse_time("end_time", request.end_time) if request.end_time else None
        if isinstance(start, str) or isinstance(end, str):
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, start if isinstance(start, str) else str(end))
        if name_fault("trial name", request.trial_name) or name_fault("metric name", request.metric_name):
            return (
                api_pb2.GetObservationLogReply()
            )  # no row holds such a name (PostgreSQL would refuse a NUL)
        rows = _call(
            context,
            self.gate,
            lambda store: store.get(request.trial_name, request.metric_name, start, end),
        )
        reply = api_pb2.GetObservationLogReply()
        logs = reply.observation_log.metric_logs
        for row in rows:
            logs.add(
                time_stamp=rfc3339.format(row.time),
                metric=api_pb2.Metric(name=row.metric_name, value=row.value),
            )
        return reply

    def DeleteObservationLog(
        self, request: api_pb2.DeleteObservationLogRequest, context: grpc.ServicerContext
    ) -> api_pb2.DeleteObservationLogReply:
        if not name_fault("trial name", request.trial_name):  # else no row holds it: nothing to delete
            _call(context, self.gate, lambda store: store.delete(request.trial_name))
        return api_pb2.DeleteObservationLogReply()


class DatabaseHealthServicer(health_pb2_grpc.HealthServicer):  # type: ignore[misc]  # untyped grpc_health
    """SERVING only while the database answers `SELECT 1` (Katib's liveness probe relies on it)."""

    def __init__(self, gate: StoreGate) -> None:
        self.gate = gate

    def Check(
        self, request: health_pb2.HealthCheckRequest, context: grpc.ServicerContext
    ) -> health_pb2.HealthCheckResponse:
        if request.service not in HEALTH_SERVICE_NAMES:
            abort(context, grpc.StatusCode.NOT_FOUND, f"unknown service {request.service!r}")
        store = self.gate.get()
        status = health_pb2.HealthCheckResponse.NOT_SERVING
        if store is not None:
            try:
                store.ping()
                status = health_pb2.HealthCheckResponse.SERVING
            except sa_exc.SQLAlchemyError as exc:
                log.warning("health check: database does not answer: %s", exc.__class__.__name__)
        return health_pb2.HealthCheckResponse(status=status)
