"""`katib-py demo`: run an example Experiment end to end on this machine, then clean up.

Starts `katib-py up` in the background (a temporary data directory), `kubectl apply -f` the
example, follows it with `katib-py watch` (live trials, budget and best value) until it completes,
prints the best trial from the experiment's status when it has succeeded, and stops everything.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DEFAULT_EXAMPLE = "random.yaml"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="run an example Experiment end to end on the embedded stack")
    parser.add_argument(
        "--example", default=None, help=f"Experiment YAML (default examples/{DEFAULT_EXAMPLE})"
    )
    parser.add_argument("--timeout", type=float, default=170.0, help="seconds to wait for the experiment")
    parser.set_defaults(func=run)


def find_example(name: str | None) -> Path:
    if name:
        return Path(name)
    for base in (Path.cwd(), Path(__file__).resolve().parents[2]):
        candidate = base / "examples" / DEFAULT_EXAMPLE
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"examples/{DEFAULT_EXAMPLE} not found; pass --example")


def kubectl_path() -> str:
    venv_kubectl = Path(sys.executable).parent / "kubectl"
    return shutil.which("kubectl") or (str(venv_kubectl) if venv_kubectl.exists() else "/usr/bin/kubectl")


def experiment_state(kubectl: str, env: dict[str, str], name: str) -> tuple[str | None, dict[str, Any]]:
    """(last condition type if terminal, status)."""
    out = subprocess.run(
        [kubectl, "get", "experiment", name, "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        return None, {}
    status = json.loads(out.stdout).get("status") or {}
    for cond in status.get("conditions") or []:
        if cond.get("type") in ("Succeeded", "Failed") and cond.get("status") == "True":
            return str(cond["type"]), status
    return None, status


def run(args: argparse.Namespace) -> int:
    example = find_example(args.example)
    name = _experiment_name(example)
    kubectl = kubectl_path()
    data_dir = Path(tempfile.mkdtemp(prefix="katib-py-demo-"))
    env = dict(os.environ, KUBECONFIG=str(data_dir / "kubeconfig"))
    print(f"starting katib-py up (data in {data_dir}) ...", flush=True)
    log_path = data_dir / "up.log"
    with open(log_path, "w") as log:
        up = subprocess.Popen(
            [sys.executable, "-m", "katib_py.cli", "up", "--data-dir", str(data_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    result = 1
    try:
        deadline = time.monotonic() + 120
        while "export KUBECONFIG" not in log_path.read_text():
            if up.poll() is not None or time.monotonic() > deadline:
                print("katib-py up did not start:\n" + log_path.read_text(), file=sys.stderr)
                return 1
            time.sleep(0.2)
        print("".join(f"  {line}\n" for line in log_path.read_text().splitlines()), end="", flush=True)
        subprocess.run([kubectl, "apply", "-f", str(example)], env=env, check=True)
        watch = [sys.executable, "-m", "katib_py.cli", "watch", name, "--timeout", str(args.timeout)]
        subprocess.run(watch, env=env, check=False)
        outcome, status = experiment_state(kubectl, env, name)
        if outcome is None:
            print(f"experiment {name} did not finish in {args.timeout:.0f}s", file=sys.stderr)
            return 1
        reason = next(c.get("reason") for c in status.get("conditions") or [] if c.get("type") == outcome)
        print(f"\nexperiment {name}: {outcome} ({reason})")
        best = status.get("currentOptimalTrial") or {}
        if best.get("bestTrialName"):
            print(f"best trial (status.currentOptimalTrial): {best['bestTrialName']}")
            for m in (best.get("observation") or {}).get("metrics") or []:
                print(f"  {m.get('name')}: latest={m.get('latest')} min={m.get('min')} max={m.get('max')}")
        result = 0 if outcome == "Succeeded" else 1
        return result
    finally:
        print("stopping katib-py up ...", flush=True)
        os.killpg(up.pid, signal.SIGTERM)
        try:
            up.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


def _experiment_name(path: Path) -> str:
    import yaml

    for doc in yaml.safe_load_all(path.read_text()):
        if isinstance(doc, dict) and doc.get("kind") == "Experiment":
            return str((doc.get("metadata") or {}).get("name"))
    raise ValueError(f"{path} holds no Experiment")
