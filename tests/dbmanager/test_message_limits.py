"""db-manager receives at most 64 MiB: a larger request is RESOURCE_EXHAUSTED, and memory stays low.

Katib's db-manager takes 2 GiB messages; a 300 MB value took it to 1.5 GB (and SQLite stored it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest

from katib_py.proto import api_pb2
from katib_py.proto.serving import MAX_RECEIVE_BYTES


@pytest.fixture
def served(tmp_path: Path, db_manager_process: Any) -> Any:
    return db_manager_process(f"sqlite:///{tmp_path / 'katib.db'}")


def test_an_oversized_report_is_resource_exhausted_and_costs_no_memory(served: Any) -> None:
    stub = served.stub
    before = served.peak_rss_kib()
    value = api_pb2.Metric(name="loss", value="9" * (100 << 20))
    huge = api_pb2.ReportObservationLogRequest(
        trial_name="t",
        observation_log=api_pb2.ObservationLog(
            metric_logs=[api_pb2.MetricLog(time_stamp="2024-01-01T00:00:00Z", metric=value)]
        ),
    )
    with pytest.raises(grpc.RpcError) as err:
        stub.ReportObservationLog(huge, timeout=120)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, err.value
    assert str(MAX_RECEIVE_BYTES) in str(err.value.details())
    assert served.serving()
    reply = stub.GetObservationLog(api_pb2.GetObservationLogRequest(trial_name="t"), timeout=30)
    assert len(reply.observation_log.metric_logs) == 0
    grown = served.peak_rss_kib() - before
    assert grown < 80 * 1024, f"peak RSS grew by {grown} KiB for a refused 100 MB request"


def test_a_request_just_under_the_limit_is_read(served: Any) -> None:
    rows = [("2024-01-01T00:00:00Z", "loss", "1")] * 2
    logs = [api_pb2.MetricLog(time_stamp=t, metric=api_pb2.Metric(name=n, value=v)) for t, n, v in rows]
    request = api_pb2.ReportObservationLogRequest(
        trial_name="t" * (MAX_RECEIVE_BYTES - 1024), observation_log=api_pb2.ObservationLog(metric_logs=logs)
    )
    with pytest.raises(grpc.RpcError) as err:
        served.stub.ReportObservationLog(request, timeout=120)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # read, then refused for what it says
    assert "trial name is 67107840 characters" in str(err.value.details())
    assert served.serving()
