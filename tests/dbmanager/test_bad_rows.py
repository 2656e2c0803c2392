"""Rows a database cannot hold are refused one by one, the same on every backend; the rest is stored.

MariaDB refused a value over 64 KB (TEXT) or a name over 255 characters with a DataError that
db-manager answered UNAVAILABLE: the collector retried the batch, then dropped all of it, while
SQLite stored every row.
"""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import pytest
import sqlalchemy as sa

from katib_py.proto import api_pb2

STAMP = "2024-01-01T00:00:{:02d}Z"


def trial() -> str:
    return f"trial-{uuid.uuid4().hex[:10]}"


def report(dbm: Any, name: str, rows: list[tuple[str, str, str]]) -> None:
    logs = [api_pb2.MetricLog(time_stamp=t, metric=api_pb2.Metric(name=n, value=v)) for t, n, v in rows]
    dbm.stub.ReportObservationLog(
        api_pb2.ReportObservationLogRequest(
            trial_name=name, observation_log=api_pb2.ObservationLog(metric_logs=logs)
        ),
        timeout=60,
    )


def refused(dbm: Any, name: str, rows: list[tuple[str, str, str]]) -> str:
    """Report `rows`, expect INVALID_ARGUMENT, and return its message."""
    with pytest.raises(grpc.RpcError) as err:
        report(dbm, name, rows)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value
    return str(err.value.details())


def stored(dbm: Any, name: str) -> list[tuple[str, str, str]]:
    reply = dbm.stub.GetObservationLog(api_pb2.GetObservationLogRequest(trial_name=name), timeout=60)
    return [(m.time_stamp, m.metric.name, m.metric.value) for m in reply.observation_log.metric_logs]


def test_bad_rows_are_named_and_the_rest_of_the_batch_is_stored(dbm: Any) -> None:
    name = trial()
    rows = [(STAMP.format(i), "loss", str(i)) for i in range(21)]
    rows[5] = (STAMP.format(5), "loss", "9" * 70_000)
    rows[12] = (STAMP.format(12), "l" * 300, "12")
    message = refused(dbm, name, rows)
    assert "2 of 21 metric logs refused, the other 19 stored" in message
    assert "metric_logs[5] (metric 'loss' at '2024-01-01T00:00:05Z'): value is 70000 bytes" in message
    assert "metric_logs[12]" in message and "metric name is 300 characters" in message
    assert stored(dbm, name) == [row for i, row in enumerate(rows) if i not in (5, 12)]
    refused(dbm, name, rows)  # sent again: the same answer, and nothing stored twice
    assert len(stored(dbm, name)) == 19


def test_rows_at_the_limits_are_stored_everywhere(dbm: Any) -> None:
    name = trial()
    rows = [
        (STAMP.format(0), "n" * 255, "v" * 65_535),
        (STAMP.format(1), "€" * 255, "€" * 21_845),  # 255 characters; 65,535 bytes
        (STAMP.format(2), "loss", "ünïcødé ✓ 𝄞"),
    ]
    report(dbm, name, rows)
    assert stored(dbm, name) == rows
    message = refused(dbm, name, [(STAMP.format(3), "€" * 256, "€" * 21_846)])
    assert "value is 65538 bytes" in message and "metric name is 256 characters" in message


@pytest.mark.parametrize(
    "bad",
    [
        (STAMP.format(1), "loss", "a\x00b"),
        (STAMP.format(1), "lo\x00ss", "1"),
        ("10000-01-01T00:00:00Z", "loss", "1"),
        ("0000-12-31T00:00:00Z", "loss", "1"),
        ("9999-12-31T23:59:59-01:00", "loss", "1"),
        ("0001-01-01T00:00:00+01:00", "loss", "1"),
        ("yesterday", "loss", "1"),
    ],
)
def test_nul_characters_and_out_of_range_times_are_refused(dbm: Any, bad: tuple[str, str, str]) -> None:
    name = trial()
    good = (STAMP.format(0), "loss", "0")
    message = refused(dbm, name, [good, bad])
    assert "1 of 2 metric logs refused, the other 1 stored: metric_logs[1]" in message
    assert stored(dbm, name) == [good]


def test_a_trial_name_no_database_holds_refuses_the_request(dbm: Any) -> None:
    for name in ("t" * 256, "tri\x00al"):
        message = refused(dbm, name, [(STAMP.format(0), "loss", "1")])
        assert "trial name" in message
        assert "stored" not in message


def test_queries_with_out_of_range_times_are_invalid_argument(dbm: Any) -> None:
    for request in (
        api_pb2.GetObservationLogRequest(trial_name="t", start_time="0000-01-01T00:00:00Z"),
        api_pb2.GetObservationLogRequest(trial_name="t", end_time="9999-12-31T23:59:59-05:00"),
    ):
        with pytest.raises(grpc.RpcError) as err:
            dbm.stub.GetObservationLog(request, timeout=30)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, request
        assert "out of range" in str(err.value.details())


def test_queries_for_names_no_row_can_hold_find_nothing_on_every_backend(dbm: Any) -> None:
    """As Katib answers for a trial it does not know (PostgreSQL used to fail on a NUL)."""
    for request in (
        api_pb2.GetObservationLogRequest(trial_name="t\x00"),
        api_pb2.GetObservationLogRequest(trial_name="t" * 256),
        api_pb2.GetObservationLogRequest(trial_name="t", metric_name="a\x00"),
    ):
        assert not dbm.stub.GetObservationLog(request, timeout=30).observation_log.metric_logs
    dbm.stub.DeleteObservationLog(api_pb2.DeleteObservationLogRequest(trial_name="t\x00"), timeout=30)


def test_a_database_error_that_is_no_outage_is_internal_not_unavailable(dbm: Any) -> None:
    """A table renamed under db-manager is a fault to fix, not an outage to wait out."""
    engine = sa.create_engine(dbm.url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("ALTER TABLE observation_logs RENAME TO observation_logs_moved"))
        with pytest.raises(grpc.RpcError) as err:
            report(dbm, trial(), [(STAMP.format(0), "loss", "1")])
        assert err.value.code() == grpc.StatusCode.INTERNAL, err.value
        assert "observation_logs" in str(err.value.details())
        with pytest.raises(grpc.RpcError) as err:
            stored(dbm, trial())
        assert err.value.code() == grpc.StatusCode.INTERNAL
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text("ALTER TABLE observation_logs_moved RENAME TO observation_logs"))
        engine.dispose()


def test_names_are_matched_exactly_on_every_backend(dbm: Any) -> None:
    """MariaDB's collation matched `Loss` and `loss ` for `loss`, and `T` for `t`; the others do not."""
    rows = [(STAMP.format(0), "loss", "1"), (STAMP.format(1), "Loss", "2"), (STAMP.format(2), "loss ", "3")]
    name = trial()
    report(dbm, name, rows)
    report(dbm, name.upper(), rows[:1])  # another trial: its row is no duplicate of the first trial's
    reply = dbm.stub.GetObservationLog(
        api_pb2.GetObservationLogRequest(trial_name=name, metric_name="loss"), timeout=60
    )
    assert [(m.metric.name, m.metric.value) for m in reply.observation_log.metric_logs] == [("loss", "1")]
    assert stored(dbm, name) == rows
    assert stored(dbm, name.upper()) == rows[:1]
