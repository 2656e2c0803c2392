"""Many experiments at once on `katib-py up`: E Experiments x T no-op trials applied together.

For each operator layout (`--shards 1,2`: one replica, then two shards, each a fresh stack) it
applies all Experiments in one `kubectl apply` and reports: how many ended Succeeded, the p50 and
p99 time from the apply to each experiment's end (p99/p50 shows starvation: one experiment
waiting behind the others), the total wall time, the API requests per trial by resource
(apiserver_request_total), the peak RSS of each operator replica and of the control plane
(API server + controllers + kubelet: this process), and, from the API server's watch gauge, the
watch connections each replica holds. The baseline is the same E x T Jobs created directly,
`parallel` at a time per experiment, on the same stack.

Run: .venv/bin/python -m bench.scale_bench [--experiments 100] [--trials 20] [--parallel 2]
     [--shards 1,2]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter

from prometheus_client.parser import text_string_to_metric_families

from bench.kit import (
    NAMESPACE,
    Watcher,
    experiment,
    job_spec,
    kubectl_apply,
    percentile,
    request_counts,
    request_table,
    rss_mib,
    running_stack,
    self_pid,
)
from katib_py.kube.client import KubeClient
from katib_py.kube.resource import JOBS


async def jobs_baseline(kube: KubeClient, watcher: Watcher, groups: int, per: int, parallel: int) -> float:
    """`groups` x `per` Jobs, each group `parallel` at a time: the cluster's own cost of the pods."""
    tl = watcher.timeline
    t0 = time.perf_counter()

    async def group(g: int) -> None:
        created = 0
        prefix = f"{NAMESPACE}/base-{g}-"

        def done() -> int:
            return len(tl.times("jobs", "Complete", prefix)) + len(tl.times("jobs", "Failed", prefix))

        while done() < per:
            while created < per and created - done() < parallel:
                body = job_spec(["sh", "-c", "echo loss=0.5"])
                body["metadata"] = {"name": f"base-{g}-{created}", "namespace": NAMESPACE}
                await kube.create(JOBS, body, NAMESPACE)
                created += 1
            n = done()
            await tl.wait(lambda n=n: done() > n or done() >= per, 600)

    await asyncio.gather(*(group(g) for g in range(groups)))
    return time.perf_counter() - t0


async def watch_connections(kube: KubeClient) -> dict[str, int]:
    """Open watches by resource (apiserver_longrunning_requests)."""
    resp = await kube.session.get(kube.url + "/metrics", headers=kube._auth_headers())
    out: dict[str, int] = {}
    for family in text_string_to_metric_families(await resp.text()):
        for s in family.samples:
            if s.name == "apiserver_longrunning_requests" and s.labels["verb"] == "WATCH" and s.value:
                out[s.labels["resource"]] = out.get(s.labels["resource"], 0) + int(s.value)
    return out


async def run_layout(opts: argparse.Namespace, shards: int) -> list[str]:
    e, t, p = opts.experiments, opts.trials, opts.parallel
    out: list[str] = []
    async with running_stack("katib-py-scale-", shards=shards) as (stack, kube, watcher):
        pids = [proc.pid for proc in stack.operators if proc is not None]
        watches = await watch_connections(kube)
        base = await jobs_baseline(kube, watcher, e, t, p) if opts.baseline else float("nan")
        names = [f"scale-{i:03d}" for i in range(e)]
        before = await request_counts(kube)
        t0 = time.perf_counter()
        await asyncio.to_thread(
            kubectl_apply, stack.kubeconfig, [experiment(n, t, p, opts.collector) for n in names]
        )
        tl = watcher.timeline

        def finished() -> list[str]:
            return [
                n
                for n in names
                if tl.times("experiments", "Succeeded", f"{NAMESPACE}/{n}")
                or tl.times("experiments", "Failed", f"{NAMESPACE}/{n}")
            ]

        await tl.wait(lambda: len(finished()) == e, opts.timeout)
        wall = time.perf_counter() - t0
        delta: Counter[tuple[str, str]] = (await request_counts(kube)) - before
        ends = [
            (
                tl.times("experiments", "Succeeded", f"{NAMESPACE}/{n}")
                or tl.times("experiments", "Failed", f"{NAMESPACE}/{n}")
            )[0]
            - t0
            for n in names
        ]
        ok = sum(1 for n in names if tl.times("experiments", "Succeeded", f"{NAMESPACE}/{n}"))
        trials_ok = len(tl.times("trials", "Succeeded", f"{NAMESPACE}/scale-"))
        p50, p99 = percentile(ends, 0.5), percentile(ends, 0.99)
        rss = ", ".join(f"{rss_mib(pid, True):.0f}" for pid in pids)
        out += [
            f"{shards:>6} {e:>4}x{t:<4} {ok:>9} {trials_ok:>8} {base:>10.1f} {wall:>7.1f} {p50:>7.1f} "
            f"{p99:>7.1f} {p99 / p50:>7.2f} {e * t / wall * 60:>10.0f} {rss:>14} "
            f"{rss_mib(self_pid(), True):>10.0f}",
        ]
        table = request_table(delta, e * t, f"API requests per trial, {shards} shard(s):")
        table.append(
            "open watches by resource (operator replicas, kubelet, controllers, and this bench's 3): "
            + ", ".join(f"{r or '-'} {n}" for r, n in sorted(watches.items()))
        )
    return [*out, "", *table]


async def main(opts: argparse.Namespace) -> None:
    header = (
        f"{'shards':>6} {'E x T':>9} {'Succeeded':>9} {'trials':>8} {'jobs only':>10} {'wall s':>7} "
        f"{'p50 s':>7} {'p99 s':>7} {'p99/p50':>7} {'trials/min':>10} {'operator MiB':>14} "
        f"{'cp MiB':>10}"
    )
    rows: list[str] = []
    tables: list[str] = []
    for shards in [int(x) for x in opts.shards.split(",")]:
        result = await run_layout(opts, shards)
        rows.append(result[0])
        tables += result[1:]
    print(header)
    print("\n".join(rows))
    print(
        "p50/p99: kubectl apply -> each experiment Succeeded; jobs only: the same Jobs without Katib\n"
        "(all groups at once, same parallelism); MiB: peak RSS of each operator replica and of the\n"
        "control plane (this process)\n"
    )
    print("\n".join(tables))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=100)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--parallel", type=int, default=2, help="parallelTrialCount of each experiment")
    parser.add_argument("--shards", default="1,2")
    parser.add_argument("--collector", default="StdOut", help="StdOut (default, sidecar) or Push")
    parser.add_argument("--no-baseline", dest="baseline", action="store_false")
    parser.add_argument("--timeout", type=float, default=3600)
    asyncio.run(main(parser.parse_args()))
