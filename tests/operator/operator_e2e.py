"""End-to-end helpers: `katib-py up` in a temporary directory, driven with the real kubectl.

One stack serves the whole session; every test uses its own experiment names, so experiments run
side by side (which also exercises concurrent reconciliation). Trials of the hand-made
experiments are "gated" shell commands: each waits for a file named after its trial, prints the
file (metric lines) and then waits for `<file>.end`, so a test decides when a trial reports,
what it reports, and when it ends.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from katib_py.api.config import default_config_text

KUBECTL = "/usr/bin/kubectl"
GRACE_SECONDS = 8


class Stack:
    def __init__(self, data_dir: Path, proc: subprocess.Popen[str]) -> None:
        self.data_dir = data_dir
        self.proc = proc
        self.env = dict(os.environ, KUBECONFIG=str(data_dir / "kubeconfig"))
        # Beside the data directory, not in it: Pods do not see the data directory.
        self.gates = data_dir.with_name(data_dir.name + "-gates")
        self.gates.mkdir(exist_ok=True)

    def kubectl(
        self, *args: str, check: bool = True, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(
            [KUBECTL, *args], env=self.env, capture_output=True, text=True, input=input, timeout=60
        )
        if check and out.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {out.stderr}")
        return out

    def apply(self, obj: dict[str, Any], check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.kubectl("apply", "-f", "-", input=json.dumps(obj), check=check)

    def get(self, kind: str, name: str, namespace: str = "default") -> dict[str, Any] | None:
        out = self.kubectl("get", kind, name, "-n", namespace, "-o", "json", check=False)
        if out.returncode != 0:
            return None
        result: dict[str, Any] = json.loads(out.stdout)
        return result

    def list(
        self, kind: str, selector: str | None = None, namespace: str = "default"
    ) -> list[dict[str, Any]]:
        args = ["get", kind, "-n", namespace, "-o", "json"]
        if selector:
            args += ["-l", selector]
        items: list[dict[str, Any]] = json.loads(self.kubectl(*args).stdout)["items"]
        return items

    def trials(self, experiment: str) -> list[dict[str, Any]]:
        return self.list("trials", f"katib.kubeflow.org/experiment={experiment}")

    def wait(
        self, what: str, predicate: Callable[[], Any], timeout: float = 180.0, interval: float = 0.5
    ) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                state = self.kubectl(
                    "get", "experiments,suggestions,trials,jobs,pods", "-o", "wide", check=False
                )
                raise AssertionError(
                    f"timed out waiting for {what}; cluster state:\n{state.stdout}{state.stderr}"
                )
            time.sleep(interval)

    def wait_finished(self, name: str, timeout: float = 240.0) -> dict[str, Any]:
        """The experiment once it is Succeeded or Failed."""

        def done() -> dict[str, Any] | None:
            exp = self.get("experiment", name)
            if exp is None:
                return None
            conds = (exp.get("status") or {}).get("conditions") or []
            if any(c["type"] in ("Succeeded", "Failed") and c["status"] == "True" for c in conds):
                return exp
            return None

        result: dict[str, Any] = self.wait(f"experiment {name} to finish", done, timeout)
        return result

    def release(self, trial: str, lines: list[str], end: bool = True) -> None:
        """Let a gated trial print `lines` (and end, unless `end` is False)."""
        gate = self.gates / trial
        gate.with_suffix(".tmp").write_text("".join(f"{line}\n" for line in lines))
        gate.with_suffix(".tmp").rename(gate)
        if end:
            (self.gates / f"{trial}.end").write_text("")


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_ and cond.get("status") == "True":
            return dict(cond)
    return None


def last_condition(obj: dict[str, Any]) -> str | None:
    conds = (obj.get("status") or {}).get("conditions") or []
    return str(conds[-1]["type"]) if conds else None


# The first sleep gives the metrics-collector sidecar time to start: on the embedded kubelet a main
# container that exits within a second of starting can end before its sidecar reads anything.
STARTUP_SECONDS = 2
GATE_SCRIPT = f"""sleep {STARTUP_SECONDS}
G="$1"
while [ ! -e "$G" ]; do sleep 0.1; done
cat "$G"
while [ ! -e "$G.end" ]; do sleep 0.1; done
"""


def _experiment(
    name: str, command: list[str], parameters: list[dict[str, Any]], **spec: Any
) -> dict[str, Any]:
    """A CI-sized Experiment whose trials run `command` in a batch/v1 Job (no retries)."""
    trial_parameters = [{"name": p["name"], "reference": p["name"]} for p in parameters]
    if any("${trialParameters.trialName}" in c for c in command):
        trial_parameters.append({"name": "trialName", "reference": "${trialSpec.Name}"})
    base: dict[str, Any] = {
        "objective": {"type": "maximize", "objectiveMetricName": "accuracy"},
        "algorithm": {"algorithmName": "random"},
        "parallelTrialCount": 2,
        "maxTrialCount": 4,
        "maxFailedTrialCount": 3,
        "parameters": parameters,
        "trialTemplate": {
            "primaryContainerName": "main",
            "trialParameters": trial_parameters,
            "trialSpec": {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "spec": {
                    "backoffLimit": 0,
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "main", "image": "busybox", "command": command}],
                        }
                    },
                },
            },
        },
    }
    base.update(spec)
    if "maxFailedTrialCount" not in spec and "maxTrialCount" in base:
        base["maxFailedTrialCount"] = min(base["maxFailedTrialCount"], base["maxTrialCount"])
    return {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Experiment",
        "metadata": {"name": name},
        "spec": base,
    }


X_PARAMETER = [{"name": "x", "parameterType": "double", "feasibleSpace": {"min": "0.1", "max": "0.9"}}]


def gated_experiment(stack: Stack, name: str, **spec: Any) -> dict[str, Any]:
    """Trials wait for their gate file, print it, then wait for `<gate>.end` (see the module docstring).

    Katib joins a trial's command with spaces before wrapping it for the metrics collector, so
    trial commands here are a script file plus arguments, never an inline `sh -c` script.
    """
    script = stack.gates / "gate.sh"
    if not script.exists():
        script.write_text(GATE_SCRIPT)
    parameters = spec.pop("parameters", X_PARAMETER)
    params = " ".join(f"${{trialParameters.{p['name']}}}" for p in parameters)
    command = ["/bin/sh", str(script), f"{stack.gates}/${{trialParameters.trialName}}", params]
    return _experiment(name, command, parameters, **spec)


def shell_experiment(stack: Stack, name: str, body: str, **spec: Any) -> dict[str, Any]:
    """Trials run the shell script `body` with the value of x as $1."""
    script = stack.gates / f"{name}.sh"
    script.write_text(f"sleep {STARTUP_SECONDS}\n{body}")
    parameters = spec.pop("parameters", X_PARAMETER)
    return _experiment(name, ["/bin/sh", str(script), "${trialParameters.x}"], parameters, **spec)


def with_spec(exp: dict[str, Any], **spec: Any) -> dict[str, Any]:
    out = copy.deepcopy(exp)
    out["spec"].update(spec)
    return out


def start_stack(
    data_dir: Path, *up_args: str, configure: Callable[[dict[str, Any]], None] | None = None
) -> Stack:
    """`katib-py up` in `data_dir` (katib-config with a short MetricsUnavailable grace period).

    `configure` may change the katib-config (a dict) before it is installed.
    """
    config = yaml.safe_load(default_config_text())
    config["runtime"]["metricsUnavailableGracePeriodSeconds"] = GRACE_SECONDS
    if configure is not None:
        configure(config)
    config_path = data_dir / "katib-config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    log_path = data_dir / "up.log"
    args = ["up", "--data-dir", str(data_dir), "--katib-config", str(config_path), *up_args]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "katib_py.cli", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    deadline = time.monotonic() + 120
    while "export KUBECONFIG" not in log_path.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError("katib-py up failed:\n" + log_path.read_text())
        time.sleep(0.2)
    return Stack(data_dir, proc)


def stop_stack(stack: Stack) -> None:
    os.killpg(stack.proc.pid, signal.SIGTERM)
    try:
        stack.proc.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(stack.proc.pid, signal.SIGKILL)
        stack.proc.wait()
