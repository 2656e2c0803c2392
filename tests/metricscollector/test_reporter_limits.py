"""The collector's reporter sends only requests db-manager accepts, and never resends refused rows."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from katib_py.dbmanager.server import DBManagerServer
from katib_py.dbmanager.settings import load
from katib_py.metricscollector.collector import metric_log
from katib_py.metricscollector.reporter import Reporter
from katib_py.proto import api_pb2, api_pb2_grpc

SERVER_LIMIT = 1 << 20


@pytest.fixture
def small_db_manager(tmp_path: Path) -> Iterator[DBManagerServer]:
    """A db-manager that takes 1 MiB requests: the reporter's 4 MiB batches are too large for it."""
    settings = load(env={}, db_url=f"sqlite:///{tmp_path / 'katib.db'}")
    server = DBManagerServer(settings, "127.0.0.1:0", max_receive_bytes=SERVER_LIMIT)
    server.start()
    assert server.ready.wait(30)
    yield server
    server.stop(grace=1)


def stored_values(server: DBManagerServer, trial: str) -> list[str]:
    with Reporter(f"127.0.0.1:{server.port}", trial).channel as channel:
        reply = api_pb2_grpc.DBManagerStub(channel).GetObservationLog(
            api_pb2.GetObservationLogRequest(trial_name=trial), timeout=60
        )
    return [m.metric.value for m in reply.observation_log.metric_logs]


def stamp(i: int) -> str:
    return f"2024-01-01T00:{i // 60:02d}:{i % 60:02d}Z"


def test_batches_shrink_to_what_the_server_takes_and_an_unsendable_log_is_dropped(
    small_db_manager: DBManagerServer,
) -> None:
    reporter = Reporter(f"127.0.0.1:{small_db_manager.port}", "trial-sizes")
    values = [f"{i:05d}" + "7" * 2000 for i in range(2000)]  # 4 MB in all
    reporter.add(metric_log("loss", value, stamp(i)) for i, value in enumerate(values))
    reporter.add([metric_log("loss", "8" * (2 << 20), stamp(2000))])  # no request can carry it
    reporter.add([metric_log("loss", "last", stamp(2001))])
    try:
        assert reporter.flush(time.monotonic() + 60), f"{len(reporter.pending)} logs not stored"
    finally:
        reporter.close()
    assert stored_values(small_db_manager, "trial-sizes") == [*values, "last"]


def test_refused_rows_are_not_sent_again(small_db_manager: DBManagerServer) -> None:
    reporter = Reporter(f"127.0.0.1:{small_db_manager.port}", "trial-refused")
    reporter.add([metric_log("loss", "1", stamp(0)), metric_log("l" * 300, "2", stamp(1))])
    reporter.add([metric_log("loss", "3", stamp(2))])
    try:
        assert reporter.flush(time.monotonic() + 30)
        assert reporter.failures == 0
    finally:
        reporter.close()
    assert stored_values(small_db_manager, "trial-refused") == ["1", "3"]
