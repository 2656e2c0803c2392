"""db-manager receives at most 64 MiB: a larger request is RESOURCE_EXHAUSTED, and memory stays low.

Katib's db-manager takes 2 GiB messages; a 300 MB value took it to 1.5 GB (and SQLite stored it).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from katib_py.proto import api_pb2, api_pb2_grpc
from katib_py.proto.serving import MAX_RECEIVE_BYTES

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.fixture
def db_manager_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], grpc.Channel]]:
    port = free_port()
    cmd = [sys.executable, "-m", "katib_py.cli", "db-manager", "--listen", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(
        [*cmd, "--db-url", f"sqlite:///{tmp_path / 'katib.db'}"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")  # a client may send any size
    try:
        health = health_pb2_grpc.HealthStub(channel)
        deadline = time.monotonic() + 60
        while True:
            try:
                reply = health.Check(health_pb2.HealthCheckRequest(), timeout=5, wait_for_ready=True)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    break
            except grpc.RpcError:
                pass
            assert time.monotonic() < deadline, "db-manager did not start"
            time.sleep(0.2)
        yield proc, channel
    finally:
        channel.close()
        proc.kill()
        proc.wait(10)


def serving(channel: grpc.Channel) -> bool:
    reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def test_an_oversized_report_is_resource_exhausted_and_costs_no_memory(
    db_manager_process: tuple[subprocess.Popen[bytes], grpc.Channel],
) -> None:
    proc, channel = db_manager_process
    stub = api_pb2_grpc.DBManagerStub(channel)
    before = peak_rss_kib(proc.pid)
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
    assert serving(channel)
    reply = stub.GetObservationLog(api_pb2.GetObservationLogRequest(trial_name="t"), timeout=30)
    assert len(reply.observation_log.metric_logs) == 0
    grown = peak_rss_kib(proc.pid) - before
    assert grown < 80 * 1024, f"peak RSS grew by {grown} KiB for a refused 100 MB request"


def test_a_request_just_under_the_limit_is_read(
    db_manager_process: tuple[subprocess.Popen[bytes], grpc.Channel],
) -> None:
    _, channel = db_manager_process
    stub = api_pb2_grpc.DBManagerStub(channel)
    name = "t" * (MAX_RECEIVE_BYTES - 1024)
    with pytest.raises(grpc.RpcError) as err:
        stub.GetObservationLog(api_pb2.GetObservationLogRequest(trial_name=name), timeout=120)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # read, then refused for what it says
    assert "trial name is 67107840 characters" in str(err.value.details())
    assert serving(channel)
