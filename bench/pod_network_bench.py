"""`python -m bench.pod_network_bench [--pods N]`: what a Pod's own network namespace costs.

Two embedded clusters in one run (as root): Pods in network namespaces (the default as root)
and Pods on the host's network (`netns=False`, what non-root hosts get; its baseline). Each
runs N Pods of `true` one after another; the table gives the time from create to Succeeded
and the bare namespace + veth set-up and removal, with the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from katib_py.kube.resource import PODS
from katib_py.localcluster.cluster import LocalCluster


async def _pod_until_done(cluster: LocalCluster, name: str) -> float:
    assert cluster.client is not None
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "x", "command": ["true"]}]},
    }
    start = time.perf_counter()
    await cluster.client.create(PODS, pod, "default")
    while True:
        obj = await cluster.client.get(PODS, name, "default")
        if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            elapsed = time.perf_counter() - start
            await cluster.client.delete(PODS, name, "default", grace_period_seconds=0)
            return elapsed
        await asyncio.sleep(0.005)


def pod_times(netns: bool, pods: int, work: Path) -> list[float]:
    cluster = LocalCluster(work / ("netns" if netns else "shared"), netns=netns, in_memory=True)
    cluster.start_in_thread()
    try:
        assert (cluster.network is not None) == netns
        return [cluster.run_coro(_pod_until_done(cluster, f"p{i}")) for i in range(pods)]
    finally:
        cluster.stop_thread()


def netns_setup_times(pods: int, work: Path) -> list[float]:
    cluster = LocalCluster(work / "bare", in_memory=True)
    cluster.start_in_thread()
    try:
        network, pool = cluster.network, cluster.kubelet.ip_pool if cluster.kubelet else None
        assert network is not None and pool is not None
        out = []
        for i in range(pods):
            ip = pool.allocate()
            start = time.perf_counter()
            cluster.run_coro(network.add(f"bench-{i}", ip))
            cluster.run_coro(network.remove(f"bench-{i}", ip))
            out.append(time.perf_counter() - start)
            pool.release(ip)
        return out
    finally:
        cluster.stop_thread()


def row(name: str, times: list[float], base: float | None) -> str:
    med = statistics.median(times)
    p90 = sorted(times)[max(0, int(len(times) * 0.9) - 1)]
    ratio = f"{med / base:.2f}" if base else "1.00"
    return f"| {name:<38} | {len(times):>4} | {med * 1000:>9.1f} | {p90 * 1000:>8.1f} | {ratio:>6} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=20)
    opts = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-podnet-") as tmp:
        work = Path(tmp)
        shared = pod_times(False, opts.pods, work)
        own = pod_times(True, opts.pods, work)
        setup = netns_setup_times(opts.pods, work)
    base = statistics.median(shared)
    print("| what                                   | pods | median ms |   p90 ms |  ratio |")
    print("|----------------------------------------|------|-----------|----------|--------|")
    print(row("Pod create -> Succeeded, host network", shared, None))
    print(row("Pod create -> Succeeded, own netns", own, base))
    print(row("netns + veth set up and removed alone", setup, base))
    return 0


if __name__ == "__main__":
    sys.exit(main())
