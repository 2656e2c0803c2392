"""Waiting for the training container through a shared PID namespace (unshare/nsenter, as root).

The namespace's pid 1 plays the pause container; the training shell and the collector enter it
from outside, so both have parent pid 0, as containers do in a pod with shareProcessNamespace.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest

from katib_py.proto import api_pb2, api_pb2_grpc

EARLY_STOP_CHECK = (
    " || if test -f {d}/$$.pid && [ $(head -n 1 {d}/$$.pid) = early-stopped ]; "
    "then echo Training Container was Early Stopped; else echo Training Container was Failed; exit 1; fi"
)


@pytest.fixture
def pid_namespace() -> Iterator[list[str]]:
    """A new PID namespace; yields the nsenter prefix that runs a command inside it."""
    pause = subprocess.Popen(["unshare", "-p", "-f", "--mount-proc", "sleep", "600"])
    children = Path(f"/proc/{pause.pid}/task/{pause.pid}/children")
    deadline = time.monotonic() + 10
    while not children.read_text().split() and time.monotonic() < deadline:
        time.sleep(0.02)
    inner = children.read_text().split()[0]
    yield ["nsenter", "-t", inner, "-p", "-m", "--"]
    subprocess.run(["kill", "-9", inner], check=False)
    pause.wait(10)


def trial() -> str:
    return f"trial-{uuid.uuid4().hex[:10]}"


def start_main(prefix: list[str], script: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*prefix, "sh", "-c", script])


def training_command(tmp_path: Path, writer: Path, args: str, early_stop: bool = False) -> str:
    folder = tmp_path
    script = f"while [ ! -f {folder}/go ]; do sleep 0.05; done; "
    script += f"{sys.executable} {writer} {args} 1>{folder}/metrics.log 2>&1"
    if early_stop:
        script += EARLY_STOP_CHECK.format(d=folder)
    return script + f" && echo completed > {folder}/$$.pid"


def test_collector_exits_when_training_completes(
    tmp_path: Path,
    pid_namespace: list[str],
    writer_script: Path,
    db_manager: Any,
    collector: Any,
    observations: Any,
) -> None:
    name, address = trial(), f"127.0.0.1:{db_manager.port}"
    main = start_main(pid_namespace, training_command(tmp_path, writer_script, "20 0.02 text"))
    proc = collector(
        "-t", name, "-m", "loss;accuracy", "-s-db", address, "-path", str(tmp_path / "metrics.log"),
        "-format", "TEXT", "-p", "100ms", prefix=tuple(pid_namespace),
    )  # fmt: skip
    (tmp_path / "go").touch()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert main.wait(30) == 0
    assert [v for _, _, v in observations(address, name, "loss")] == [str(i) for i in range(20)]
    assert "epoch 19: loss=19 accuracy=0.0019" in out


def test_failed_training_makes_the_collector_fail(
    tmp_path: Path,
    pid_namespace: list[str],
    writer_script: Path,
    db_manager: Any,
    collector: Any,
    observations: Any,
) -> None:
    name, address = trial(), f"127.0.0.1:{db_manager.port}"
    script = (
        f"while [ ! -f {tmp_path}/go ]; do sleep 0.05; done; echo loss=1 > {tmp_path}/metrics.log; exit 3"
    )
    main = start_main(pid_namespace, script)
    proc = collector(
        "-t", name, "-m", "loss", "-s-db", address, "-path", str(tmp_path / "metrics.log"), "-format", "TEXT",
        prefix=tuple(pid_namespace),
    )  # fmt: skip
    (tmp_path / "go").touch()
    _, err = proc.communicate(timeout=120)
    assert main.wait(30) == 3
    assert proc.returncode == 1
    assert "training container failed" in err
    assert [v for _, _, v in observations(address, name)] == ["1"]  # what was printed still arrives


class RecordingEarlyStopping(api_pb2_grpc.EarlyStoppingServicer):
    def __init__(self) -> None:
        self.trials: list[str] = []
        self.called = threading.Event()

    def SetTrialStatus(self, request: Any, context: Any) -> Any:
        self.trials.append(request.trial_name)
        self.called.set()
        return api_pb2.SetTrialStatusReply()


def test_early_stopping_rules_stop_the_training(
    tmp_path: Path,
    pid_namespace: list[str],
    writer_script: Path,
    db_manager: Any,
    collector: Any,
    observations: Any,
) -> None:
    servicer = RecordingEarlyStopping()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    api_pb2_grpc.add_EarlyStoppingServicer_to_server(servicer, server)
    es_port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        name, address = trial(), f"127.0.0.1:{db_manager.port}"
        main = start_main(
            pid_namespace, training_command(tmp_path, writer_script, "2000 0.02 low", early_stop=True)
        )
        proc = collector(
            "-t", name, "-m", "accuracy", "-o-type", "maximize", "-s-db", address,
            "-path", str(tmp_path / "metrics.log"), "-format", "TEXT", "-p", "100ms",
            "-stop-rule", "accuracy;0.5;LESS;3", "-s-earlystop", f"127.0.0.1:{es_port}",
            prefix=tuple(pid_namespace),
        )  # fmt: skip
        (tmp_path / "go").touch()
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert servicer.trials == [name]
        assert main.wait(30) == 0  # the wrapped command saw early-stopped and exited cleanly
        lines = (tmp_path / "metrics.log").read_text().splitlines()
        assert 3 <= len(lines) < 2000, "training must have been stopped early"
        assert len(observations(address, name, "accuracy")) >= 3
    finally:
        server.stop(None)
