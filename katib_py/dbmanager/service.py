"""The DBManager gRPC servicer and the db-manager's gRPC health check."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import NoReturn, TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy.exc import SQLAlchemyError

from katib_py.dbmanager.store import LogRow, ObservationStore
from katib_py.kube import rfc3339
from katib_py.proto import api_pb2, api_pb2_grpc

log = logging.getLogger(__name__)

HEALTH_SERVICE_NAMES = ("", "grpc.health.v1.Health")

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


def abort(context: grpc.ServicerContext, code: grpc.StatusCode, message: str) -> NoReturn:
    """End the RPC with `code` (grpc's abort always raises)."""
    context.abort(code, message)
    raise AssertionError("grpc.ServicerContext.abort returned")


def _call(context: grpc.ServicerContext, gate: StoreGate, work: Callable[[ObservationStore], R]) -> R:
    store = gate.get()
    if store is None:
        abort(context, grpc.StatusCode.UNAVAILABLE, "database not reachable yet")
    try:
        return work(store)
    except SQLAlchemyError as exc:
        log.warning("database error: %s", exc.__class__.__name__, exc_info=log.isEnabledFor(logging.DEBUG))
        abort(context, grpc.StatusCode.UNAVAILABLE, f"database error: {exc.__class__.__name__}: {exc}"[:2000])


def rows_from_request(request: api_pb2.ReportObservationLogRequest) -> list[LogRow]:
    """The request's metric logs as rows; logs with an empty timestamp are skipped, as in Katib."""
    rows = []
    for metric_log in request.observation_log.metric_logs:
        if not metric_log.time_stamp:
            continue
        time = rfc3339.parse(metric_log.time_stamp)
        rows.append(LogRow(time, metric_log.metric.name, metric_log.metric.value))
    return rows


class DBManagerServicer(api_pb2_grpc.DBManagerServicer):
    """ReportObservationLog / GetObservationLog / DeleteObservationLog on an ObservationStore."""

    def __init__(self, gate: StoreGate) -> None:
        self.gate = gate

    def ReportObservationLog(
        self, request: api_pb2.ReportObservationLogRequest, context: grpc.ServicerContext
    ) -> api_pb2.ReportObservationLogReply:
        try:
            rows = rows_from_request(request)
        except ValueError as exc:
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        _call(context, self.gate, lambda store: store.report(request.trial_name, rows))
        return api_pb2.ReportObservationLogReply()

    def GetObservationLog(
        self, request: api_pb2.GetObservationLogRequest, context: grpc.ServicerContext
    ) -> api_pb2.GetObservationLogReply:
        try:
            start = rfc3339.parse(request.start_time) if request.start_time else None
            end = rfc3339.parse(request.end_time) if request.end_time else None
        except ValueError as exc:
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        rows = _call(
            context, self.gate, lambda store: store.get(request.trial_name, request.metric_name, start, end)
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
            except SQLAlchemyError as exc:
                log.warning("health check: database does not answer: %s", exc.__class__.__name__)
        return health_pb2.HealthCheckResponse(status=status)
