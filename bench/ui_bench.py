"""Web UI render time in headless Chromium: `python -m bench.ui_bench [--trials N] [--experiments M]`.

An embedded control plane (in memory, no operator) is filled with one Experiment of N finished
Trials (statuses written as the operator writes them) and M other Experiments; the UI serves
them. Chromium (Debian's, driven by Playwright) opens
  - the experiment page, timed until the optimization history is drawn, then until every plot is;
  - the experiment list, timed until its table is drawn;
  - the baseline: a static page on the same kind of server with plotly.js and one 10-point plot.
Each is the median of `--repeat` cold loads (a new browser context each time). The ratios to the
baseline are what to compare across machines; the goal in the issue is under 2 s on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web
from playwright.sync_api import Browser, sync_playwright

from katib_py.api.resources import EXPERIMENTS, TRIALS
from katib_py.kube.client import KubeClient
from katib_py.local.install import install_crds
from katib_py.localcluster.cluster import LocalCluster
from katib_py.ui.app import plotly_js, serve
from katib_py.ui.chromium import CHROMIUM, LAUNCH_ARGS
from katib_py.ui.security import COOKIE

STAMP = "2026-01-01T00:00:00Z"
TOKEN = "bench-token-0123456789"
BASELINE_HTML = """<!doctype html><html><head><script src="/plotly.min.js"></script></head><body>
<div id="plot" style="width:900px;height:400px"></div><script>
Plotly.newPlot("plot", [{type: "scatter", mode: "markers", x: [0,1,2,3,4,5,6,7,8,9],
  y: [3,1,4,1,5,9,2,6,5,3]}], {}).then(() => {
  document.getElementById("plot").dataset.drawnAt = String(performance.now());
});
</script></body></html>"""


def experiment(name: str, trials: int) -> dict[str, Any]:
    return {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Experiment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "objective": {
                "type": "maximize", "objectiveMetricName": "accuracy", "additionalMetricNames": ["loss"],
            },
            "algorithm": {"algorithmName": "random"},
            "maxTrialCount": max(trials, 1),
            "parallelTrialCount": 1,
            "maxFailedTrialCount": 1,
            "parameters": [
                {"name": "lr", "parameterType": "double", "feasibleSpace": {"min": "0.001", "max": "0.1"}},
                {"name": "units", "parameterType": "int", "feasibleSpace": {"min": "8", "max": "128"}},
                {"name": "opt", "parameterType": "categorical", "feasibleSpace": {"list": ["sgd", "adam"]}},
            ],
            "trialTemplate": {
                "primaryContainerName": "main",
                "trialParameters": [{"name": "lr", "reference": "lr"}],
                "trialSpec": {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                        {"name": "main", "image": "busybox", "command": ["echo", "${trialParameters.lr}"]},
                    ]}}},
                },
            },
        },
    }  # fmt: skip


def experiment_status(trials: int, best: float) -> dict[str, Any]:
    return {
        "startTime": STAMP,
        "conditions": [
            {"type": "Created", "status": "True", "reason": "ExperimentCreated", "lastTransitionTime": STAMP},
            {"type": "Succeeded", "status": "True", "reason": "ExperimentMaxTrialsReached",
             "lastTransitionTime": STAMP},
        ],
        "trials": trials,
        "trialsSucceeded": trials,
        "currentOptimalTrial": {"bestTrialName": "t-0", "parameterAssignments": [],
                                "observation": {"metrics": [{"name": "accuracy", "latest": str(best),
                                                             "min": str(best), "max": str(best)}]}},
    }  # fmt: skip


def trial(exp: str, i: int, rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
    lr, units, opt = rng.uniform(0.001, 0.1), rng.randint(8, 128), rng.choice(["sgd", "adam"])
    acc = 1 - (lr - 0.03) ** 2 * 100 - abs(units - 64) / 1000 + (0.01 if opt == "adam" else 0)
    obj = {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Trial",
        "metadata": {
            "name": f"{exp}-{i}", "namespace": "default", "labels": {"katib.kubeflow.org/experiment": exp},
        },
        "spec": {
            "objective": {"type": "maximize", "objectiveMetricName": "accuracy"},
            "parameterAssignments": [
                {"name": "lr", "value": f"{lr:.5f}"}, {"name": "units", "value": str(units)},
                {"name": "opt", "value": opt},
            ],
            "runSpec": {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": f"{exp}-{i}"}},
        },
    }  # fmt: skip
    status = {
        "startTime": STAMP,
        "completionTime": STAMP,
        "conditions": [
            {"type": "Created", "status": "True", "reason": "TrialCreated", "lastTransitionTime": STAMP},
            {"type": "Succeeded", "status": "True", "reason": "TrialSucceeded", "lastTransitionTime": STAMP},
        ],
        "observation": {"metrics": [
            {"name": "accuracy", "latest": f"{acc:.5f}", "min": f"{acc:.5f}", "max": f"{acc:.5f}"},
            {"name": "loss", "latest": f"{1 - acc:.5f}", "min": f"{1 - acc:.5f}", "max": f"{1 - acc:.5f}"},
        ]},
    }  # fmt: skip
    return obj, status


async def fill(kube: KubeClient, trials: int, experiments: int) -> None:
    await install_crds(kube)
    rng = random.Random(7)
    semaphore = asyncio.Semaphore(32)

    async def create(res: Any, obj: dict[str, Any], status: dict[str, Any]) -> None:
        async with semaphore:
            await kube.create(res, obj, "default")
            await kube.patch_status(res, obj["metadata"]["name"], {"status": status}, "default")

    jobs = [create(EXPERIMENTS, experiment("big", trials), experiment_status(trials, 0.99))]
    jobs += [
        create(EXPERIMENTS, experiment(f"e-{i:03d}", 3), experiment_status(3, 0.9))
        for i in range(experiments - 1)
    ]
    jobs += [create(TRIALS, *trial("big", i, rng)) for i in range(trials)]
    await asyncio.gather(*jobs)


class Loop:
    """An asyncio loop in a thread: the cluster, the UI and the baseline server run there while
    Playwright's sync API drives the browser from the main thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


async def baseline_server() -> tuple[web.AppRunner, str]:
    app = web.Application()
    js = plotly_js()
    app.router.add_get("/", lambda _r: _html(BASELINE_HTML))
    app.router.add_get("/plotly.min.js", lambda _r: _js(js))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/"


async def _html(text: str) -> web.Response:
    return web.Response(text=text, content_type="text/html")


async def _js(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="application/javascript")


def timed_load(
    browser: Browser, url: str, first: str, every: str | None = None, token: str = ""
) -> tuple[float, float]:
    """Seconds from the start of navigation until the element `first` was drawn, and until every
    element matching `every` was (or showed an error), cold: a fresh context, so no cache.

    The page stamps `data-drawn-at` (performance.now(), ms since navigation) when a plot or table
    is drawn, so the times are the browser's own, not when this process noticed."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    if token:  # the cookie the token URL sets, set beforehand so that the timed load is one navigation
        context.add_cookies([{"name": COOKIE, "value": token, "url": url}])
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector(f"{first}[data-drawn-at]", state="attached", timeout=300_000)
    one = float(page.get_attribute(first, "data-drawn-at") or "nan") / 1000
    last = one
    if every:
        page.wait_for_function(ALL_DRAWN, arg=every, timeout=300_000)
        last = float(page.evaluate(LATEST_DRAWN, every)) / 1000
    context.close()
    return one, last


ALL_DRAWN = """(selector) => [...document.querySelectorAll(selector)]
    .filter(p => !p.closest('[hidden]'))
    .every(p => p.dataset.drawnAt || p.querySelector('.errors'))"""
LATEST_DRAWN = """(selector) => Math.max(...[...document.querySelectorAll(selector)]
    .map(p => Number(p.dataset.drawnAt || 0)))"""


API_PATHS = [
    "/api/experiments?limit=100",
    "/api/experiments/default/big",
    "/api/experiments/default/big/trials?limit=200&sort=metric:accuracy&order=desc",
    *(f"/api/experiments/default/big/plots/{kind}" for kind in ("history", "parallel", "slice", "contour")),
    "/api/experiments/default/big/plots/importance",
]


def api_seconds(url: str) -> tuple[float, int]:
    """Seconds for one answer of the UI's JSON API, and its size."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as resp:
        size = len(resp.read())
    return time.perf_counter() - started, size


@contextmanager
def stack(trials: int, experiments: int) -> Iterator[tuple[str, str, float]]:
    loop = Loop()
    cluster = LocalCluster(in_memory=True)
    loop.run(cluster.start())
    kube = KubeClient.from_kubeconfig(str(cluster.kubeconfig))
    started = time.perf_counter()
    loop.run(fill(kube, trials, experiments))
    filled = time.perf_counter() - started
    ui_kube = KubeClient.from_kubeconfig(str(cluster.kubeconfig))
    runner, url = loop.run(serve(ui_kube, token=TOKEN, db_manager="127.0.0.1:9"))
    base_runner, base_url = loop.run(baseline_server())
    try:
        yield url, base_url, filled
    finally:
        loop.run(runner.cleanup())
        loop.run(base_runner.cleanup())
        loop.run(kube.close())
        loop.run(cluster.stop())
        loop.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ui_bench", description=__doc__)
    parser.add_argument("--trials", type=int, default=5000)
    parser.add_argument("--experiments", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args(argv)
    with stack(opts.trials, opts.experiments) as (url, base_url, filled), sync_playwright() as playwright:
        print(f"filled {opts.trials} trials and {opts.experiments} experiments in {filled:.1f} s")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        root = url.split("/?", 1)[0]
        rows: list[tuple[str, float, float]] = []
        runs: dict[str, list[tuple[float, float]]] = {"baseline": [], "experiment": [], "list": []}
        for _ in range(opts.repeat):
            runs["baseline"].append(timed_load(browser, base_url, "#plot"))
            runs["experiment"].append(
                timed_load(browser, root + "/#/experiment/default/big", "#plot-history", ".plot", token=TOKEN)
            )
            runs["list"].append(timed_load(browser, root + "/#/", "#experiments", token=TOKEN))
        browser.close()
        api_times = {path: api_seconds(root + path) for path in API_PATHS}
    base = statistics.median(t[0] for t in runs["baseline"])
    rows.append(("baseline: static page, plotly.js, 10 points", base, base))
    rows.append(
        (
            f"experiment page, {opts.trials} trials: history drawn / every plot drawn",
            statistics.median(t[0] for t in runs["experiment"]),
            statistics.median(t[1] for t in runs["experiment"]),
        )
    )
    lst = statistics.median(t[0] for t in runs["list"])
    rows.append((f"experiment list, {opts.experiments} experiments (first page of 100 rows drawn)", lst, lst))
    print(f"\n{'page':<72} {'first (s)':>10} {'all (s)':>9} {'x baseline':>11}")
    for name, first, every in rows:
        print(f"{name:<72} {first:>10.2f} {every:>9.2f} {first / base:>11.1f}")
    print(f"\nmedian of {opts.repeat} cold loads each (new browser context); goal: under 2 s")
    print(f"\n{'JSON API (the big experiment)':<72} {'seconds':>10} {'KiB':>9}")
    for path, (seconds, size) in api_times.items():
        print(f"{path:<72} {seconds:>10.3f} {size / 1024:>9.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
