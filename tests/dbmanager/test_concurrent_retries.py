"""Retries of ReportObservationLog are stored once, even when the copies arrive at the same moment.

The duplicate check read the table, then inserted, with nothing to stop a concurrent copy from
doing the same: 8 concurrent copies of one 50-row report stored 100-400 rows (19 of 30 rounds on
SQLite, 24 of 30 on MariaDB). Reports of one trial now take a per-trial lock first (PostgreSQL
advisory lock, MySQL/MariaDB GET_LOCK, SQLite BEGIN IMMEDIATE), on every db-manager replica.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import grpc

from katib_py.proto import api_pb2, api_pb2_grpc

ROUNDS = 30
COPIES = 8


def request(name: str, first: int, count: int) -> api_pb2.ReportObservationLogRequest:
    logs = [
        api_pb2.MetricLog(
            time_stamp=f"2024-01-01T00:00:{i // 1000:02d}.{i % 1000:03d}Z",
            metric=api_pb2.Metric(name="loss" if i % 2 else "accuracy", value=f"0.{i:04d}"),
        )
        for i in range(first, first + count)
    ]
    return api_pb2.ReportObservationLogRequest(
        trial_name=name, observation_log=api_pb2.ObservationLog(metric_logs=logs)
    )


def at_once(calls: list[Callable[[], object]]) -> None:
    """Run the calls in threads released together; re-raise the first failure."""
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        barrier.wait()
        try:
            call()
        except BaseException as exc:  # re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    if errors:
        raise errors[0]


def count(stub: api_pb2_grpc.DBManagerStub, name: str) -> int:
    reply = stub.GetObservationLog(api_pb2.GetObservationLogRequest(trial_name=name), timeout=60)
    return len(reply.observation_log.metric_logs)


def test_concurrent_copies_of_one_report_are_stored_once(dbm: Any, db_manager_factory: Any) -> None:
    """8 copies at once, half through a second db-manager replica on the same database."""
    replica = db_manager_factory(dbm.url)
    stubs = [dbm.stub, replica.stub]
    counts = []
    for _ in range(ROUNDS):
        name = f"trial-{uuid.uuid4().hex[:10]}"
        copy = request(name, 0, 50)
        at_once(
            [
                lambda stub=stubs[i % 2], copy=copy: stub.ReportObservationLog(copy, timeout=60)
                for i in range(COPIES)
            ]
        )
        counts.append(count(dbm.stub, name))
    assert counts == [50] * ROUNDS


def test_concurrent_overlapping_reports_store_each_row_once(dbm: Any) -> None:
    """A retry that grew (more logs pending by then) overlaps the first attempt: the union is stored."""
    for _ in range(10):
        name = f"trial-{uuid.uuid4().hex[:10]}"
        parts = [request(name, first, 50) for first in (0, 10, 20, 30, 0, 10, 20, 30)]
        at_once([lambda part=part: dbm.stub.ReportObservationLog(part, timeout=60) for part in parts])
        assert count(dbm.stub, name) == 80


def test_a_report_waiting_for_the_lock_does_not_hold_up_other_trials(dbm: Any) -> None:
    names = [f"trial-{uuid.uuid4().hex[:10]}" for _ in range(COPIES)]
    at_once(
        [lambda name=name: dbm.stub.ReportObservationLog(request(name, 0, 200), timeout=60) for name in names]
    )
    assert [count(dbm.stub, name) for name in names] == [200] * COPIES
    try:
        dbm.stub.ReportObservationLog(request(names[0], 0, 200), timeout=60)
    except grpc.RpcError as exc:  # pragma: no cover - the assertion below says what went wrong
        raise AssertionError(f"a plain retry failed: {exc}") from exc
    assert count(dbm.stub, names[0]) == 200
