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
