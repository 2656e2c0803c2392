"""One long experiment on `katib-py up`: N no-op trials (default 2,000; the issue's 20,000 with
`--trials 20000`), parallel 50, random.

Reports, at every tenth of the trials: the Suggestion object's size (JSON bytes, as stored), the
GetSuggestions latency of the calls made in that tenth (p50 and mean, from the operator's
katib_py_service_call_duration_seconds histogram), and the trials per minute; at the end, the
peak RSS of every process (operator, control plane = this process, db-manager, the suggestion
service). The baseline is the first tenth: a ratio per column shows what grows with the history.
With `--profile DIR`, py-spy samples the operator and the control plane (this process) during the
second tenth and during the last tenth, and the top functions of both windows are printed: what
costs more late than early is what grows with the history.

Run: .venv/bin/python -m bench.long_bench [--trials 2000] [--parallel 50] [--collector Push]
     [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bench.kit import (
    NAMESPACE,
    Profiler,
    experiment,
    kubectl_apply,
    pod_processes,
    rss_mib,
    running_stack,
    self_pid,
    summarise,
)
from katib_py.api.resources import SUGGESTIONS

Buckets = dict[float, float]


async def get_suggestions_histogram(url: str) -> tuple[Buckets, float, float]:
    """(cumulative buckets, sum, count) of GetSuggestions in the operator's metrics."""
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        text = await resp.text()
    buckets: Buckets = {}
    total = count = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.labels.get("method") != "GetSuggestions":
                continue
            if s.name.endswith("_bucket"):
                buckets[float(s.labels["le"])] = s.value
            elif s.name.endswith("_sum"):
                total = s.value
            elif s.name.endswith("_count"):
                count = s.value
    return buckets, total, count


def bucket_p50(now: Buckets, before: Buckets) -> float:
    """The upper bound of the bucket holding the median of the calls between two scrapes."""
    delta = {le: now.get(le, 0) - before.get(le, 0) for le in now}
    n = max(delta.values(), default=0)
    for le in sorted(delta):
        if n and delta[le] >= n / 2:
            return le
    return float("nan")


async def main(opts: argparse.Namespace) -> None:
    n, p = opts.trials, opts.parallel
    name = "long"
    rows: list[str] = []
    async with running_stack("katib-py-long-") as (stack, kube, watcher):
        metrics_url = (stack.data_dir / "operator.metrics").read_text().strip()
        assert stack.operator is not None and stack.db_manager is not None
        pids = {
            "operator": stack.operator.pid,
            "db-manager": stack.db_manager.pid,
            "control plane": self_pid(),
        }
        t0 = time.perf_counter()
        await asyncio.to_thread(kubectl_apply, stack.kubeconfig, [experiment(name, n, p, opts.collector)])
        tl = watcher.timeline
        prefix = f"{NAMESPACE}/{name}-"
        step = max(1, n // 10)
        mark, last_t, last_done = step, t0, 0
        last_hist = await get_suggestions_histogram(metrics_url)
        max_size = 0
        suggestion_pids: set[int] = set()
        # py-spy windows: the second tenth ("early") and the last tenth ("late")
        windows = {1: "early", 9: "late"} if opts.profile else {}
        profiler: Profiler | None = None
        window, window_start = "", (0.0, 0)
        profiles: dict[str, tuple[Path, str]] = {}
        while True:
            done = (
                len(tl.times("trials", "Succeeded", prefix))
                + len(tl.times("trials", "MetricsUnavailable", prefix))
                + len(tl.times("trials", "Failed", prefix))
            )
            body = await kube.get_or_none(SUGGESTIONS, name, NAMESPACE)
            size = len(json.dumps(body, separators=(",", ":"))) if body else 0
            max_size = max(max_size, size)
            suggestion_pids |= set(pod_processes("suggestion serve --algorithm random"))
            finished = tl.times("experiments", "Succeeded", f"{NAMESPACE}/{name}") or tl.times(
                "experiments", "Failed", f"{NAMESPACE}/{name}"
            )
            if done >= mark or finished:
                now = time.perf_counter()
                hist = await get_suggestions_histogram(metrics_url)
                calls = hist[2] - last_hist[2]
                mean = (hist[1] - last_hist[1]) / calls * 1000 if calls else float("nan")
                p50 = bucket_p50(hist[0], last_hist[0]) * 1000
                rate = (done - last_done) / (now - last_t) * 60 if now > last_t else float("nan")
                rows.append(
                    f"{done:>8} {now - t0:>8.1f} {size / 1024:>10.1f} {max_size / 1024:>10.1f} "
                    f"{int(calls):>6} {p50:>8.1f} {mean:>8.1f} {rate:>10.0f}"
                )
                print(rows[-1], flush=True)
                last_hist, last_t, last_done = hist, now, done
                while mark <= done:
                    mark += step
                if profiler is not None:
                    span = f"trials {window_start[1]}-{done} in {now - window_start[0]:.1f} s"
                    profiles.update({f"{window} {k}": (v, span) for k, v in profiler.stop().items()})
                    profiler = None
                tenth = done // step
                if tenth in windows and not finished:
                    window, window_start = windows.pop(tenth), (now, done)
                    profiler = Profiler(Path(opts.profile) / window)
                    profiler.start("operator", stack.operator.pid)
                    profiler.start("control-plane", self_pid())
            if finished:
                break
            await asyncio.sleep(opts.interval)
        peaks = {k: rss_mib(pid, True) for k, pid in pids.items()}
        for pid in suggestion_pids:  # still running (another stack's service may match too)
            if rss_mib(pid, True):
                peaks[f"suggestion service {pid}"] = rss_mib(pid, True)
    print(f"\none experiment, {n} no-op trials, parallel {p}, random, {opts.collector} collector")
    print(
        f"{'trials':>8} {'s':>8} {'Sugg KiB':>10} {'max KiB':>10} {'calls':>6} {'p50 ms':>8} {'mean ms':>8} "
        f"{'trials/min':>10}"
    )
    print("\n".join(rows))
    print("p50: upper bound of the histogram bucket of the median GetSuggestions call of that tenth")
    print("peak RSS MiB: " + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items()))
    for label, (path, span) in profiles.items():
        print(f"\npy-spy at 200 Hz, {label}, {span} ({path}):")
        if label.endswith("control-plane"):
            for part in ("apiserver", "controllers", "kubelet"):
                print(f" {part}:", *summarise(path, 8, only=f"localcluster/{part}"), sep="\n")
        else:
            print(*summarise(path), sep="\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--parallel", type=int, default=50)
    parser.add_argument("--collector", default="Push", help="Push (no sidecar; default) or StdOut")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between samples")
    parser.add_argument("--profile", default="", help="directory for py-spy profiles ('' = none)")
    asyncio.run(main(parser.parse_args()))
