"""Fuzzing db-manager over gRPC on 127.0.0.1, on SQLite, MariaDB and PostgreSQL (bounded in count and time).

Hostile and random requests: unicode, NUL characters, names and values past the columns' limits,
out-of-range and malformed times, raw garbage bytes on every method path. For each: the server
answers OK or INVALID_ARGUMENT with a message, still answers its health check, keeps its memory
bounded, and every row it acknowledged can be read back.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import UTC
from typing import Any

import grpc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from katib_py.kube import rfc3339
from katib_py.proto import api_pb2, api_pb2_grpc

FUZZ = settings.get_profile("fuzz")  # tests/conftest.py
PEAK_RSS_LIMIT_KIB = 300 * 1024
METHODS = [
    "/api.v1.beta1.DBManager/ReportObservationLog",
    "/api.v1.beta1.DBManager/GetObservationLog",
    "/api.v1.beta1.DBManager/DeleteObservationLog",
    "/grpc.health.v1.Health/Check",
]


@pytest.fixture
def served(db_url: str, db_manager_process: Any) -> Any:
    """db-manager as a process of its own, so that its memory is its own."""
    return db_manager_process(db_url)


# ---------------------------------------------------------------- strategies

plain_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=20
)
hostile_text = st.one_of(
    plain_text,
    plain_text,
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20).map(lambda s: s + "\x00"),
    st.sampled_from(
        ["", " ", "loss", "Loss", "loss ", "ü", "𝄞", "\u202e", "'; DROP TABLE observation_logs; --"]
    ),
    st.integers(250, 300).map(lambda n: "n" * n),
    st.integers(80, 90).map(lambda n: "€" * n),
)
good_times = st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat().replace("+00:00", "Z"))
times = st.one_of(
    good_times,
    good_times,
    good_times,
    st.sampled_from(
        [
            "",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
            "0000-01-01T00:00:00Z",
            "10000-01-01T00:00:00Z",
            "9999-12-31T23:59:59-23:59",
            "0001-01-01T00:00:00+23:59",
            "2024-02-30T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01 00:00:00",
            "yesterday",
            "2024-01-01T00:00:00.1234567891Z",
        ]
    ),
    st.text(max_size=30),
)
values = st.one_of(
    st.text(max_size=30),
    st.floats().map(repr),
    st.sampled_from(["nan", "-inf", "1e308", "0.5", "unavailable", "a\x00b"]),
    st.integers(65_530, 65_540).map(lambda n: "9" * n),
    st.integers(21_840, 21_850).map(lambda n: "€" * n),
)
# At most 10 logs a request: db-manager's answer names up to 10 refused logs, so every refusal shows.
metric_logs = st.lists(st.tuples(times, hostile_text, values), max_size=10)


def report(
    stub: api_pb2_grpc.DBManagerStub, trial: str, rows: list[tuple[str, str, str]]
) -> grpc.RpcError | None:
    logs = [api_pb2.MetricLog(time_stamp=t, metric=api_pb2.Metric(name=n, value=v)) for t, n, v in rows]
    request = api_pb2.ReportObservationLogRequest(
        trial_name=trial, observation_log=api_pb2.ObservationLog(metric_logs=logs)
    )
    try:
        stub.ReportObservationLog(request, timeout=60)
    except grpc.RpcError as exc:
        return exc
    return None


def refused_indexes(message: str) -> set[int]:
    return {int(i) for i in re.findall(r"metric_logs\[(\d+)\]", message)}


def read_back(stub: api_pb2_grpc.DBManagerStub, trial: str) -> Counter[tuple[str, str, str]]:
    reply = stub.GetObservationLog(api_pb2.GetObservationLogRequest(trial_name=trial), timeout=60)
    return Counter((m.time_stamp, m.metric.name, m.metric.value) for m in reply.observation_log.metric_logs)


# ---------------------------------------------------------------- tests


def test_random_reports_are_answered_and_what_is_acknowledged_is_kept(served: Any) -> None:
    @FUZZ
    @given(prefix=hostile_text, rows=metric_logs)
    def one(prefix: str, rows: list[tuple[str, str, str]]) -> None:
        trial = f"{prefix}-{uuid.uuid4().hex}"
        error = report(served.stub, trial, rows)
        refused: set[int] = set()
        if error is not None:
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
            message = str(error.details())
            assert message
            if "trial name" in message:
                return  # a trial name no backend holds: nothing stored, nothing to read back
            refused = refused_indexes(message)
            assert message.startswith(f"{len(refused)} of {len(rows)} metric logs refused"), message
        acknowledged = Counter(
            (rfc3339.format(rfc3339.parse(t)), n, v)
            for i, (t, n, v) in enumerate(rows)
            if t and i not in refused
        )
        assert read_back(served.stub, trial) == acknowledged
        assert report(served.stub, trial, rows) is None or refused  # a retry: same answer, nothing added
        assert read_back(served.stub, trial) == acknowledged

    one()
    assert served.serving()
    assert served.peak_rss_kib() < PEAK_RSS_LIMIT_KIB


def test_random_queries_are_answered(served: Any) -> None:
    @FUZZ
    @given(trial=hostile_text, metric=hostile_text, start=times, end=times)
    def one(trial: str, metric: str, start: str, end: str) -> None:
        request = api_pb2.GetObservationLogRequest(
            trial_name=trial, metric_name=metric, start_time=start, end_time=end
        )
        try:
            served.stub.GetObservationLog(request, timeout=60)
            served.stub.DeleteObservationLog(
                api_pb2.DeleteObservationLogRequest(trial_name=trial), timeout=60
            )
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT and exc.details(), exc

    one()
    assert served.serving()


def test_garbage_bytes_on_every_method_path(served: Any) -> None:
    @FUZZ
    @given(method=st.sampled_from(METHODS), data=st.binary(max_size=3000))
    def one(method: str, data: bytes) -> None:
        call = served.channel.unary_unary(method, request_serializer=None, response_deserializer=None)
        try:
            call(data, timeout=60)
        except grpc.RpcError as exc:
            allowed = {grpc.StatusCode.INVALID_ARGUMENT}
            if method.startswith("/grpc.health"):
                allowed.add(grpc.StatusCode.NOT_FOUND)  # a well-formed request for an unknown service
            assert exc.code() in allowed and exc.details(), exc

    one()
    assert served.serving()
    assert served.peak_rss_kib() < PEAK_RSS_LIMIT_KIB


@pytest.mark.parametrize("size", [(64 << 20) + 1, 200 << 20])
def test_huge_requests_are_resource_exhausted(served: Any, size: int) -> None:
    call = served.channel.unary_unary(METHODS[0], request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as err:
        call(b"\x0a" + b"\xff" * size, timeout=120)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and err.value.details()
    assert served.serving()
    assert served.peak_rss_kib() < PEAK_RSS_LIMIT_KIB
