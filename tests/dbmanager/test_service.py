"""DBManager over real gRPC on SQLite, MariaDB and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from grpc_health.v1 import health_pb2

from katib_py.dbmanager.schema import INDEX_NAME
from katib_py.proto import api_pb2


def trial() -> str:
    return f"trial-{uuid.uuid4().hex[:10]}"


def logs(*rows: tuple[str, str, str]) -> api_pb2.ObservationLog:
    return api_pb2.ObservationLog(
        metric_logs=[
            api_pb2.MetricLog(time_stamp=t, metric=api_pb2.Metric(name=n, value=v)) for t, n, v in rows
        ]
    )


def report(dbm: Any, name: str, *rows: tuple[str, str, str]) -> None:
    dbm.stub.ReportObservationLog(
        api_pb2.ReportObservationLogRequest(trial_name=name, observation_log=logs(*rows)), timeout=30
    )


def get(dbm: Any, name: str, metric: str = "", start: str = "", end: str = "") -> list[tuple[str, str, str]]:
    reply = dbm.stub.GetObservationLog(
        api_pb2.GetObservationLogRequest(trial_name=name, metric_name=metric, start_time=start, end_time=end),
        timeout=30,
    )
    return [(m.time_stamp, m.metric.name, m.metric.value) for m in reply.observation_log.metric_logs]


def test_report_then_get_in_time_order_as_utc_rfc3339(dbm: Any) -> None:
    name = trial()
    report(
        dbm,
        name,
        ("2024-01-01T00:00:02.5+02:00", "loss", "0.5"),
        ("2024-01-01T00:00:00.123456789Z", "loss", "0.9"),
        ("0001-01-01T00:00:00Z", "accuracy", "unavailable"),
        ("2023-12-31T22:00:01Z", "accuracy", "0.7"),
    )
    assert get(dbm, name) == [
        ("0001-01-01T00:00:00Z", "accuracy", "unavailable"),
        ("2023-12-31T22:00:01Z", "accuracy", "0.7"),
        ("2023-12-31T22:00:02.5Z", "loss", "0.5"),
        ("2024-01-01T00:00:00.123456Z", "loss", "0.9"),
    ]
    assert get(dbm, name, "loss") == [
        ("2023-12-31T22:00:02.5Z", "loss", "0.5"),
        ("2024-01-01T00:00:00.123456Z", "loss", "0.9"),
    ]
    assert get(dbm, name, "", "2023-12-31T22:00:01Z", "2023-12-31T22:00:02.5Z") == [
        ("2023-12-31T22:00:01Z", "accuracy", "0.7"),
        ("2023-12-31T22:00:02.5Z", "loss", "0.5"),
    ]
    assert get(dbm, trial()) == []


def test_empty_timestamps_skipped_and_all_skipped_is_not_an_error(dbm: Any) -> None:
    name = trial()
    report(dbm, name, ("", "loss", "1"), ("", "loss", "2"))
    assert get(dbm, name) == []
    report(dbm, name, ("", "loss", "1"), ("2024-05-05T05:05:05Z", "loss", "3"))
    assert get(dbm, name) == [("2024-05-05T05:05:05Z", "loss", "3")]


def test_retried_report_is_stored_once_but_repeats_inside_one_report_are_kept(dbm: Any) -> None:
    name = trial()
    rows = [("2024-01-01T00:00:00.000001Z", "loss", "0.5"), ("2024-01-01T00:00:00.000001Z", "loss", "0.5")]
    rows.append(("2024-01-01T00:00:01Z", "acc", "0.1"))
    report(dbm, name, *rows)
    report(dbm, name, *rows)
    report(dbm, name, rows[2], ("2024-01-01T00:00:02Z", "acc", "0.2"))
    assert get(dbm, name) == [*rows, ("2024-01-01T00:00:02Z", "acc", "0.2")]
    other = trial()
    report(dbm, other, *rows)
    assert len(get(dbm, other)) == 3


def test_delete_removes_only_that_trial(dbm: Any) -> None:
    first, second = trial(), trial()
    report(dbm, first, ("2024-01-01T00:00:00Z", "loss", "1"))
    report(dbm, second, ("2024-01-01T00:00:00Z", "loss", "2"))
    dbm.stub.DeleteObservationLog(api_pb2.DeleteObservationLogRequest(trial_name=first), timeout=30)
    assert get(dbm, first) == []
    assert get(dbm, second) == [("2024-01-01T00:00:00Z", "loss", "2")]


def test_bad_timestamp_is_invalid_argument(dbm: Any) -> None:
    with pytest.raises(grpc.RpcError) as err:
        report(dbm, trial(), ("yesterday", "loss", "1"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as err:
        get(dbm, trial(), start="soon")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_large_batch_round_trips(dbm: Any) -> None:
    name = trial()
    rows = [(f"2024-01-01T00:00:{i // 1000:02d}.{i % 1000:03d}Z", "loss", str(i)) for i in range(10_000)]
    report(dbm, name, *rows)
    got = get(dbm, name, "loss")
    assert len(got) == 10_000
    assert [v for _, _, v in got] == [str(i) for i in range(10_000)]


def test_health_serving_and_unknown_service(dbm: Any) -> None:
    for service in ("", "grpc.health.v1.Health"):
        reply = dbm.health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.RpcError) as err:
        dbm.health.Check(health_pb2.HealthCheckRequest(service="manager.v1beta1.Suggestion"), timeout=10)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_schema_has_katib_columns_and_the_index(dbm: Any) -> None:
    engine = sa.create_engine(dbm.url)
    try:
        inspector = sa.inspect(engine)
        columns = {c["name"]: c for c in inspector.get_columns("observation_logs")}
        assert list(columns) == ["trial_name", "id", "time", "metric_name", "value"]
        assert not columns["trial_name"]["nullable"] and not columns["value"]["nullable"]
        indexes = {ix["name"]: ix["column_names"] for ix in inspector.get_indexes("observation_logs")}
        assert indexes[INDEX_NAME] == ["trial_name", "metric_name", "time"]
    finally:
        engine.dispose()
