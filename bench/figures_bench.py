"""Figure building benchmark (issue 20): the time katib_py.ui.figures takes for an experiment page.

    .venv/bin/python -m bench.figures_bench                   # 1,000 trials
    .venv/bin/python -m bench.figures_bench --trials 5000     # the issue's experiment page size

Synthetic Katib objects (an Experiment with a double, an int and a categorical parameter; trials
whose objective depends on the double) go through `view_from_objects` and every figure of the
experiment page. Baselines measured in the same run: the same figure dicts validated by
`plotly.graph_objects.Figure` (what building them with graph_objects costs on top), and the
importance with Optuna's default fANOVA forest (64 trees of depth 64; skipped above
`--default-fanova-max` trials, where it takes minutes). Table: median seconds of `--repeat` runs.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import optuna
import plotly.graph_objects as go

from katib_py.ui import figures as f

START = datetime(2026, 1, 1)


def objects(n: int, seed: int = 0) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rng = random.Random(seed)
    experiment = {
        "metadata": {"name": "bench", "namespace": "default"},
        "spec": {
            "objective": {"type": "maximize", "objectiveMetricName": "score"},
            "algorithm": {"algorithmName": "random"},
            "maxTrialCount": n,
            "parameters": [
                {"name": "lr", "parameterType": "double", "feasibleSpace": {"min": "0.001", "max": "1"}},
                {"name": "units", "parameterType": "int", "feasibleSpace": {"min": "1", "max": "512"}},
                {"name": "opt", "parameterType": "categorical", "feasibleSpace": {"list": ["sgd", "adam"]}},
            ],
        },
    }
    trials = []
    for i in range(n):
        lr, units, opt = rng.uniform(0.001, 1), rng.randint(1, 512), rng.choice(["sgd", "adam"])
        score = str(lr + (0.1 if opt == "adam" else 0) + rng.gauss(0, 0.01))
        done = (START + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        trials.append(
            {
                "metadata": {"name": f"bench-{i:05d}", "creationTimestamp": done},
                "spec": {
                    "parameterAssignments": [
                        {"name": "lr", "value": str(lr)},
                        {"name": "units", "value": str(units)},
                        {"name": "opt", "value": opt},
                    ]
                },
                "status": {
                    "completionTime": done,
                    "conditions": [{"type": "Succeeded", "status": "True"}],
                    "observation": {
                        "metrics": [{"name": "score", "min": score, "max": score, "latest": score}]
                    },
                },
            }
        )
    return experiment, trials


def timed(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(n: int, repeat: int, default_fanova_max: int) -> list[tuple[str, float, str, float | None]]:
    """(step, our seconds, baseline name, baseline seconds) for an experiment of `n` trials."""
    experiment, trials = objects(n)
    view = f.view_from_objects(experiment, trials)
    rows: list[tuple[str, float, str, float | None]] = [
        ("view_from_objects", timed(partial(f.view_from_objects, experiment, trials), repeat), "", None)
    ]
    builds: list[tuple[str, Callable[[], f.Figure]]] = [
        ("history", partial(f.history, view)),
        ("parallel_coordinates", partial(f.parallel_coordinates, view)),
        ("slice_plot", partial(f.slice_plot, view, "lr")),
        ("contour", partial(f.contour, view, "lr", "units")),
    ]
    for name, build in builds:
        validate = partial(go.Figure, build())
        rows.append((name, timed(build, repeat), "graph_objects.Figure", timed(validate, repeat)))
    ours = timed(partial(f.importance_values, view), 1)
    default = (
        timed(partial(f.importance_values, view, n_trees=64, max_depth=64), 1)
        if n <= default_fanova_max
        else None
    )
    rows.append(("importance (fANOVA 16x8)", ours, "Optuna default 64x64", default))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.figures_bench", description=__doc__)
    parser.add_argument("--trials", default="1000", help="comma-separated trial counts")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--default-fanova-max", type=int, default=1000)
    opts = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print("| trials | step | katib-py s | baseline | baseline s | ratio |")
    print("|---:|---|---:|---|---:|---:|")
    for n in (int(x) for x in opts.trials.split(",")):
        for step, mine, base_name, base in measure(n, opts.repeat, opts.default_fanova_max):
            ratio = f"{base / mine:.1f}x" if base is not None and mine > 0 else "-"
            base_text = f"{base:.3f}" if base is not None else "-"
            print(f"| {n} | {step} | {mine:.3f} | {base_name or '-'} | {base_text} | {ratio} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
