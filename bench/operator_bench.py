"""Control-plane speed as a user sees it on `katib-py up`: no-op trials (`sh -c "echo loss=..."`).

Tables, each with its baseline measured in the same run:
1. `kubectl apply` -> first trial Running (random), the first experiment after `up` (cold) and a
   later one (warm); baseline: a Job of the same command applied with kubectl -> Complete.
2. 60 trials, parallel 10, StdOut collector (the default, sidecar included): apply -> Succeeded;
   baseline: the same 60 Jobs created directly, 10 at a time. With `--profile DIR` the operator
   and the control plane (API server, controllers, kubelet: this process) are sampled by py-spy
   during this run and the top functions printed.
3. Control-plane overhead per trial at parallel 10 and 50 (Push collector: no sidecar, so only
   the control plane differs from the baseline Jobs): (experiment's first trial -> Succeeded -
   the same Jobs created directly) / trials; trials per minute in the steady state (the middle
   half of the completions) at the highest parallelism.
4. API requests per trial, counted by the API server (GET /metrics, apiserver_request_total)
   over run 2 and over the highest-parallelism run of 3, by resource and verb.

Run: .venv/bin/python -m bench.operator_bench [--trials 60] [--overhead-trials 200]
     [--parallelism 10,50] [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from pathlib import Path

from bench.kit import (
    NAMESPACE,
    Profiler,
    Timeline,
    Watcher,
    experiment,
    job_spec,
    kubectl_apply,
    request_counts,
    request_table,
    rss_mib,
    running_stack,
    self_pid,
    summarise,
)
from katib_py.kube.client import KubeClient
from katib_py.kube.resource import JOBS
from katib_py.local.up import Stack

FIRST_TRIAL_STEPS = [
    ("experiments", "Created", ""),
    ("suggestions", "Created", ""),
    ("deployments", "Created", "-random"),
    ("pods", "Created", "-random-"),
    ("pods", "Running", "-random-"),
    ("pods", "Ready", "-random-"),
    ("deployments", "Available", "-random"),
    ("suggestions", "DeploymentReady", ""),
    ("suggestions", "Running", ""),
    ("trials", "Created", "-"),
    ("jobs", "Created", "-"),
    ("trials", "Running", "-"),
]


async def first_trial_running(stack: Stack, watcher: Watcher, name: str) -> tuple[float, list[str]]:
    """Seconds from `kubectl apply` to the first trial Running, and the steps on the way."""
    t0 = time.perf_counter()
    await asyncio.to_thread(kubectl_apply, stack.kubeconfig, [experiment(name, 1, 1)])
    tl = watcher.timeline
    await tl.wait(lambda: tl.times("trials", "Running", f"{NAMESPACE}/{name}-"), 120)
    steps = []
    for kind, state, suffix in FIRST_TRIAL_STEPS:
        seen = tl.times(kind, state, f"{NAMESPACE}/{name}{suffix}")
        if seen:
            steps.append(f"  {seen[0] - t0:6.2f} s  {kind[:-1]} {state}")
    return tl.times("trials", "Running", f"{NAMESPACE}/{name}-")[0] - t0, steps


async def job_running(stack: Stack, watcher: Watcher, name: str) -> float:
    """Baseline of table 1: a Job of the same command applied with kubectl -> Complete (an upper
    bound of its Pod's start: the trial's Running is also seen from a watch)."""
    body = job_spec(["sh", "-c", "echo loss=0.5"])
    body["metadata"] = {"name": name, "namespace": NAMESPACE}
    t0 = time.perf_counter()
    await asyncio.to_thread(kubectl_apply, stack.kubeconfig, [body])
    tl = watcher.timeline
    await tl.wait(lambda: tl.times("jobs", "Complete", f"{NAMESPACE}/{name}"), 120)
    return tl.times("jobs", "Complete", f"{NAMESPACE}/{name}")[0] - t0


async def run_experiment(
    stack: Stack, watcher: Watcher, name: str, trials: int, parallelism: int, collector: str
) -> tuple[float, float, str]:
    """(apply -> Succeeded, first trial created -> Succeeded, reason)."""
    t0 = time.perf_counter()
    await asyncio.to_thread(
        kubectl_apply, stack.kubeconfig, [experiment(name, trials, parallelism, collector)]
    )
    tl = watcher.timeline
    key = f"{NAMESPACE}/{name}"
    await tl.wait(
        lambda: tl.times("experiments", "Succeeded", key) or tl.times("experiments", "Failed", key),
        60 + trials * 5,
    )
    end = (tl.times("experiments", "Succeeded", key) or tl.times("experiments", "Failed", key))[0]
    first = tl.times("trials", "Created", f"{key}-")[0]
    ok = len(tl.times("trials", "Succeeded", f"{key}-"))
    unavailable = len(tl.times("trials", "MetricsUnavailable", f"{key}-"))
    reason = "Succeeded" if tl.times("experiments", "Succeeded", key) else "Failed"
    return end - t0, end - first, f"{reason} ({ok} trials Succeeded, {unavailable} MetricsUnavailable)"


async def run_jobs(kube: KubeClient, watcher: Watcher, prefix: str, jobs: int, parallelism: int) -> float:
    """The baseline: the same Jobs created directly, `parallelism` at a time."""
    tl = watcher.timeline
    t0 = time.perf_counter()
    created = 0

    def finished() -> int:
        key = f"{NAMESPACE}/{prefix}-"
        return len(tl.times("jobs", "Complete", key)) + len(tl.times("jobs", "Failed", key))

    while finished() < jobs:
        while created < jobs and created - finished() < parallelism:
            body = job_spec(["sh", "-c", f"echo loss=0.{created}"])
            body["metadata"] = {"name": f"{prefix}-{created}", "namespace": NAMESPACE}
            await kube.create(JOBS, body, NAMESPACE)
            created += 1
        tl.changed.clear()
        await tl.wait(lambda n=finished(): finished() > n or finished() >= jobs, 120)
    return time.perf_counter() - t0


def steady_rate(tl: Timeline, prefix: str) -> float:
    """Trials per minute between the 25th and the 75th percentile of the completions."""
    done = sorted(tl.times("trials", "Succeeded", prefix) + tl.times("trials", "MetricsUnavailable", prefix))
    if len(done) < 8:
        return float("nan")
    a, b = done[len(done) // 4], done[3 * len(done) // 4]
    return (3 * len(done) // 4 - len(done) // 4) / (b - a) * 60


async def main(opts: argparse.Namespace) -> None:
    levels = [int(x) for x in opts.parallelism.split(",")]
    out: list[str] = []
    async with running_stack("katib-py-bench-") as (stack, kube, watcher):
        assert stack.operator is not None
        operator_pid = stack.operator.pid
        # 1. first trial Running
        detail = Watcher(kube, detail=True)  # suggestions, deployments, pods: for table 1 only
        detail.start()
        cold, _ = await first_trial_running(stack, detail, "first-cold")
        warm, steps = await first_trial_running(stack, detail, "first-warm")
        await detail.stop()
        job = await job_running(stack, watcher, "first-job")
        out += [
            "1. kubectl apply -> first trial Running (random, embedded)",
            f"{'case':<44} {'seconds':>8}",
            f"{'first experiment after katib-py up (cold)':<44} {cold:>8.2f}",
            f"{'a later experiment (warm)':<44} {warm:>8.2f}",
            f"{'baseline: kubectl apply of a Job -> Complete':<44} {job:>8.2f}",
            "the warm one, step by step (first seen in a watch, from kubectl apply):",
            *steps,
            "",
        ]

        # 2. 60 trials, parallel 10, StdOut
        n = opts.trials
        base = await run_jobs(kube, watcher, "base60", n, 10)
        profiler = Profiler(Path(opts.profile)) if opts.profile else None
        if profiler is not None:
            profiler.start("operator", stack.operator.pid)
            profiler.start("control-plane", self_pid())
        before = await request_counts(kube)
        total, from_first, reason = await run_experiment(stack, watcher, "sixty", n, 10, "StdOut")
        after = await request_counts(kube)
        profiles = profiler.stop() if profiler is not None else {}
        out += [
            f"2. {n} no-op trials, parallel 10, StdOut collector: kubectl apply -> Succeeded",
            f"{'jobs only s':>11} {'katib s':>8} {'first trial->end s':>18} {'ratio':>6} "
            f"{'overhead/trial ms':>17}  result",
            f"{base:>11.2f} {total:>8.2f} {from_first:>18.2f} {total / base:>6.2f} "
            f"{(from_first - base) / n * 1000:>17.0f}  {reason}",
            "",
        ]
        out += request_table(after - before, n, f"4a. API requests per trial over run 2 ({n} trials)")
        out.append("")

        # 3. overhead per trial, Push collector
        rows = []
        last_delta: Counter[tuple[str, str]] = Counter()
        for p in levels:
            m = max(opts.overhead_trials, p)
            base = await run_jobs(kube, watcher, f"base-p{p}", m, p)
            before = await request_counts(kube)
            total, from_first, reason = await run_experiment(stack, watcher, f"over-p{p}", m, p, "Push")
            last_delta = (await request_counts(kube)) - before
            rate = steady_rate(watcher.timeline, f"{NAMESPACE}/over-p{p}-")
            rows.append((p, m, base, from_first, rate, reason))
        out += [
            "3. control-plane overhead per no-op trial (Push collector: nothing pushed, so each trial"
            " ends MetricsUnavailable), vs the same Jobs created directly",
            f"{'parallel':>8} {'trials':>6} {'jobs only s':>11} {'katib s':>8} {'ratio':>6} "
            f"{'overhead/trial ms':>17} {'steady trials/min':>17}  result",
        ]
        for p, m, base, wall, rate, reason in rows:
            out.append(
                f"{p:>8} {m:>6} {base:>11.2f} {wall:>8.2f} {wall / base:>6.2f} "
                f"{(wall - base) / m * 1000:>17.0f} {rate:>17.0f}  {reason}"
            )
        out.append("")
        p, m = levels[-1], max(opts.overhead_trials, levels[-1])
        out += request_table(
            last_delta, m, f"4b. API requests per trial over run 3 at parallel {p} ({m} trials)"
        )
        out += [
            "",
            f"RSS MiB: operator {rss_mib(operator_pid):.0f} (peak {rss_mib(operator_pid, True):.0f}), "
            f"control plane (API server + controllers + kubelet, this process) {rss_mib(self_pid()):.0f} "
            f"(peak {rss_mib(self_pid(), True):.0f})",
        ]
        for name, path in profiles.items():
            out += ["", f"py-spy, run 2, {name} ({path}):"]
            if name == "control-plane":
                for part in ("apiserver", "controllers", "kubelet"):
                    out += [f" {part}:", *summarise(path, 8, only=f"localcluster/{part}")]
            else:
                out += summarise(path)
    print("\n".join(out))
    print(
        "\nkatib s: first trial created -> Succeeded; jobs only: the same Jobs without Katib;\n"
        "overhead/trial = (katib s - jobs only s) / trials; requests counted by the embedded API server\n"
        "(the kubelet's and the built-in controllers' included; the bench's own: 3 watches)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=60, help="trials of table 2")
    parser.add_argument("--overhead-trials", type=int, default=200, help="trials per run of table 3")
    parser.add_argument("--parallelism", default="10,50")
    parser.add_argument("--profile", default="", help="directory for py-spy profiles of run 2 ('' = none)")
    asyncio.run(main(parser.parse_args()))
