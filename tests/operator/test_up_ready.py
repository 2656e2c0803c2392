"""`katib-py up` publishes its kubeconfig only when the whole stack serves, webhooks included."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .operator_e2e import KUBECTL, X_PARAMETER, _experiment

pytestmark = pytest.mark.e2e


def test_an_experiment_applied_the_moment_the_kubeconfig_appears_is_defaulted(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("stale: a previous run's\n")
    log = open(tmp_path / "up.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "katib_py.cli", "up", "--data-dir", str(tmp_path)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        saw_internal_first = False
        while True:  # the stale file goes at once; the new one comes when all serves
            if kubeconfig.exists() and "stale" not in kubeconfig.read_text():
                break
            saw_internal_first |= (tmp_path / "internal" / "kubeconfig").exists() and not kubeconfig.exists()
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "up.log").read_text()
            time.sleep(0.01)
        assert saw_internal_first, "the API server ran before the kubeconfig was published"
        assert kubeconfig.stat().st_mode & 0o777 == 0o600
        # no metricsCollectorSpec, no resumePolicy: the defaulting webhook must fill them in
        exp = _experiment(
            "ready-at-once", ["/bin/true", "${trialParameters.x}"], X_PARAMETER, maxTrialCount=2
        )
        env = dict(os.environ, KUBECONFIG=str(kubeconfig))
        out = subprocess.run(
            [KUBECTL, "create", "-o", "json", "-f", "-"],
            input=json.dumps(exp),
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        stored = json.loads(out.stdout)["spec"]
        assert stored["metricsCollectorSpec"]["collector"]["kind"] == "StdOut"
        assert stored["resumePolicy"] == "Never"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)
        log.close()
    assert not kubeconfig.exists(), "a stopped stack leaves no kubeconfig to connect to"


def _start_up(data_dir: Path) -> subprocess.Popen[bytes]:
    log = open(data_dir / "up.log", "a")  # noqa: SIM115 - the child keeps it
    proc = subprocess.Popen(
        [sys.executable, "-m", "katib_py.cli", "up", "--data-dir", str(data_dir)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    deadline = time.monotonic() + 120
    while not (data_dir / "kubeconfig").exists():
        assert proc.poll() is None and time.monotonic() < deadline, (data_dir / "up.log").read_text()
        time.sleep(0.05)
    return proc


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_gone(pids: list[int], seconds: float = 20) -> list[int]:
    deadline = time.monotonic() + seconds
    while (alive := [p for p in pids if _alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive


def test_a_killed_up_takes_its_processes_along_and_a_restart_clears_what_is_left(tmp_path: Path) -> None:
    proc = _start_up(tmp_path)
    children = [int((tmp_path / "pids" / name).read_text().split()[0]) for name in ("operator", "db-manager")]
    assert all(_alive(p) for p in children)
    os.kill(proc.pid, signal.SIGKILL)  # only `katib-py up` itself: its children run in sessions of their own
    proc.wait(30)
    assert _wait_gone(children) == [], "the operator or db-manager outlived a kill -9 of katib-py up"

    # Something a previous run recorded and that still runs (say, from an older version): cleared.
    leftover = subprocess.Popen(["sleep", "600"], start_new_session=True)
    start = Path(f"/proc/{leftover.pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    (tmp_path / "pids" / "operator").write_text(f"{leftover.pid} {start}\n")
    proc = _start_up(tmp_path)
    try:
        assert leftover.wait(30) == -signal.SIGKILL
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)
        if leftover.poll() is None:
            leftover.kill()
