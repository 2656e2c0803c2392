"""Control-plane overhead per trial: Katib experiments of trials that do nothing, on `katib-py up`.

For each parallelism (1, 10, 50) it runs an Experiment of N trials whose job runs `true` (Push
collector: no sidecar), and, as the baseline measured in the same run, the same N Jobs created
directly with the same parallelism and no Katib at all. The ideal wall time is what the baseline
takes (the embedded cluster's own cost of running N pods); Katib's overhead per trial is
(experiment wall time - baseline wall time) / N, where the experiment's wall time runs from its
first trial to Succeeded. The one-off start of the suggestion Deployment (a Python process that
imports the algorithm library) is reported apart, as "startup".

Run: .venv/bin/python -m bench.operator_bench [--trials 100] [--parallelism 1,10,50]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from katib_py.api.resources import EXPERIMENTS, TRIALS
from katib_py.kube.client import KubeClient
from katib_py.kube.resource import JOBS
from katib_py.local.up import Stack

NAMESPACE = "default"


def job_template(command: list[str]) -> dict[str, Any]:
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


def experiment(name: str, trials: int, parallelism: int) -> dict[str, Any]:
    template = job_template(["true", "${trialParameters.x}"])
    return {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Experiment",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "objective": {"type": "maximize", "objectiveMetricName": "accuracy"},
            "algorithm": {"algorithmName": "random"},
            "parallelTrialCount": parallelism,
            "maxTrialCount": trials,
            "metricsCollectorSpec": {"collector": {"kind": "Push"}},
            "parameters": [
                {"name": "x", "parameterType": "double", "feasibleSpace": {"min": "0", "max": "1"}}
            ],
            "trialTemplate": {
                "primaryContainerName": "main",
                "trialParameters": [{"name": "x", "reference": "x"}],
                "trialSpec": template,
            },
        },
    }


async def run_experiment(
    kube: KubeClient, name: str, trials: int, parallelism: int
) -> tuple[float, float, str]:
    """(seconds until the first trial exists, seconds from then to the end, reason)."""
    t0 = time.perf_counter()
    await kube.create(EXPERIMENTS, experiment(name, trials, parallelism), NAMESPACE)
    while not await kube.list(TRIALS, NAMESPACE, label_selector=f"katib.kubeflow.org/experiment={name}"):
        await asyncio.sleep(0.02)
    t1 = time.perf_counter()
    while True:
        exp = await kube.get_or_none(EXPERIMENTS, name, NAMESPACE)
        conditions = ((exp or {}).get("status") or {}).get("conditions") or []
        done = [c for c in conditions if c["type"] in ("Succeeded", "Failed") and c["status"] == "True"]
        if done:
            return t1 - t0, time.perf_counter() - t1, str(done[0].get("reason"))
        await asyncio.sleep(0.05)


async def run_jobs(kube: KubeClient, prefix: str, jobs: int, parallelism: int) -> float:
    """The baseline: the same Jobs created directly, `parallelism` at a time."""
    t0 = time.perf_counter()
    created = 0
    finished: set[str] = set()
    while len(finished) < jobs:
        items = await kube.list(JOBS, NAMESPACE)
        for job in items:
            name = job["metadata"]["name"]
            conds = (job.get("status") or {}).get("conditions") or []
            if name.startswith(prefix) and any(
                c["type"] in ("Complete", "Failed") and c["status"] == "True" for c in conds
            ):
                finished.add(name)
        while created < jobs and created - len(finished) < parallelism:
            body = job_template(["true"])
            body["metadata"] = {"name": f"{prefix}-{created}", "namespace": NAMESPACE}
            await kube.create(JOBS, body, NAMESPACE)
            created += 1
        await asyncio.sleep(0.05)
    return time.perf_counter() - t0


async def main(trials: int, levels: list[int]) -> None:
    with tempfile.TemporaryDirectory(prefix="katib-py-bench-") as tmp:
        stack = Stack(Path(tmp))
        await stack.start()
        kube = KubeClient.from_kubeconfig(str(stack.kubeconfig))
        rows = []
        try:
            # warm-up: start the suggestion service code path and the pod path once
            await run_experiment(kube, "warmup", 2, 2)
            for p in levels:
                n = max(trials if p > 1 else trials // 5, p)
                baseline = await run_jobs(kube, f"base-p{p}", n, p)
                startup, wall, reason = await run_experiment(kube, f"bench-p{p}", n, p)
                rows.append((p, n, baseline, startup, wall, reason))
        finally:
            await kube.close()
            await stack.stop()
    print()
    print(
        f"{'parallel':>8} {'trials':>6} {'startup s':>9} {'jobs only s':>11} {'katib s':>8} {'ratio':>6} "
        f"{'overhead/trial ms':>17} {'trials/min':>10}  reason"
    )
    for p, n, baseline, startup, wall, reason in rows:
        overhead_ms = (wall - baseline) / n * 1000
        print(
            f"{p:>8} {n:>6} {startup:>9.2f} {baseline:>11.2f} {wall:>8.2f} {wall / baseline:>6.2f} "
            f"{overhead_ms:>17.0f} {n / wall * 60:>10.0f}  {reason}"
        )
    print(
        "startup: experiment created -> first trial (suggestion Deployment start);\n"
        "katib s: first trial -> Succeeded; jobs only: the same Jobs without Katib;\n"
        "overhead/trial = (katib s - jobs only s) / trials"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--trials", type=int, default=100, help="trials per experiment (parallelism 1: a fifth)"
    )
    parser.add_argument("--parallelism", default="1,10,50")
    args = parser.parse_args()
    asyncio.run(main(args.trials, [int(x) for x in args.parallelism.split(",")]))
