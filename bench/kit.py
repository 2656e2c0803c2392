"""What the operator, scale and long-experiment benchmarks share: experiments of no-op trials, a
watch-fed timeline of trials and jobs, the API server's request counters, RSS, and py-spy.

Everything is driven as a user would: `katib-py up`'s Stack, `kubectl apply`, and watches (one
request each, so the bench itself hardly shows in the API server's counts).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from katib_py.api.resources import EXPERIMENTS, SUGGESTIONS, TRIALS
from katib_py.kube.client import KubeClient
from katib_py.kube.errors import Expired
from katib_py.kube.resource import DEPLOYMENTS, JOBS, PODS, Resource
from katib_py.local.up import Stack

NAMESPACE = "default"
Obj = dict[str, Any]


def job_spec(command: list[str]) -> Obj:
    return {
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
    }


NOOP = ["sh", "-c", "echo loss=${trialParameters.x}"]


def experiment(
    name: str, trials: int, parallelism: int, collector: str = "StdOut", namespace: str = NAMESPACE
) -> Obj:
    """Random search over one double; each trial runs `sh -c "echo loss=<x>"`."""
    return {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Experiment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "objective": {"type": "minimize", "objectiveMetricName": "loss"},
            "algorithm": {"algorithmName": "random"},
            "parallelTrialCount": parallelism,
            "maxTrialCount": trials,
            "maxFailedTrialCount": trials,
            "metricsCollectorSpec": {"collector": {"kind": collector}},
            "parameters": [
                {"name": "x", "parameterType": "double", "feasibleSpace": {"min": "0", "max": "1"}}
            ],
            "trialTemplate": {
                "primaryContainerName": "main",
                "trialParameters": [{"name": "x", "reference": "x"}],
                "trialSpec": job_spec(NOOP),
            },
        },
    }


def kubectl_apply(kubeconfig: Path, objs: list[Obj]) -> None:
    """`kubectl apply -f -` of the objects as one YAML stream, as a user applies a file."""
    body = yaml.safe_dump_all(objs)
    done = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "apply", "-f", "-"],
        input=body.encode(),
        capture_output=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"kubectl apply failed: {done.stderr.decode(errors='replace')}")


def _true(obj: Obj, kind: str) -> bool:
    conds = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == kind and c.get("status") == "True" for c in conds)


@dataclass
class Timeline:
    """First time (perf_counter) each object was seen in each state, from watches."""

    seen: dict[tuple[str, str, str], float] = field(default_factory=dict)  # (kind, key, state)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    # (kind, state) -> key -> time: the benches ask for one kind and state several times a second,
    # and scanning every mark was 5% of the control-plane process at 4,000 trials (it runs here)
    by_state: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)

    def mark(self, kind: str, key: str, state: str) -> None:
        if (kind, key, state) not in self.seen:
            now = time.perf_counter()
            self.seen[(kind, key, state)] = now
            self.by_state.setdefault((kind, state), {})[key] = now
            self.changed.set()

    def times(self, kind: str, state: str, prefix: str = "") -> list[float]:
        marks = self.by_state.get((kind, state), {})
        return sorted(t for key, t in marks.items() if key.startswith(prefix))

    async def wait(self, predicate: Any, timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while not predicate():
            self.changed.clear()
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError("the benchmark's objects did not get there in time")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(left, 1.0))


def _states(kind: str, obj: Obj) -> list[str]:
    out = ["Created"]
    if kind == "trials":
        out += [s for s in ("Running", "Succeeded", "Failed", "MetricsUnavailable") if _true(obj, s)]
    elif kind == "experiments":
        out += [s for s in ("Running", "Succeeded", "Failed") if _true(obj, s)]
    elif kind == "jobs":
        out += [s for s in ("Complete", "Failed") if _true(obj, s)]
    elif kind == "suggestions":
        out += [s for s in ("DeploymentReady", "Running") if _true(obj, s)]
    elif kind == "deployments":
        out += [s for s in ("Available",) if _true(obj, s)]
    elif kind == "pods":
        out += [s for s in ("Ready",) if _true(obj, s)]
        if (obj.get("status") or {}).get("phase") in ("Running", "Succeeded"):
            out.append("Running")
    return out


class Watcher:
    """Watches trials, experiments and jobs (and more with `detail`) into a Timeline."""

    def __init__(self, kube: KubeClient, *, detail: bool = False) -> None:
        """`detail`: suggestions, deployments and pods too (the first trial's path, step by step)."""
        self.kube = kube
        self.kinds = [("trials", TRIALS), ("experiments", EXPERIMENTS), ("jobs", JOBS)]
        if detail:
            self.kinds += [("suggestions", SUGGESTIONS), ("deployments", DEPLOYMENTS), ("pods", PODS)]
        self.timeline = Timeline()
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for name, res in self.kinds:
            self.tasks.append(asyncio.create_task(self._run(name, res)))

    async def _run(self, kind: str, res: Resource) -> None:
        while True:
            try:
                items, rv = await self.kube.list_with_version(res)
                for obj in items:
                    self._see(kind, obj)
                async for etype, obj in self.kube.watch(res, resource_version=rv, timeout_seconds=3600):
                    if etype in ("ADDED", "MODIFIED"):
                        self._see(kind, obj)
            except Expired:
                continue

    def _see(self, kind: str, obj: Obj) -> None:
        meta = obj.get("metadata") or {}
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        for state in _states(kind, obj):
            self.timeline.mark(kind, key, state)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


# ---------------------------------------------------------------- API server request counts

Sample = tuple[str, str, str]  # (verb, resource[/subresource], user-agent-less code class)


async def request_counts(kube: KubeClient) -> Counter[tuple[str, str]]:
    """apiserver_request_total by (verb, resource[/subresource]), read from GET /metrics."""
    resp = await kube.session.get(kube.url + "/metrics", headers=kube._auth_headers())
    text = await resp.text()
    out: Counter[tuple[str, str]] = Counter()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "apiserver_request_total":
                res = s.labels["resource"] + (
                    f"/{s.labels['subresource']}" if s.labels["subresource"] else ""
                )
                out[(s.labels["verb"], res or "(non-resource)")] += int(s.value)
    return out


WRITE_VERBS = ("POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION")


def request_table(delta: Counter[tuple[str, str]], per: int, title: str) -> list[str]:
    """Rows `resource verb count per-trial`, writes first."""
    lines = [title, f"{'resource':<28} {'verb':<8} {'requests':>8} {'per trial':>9}"]
    rows = sorted(delta.items(), key=lambda kv: (kv[0][0] not in WRITE_VERBS, kv[0][1], kv[0][0]))
    for (verb, res), n in rows:
        if n:
            lines.append(f"{res:<28} {verb:<8} {n:>8} {n / per:>9.2f}")
    writes = sum(n for (verb, _), n in delta.items() if verb in WRITE_VERBS)
    reads = sum(n for (verb, _), n in delta.items() if verb not in WRITE_VERBS)
    lines.append(f"{'all writes':<37} {writes:>8} {writes / per:>9.2f}")
    lines.append(f"{'all reads':<37} {reads:>8} {reads / per:>9.2f}")
    return lines


# ---------------------------------------------------------------- processes


def rss_mib(pid: int, peak: bool = False) -> float:
    """VmRSS (or VmHWM, the peak) of a process, in MiB; 0 when it is gone."""
    field_name = "VmHWM:" if peak else "VmRSS:"
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def pod_processes(name_part: str) -> list[int]:
    """Pids whose command line contains `name_part` (e.g. the suggestion services' `suggestion serve`)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if name_part in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                out.append(int(entry.name))
    return out


class Profiler:
    """py-spy recording processes (collapsed stacks), summarised as the top functions by own and
    by total samples. py-spy samples from outside, so the process runs at full speed."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.procs: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}

    def start(self, name: str, pid: int) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / f"{name}.txt"
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),  # the bench extra's, on PATH or not
                "record",
                "--pid",
                str(pid),
                "--rate",
                "200",
                "--format",
                "raw",
                "--nonblocking",
                "--output",
                str(path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.procs[name] = (proc, path)

    def stop(self) -> dict[str, Path]:
        for proc, _ in self.procs.values():
            proc.send_signal(signal.SIGINT)
        for proc, _ in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return {name: path for name, (_, path) in self.procs.items()}


IDLE = (
    "select (selectors.py",
    "_run_once (asyncio",
    "poll (selectors.py",
    "wait (threading.py",
    "_worker (concurrent",
)


def summarise(path: Path, top: int = 12, only: str = "") -> list[str]:
    """The top functions of a py-spy raw file: own samples (leaf) and total (anywhere on the stack),
    idle waits (the event loop's select) left out; `only` keeps stacks through a path part."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    busy = 0
    if not path.exists():
        return [f"  (no profile at {path})"]
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        if only and not any(only in f for f in frames):
            continue
        if any(frames[-1].startswith(i) for i in IDLE):
            continue
        n = int(count)
        busy += n
        own[frames[-1]] += n
        for f in set(frames):
            total[f] += n
    lines = [f"  busy samples: {busy}", "  own time:"]
    lines += [f"    {n / max(busy, 1):6.1%}  {f}" for f, n in own.most_common(top)]
    lines.append("  total time (katib_py and aiohttp frames):")
    ours = [(f, n) for f, n in total.most_common() if "katib_py" in f or "aiohttp" in f or "kopf" in f]
    lines += [f"    {n / max(busy, 1):6.1%}  {f}" for f, n in ours[:top]]
    return lines


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def self_pid() -> int:
    return os.getpid()


@contextlib.asynccontextmanager
async def running_stack(
    prefix: str = "katib-py-bench-", **options: Any
) -> AsyncIterator[tuple[Stack, KubeClient, Watcher]]:
    """`katib-py up`'s Stack in a temporary directory, a client on it and a started Watcher, all
    stopped on the way out: the set-up every end-to-end bench shares."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        stack = Stack(Path(tmp), **options)
        await stack.start()
        kube = KubeClient.from_kubeconfig(str(stack.kubeconfig))
        watcher = Watcher(kube)
        watcher.start()
        try:
            yield stack, kube, watcher
        finally:
            await watcher.stop()
            await kube.close()
            await stack.stop()
