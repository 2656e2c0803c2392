"""Algorithm services benchmark: quality, latency and early stopping (issue 4's numbers).

    .venv/bin/python -m bench.suggestion_bench              # full: 10 seeds x 100 trials, all sizes
    .venv/bin/python -m bench.suggestion_bench --quick      # 3 seeds x 60 trials, small sizes
    .venv/bin/python -m bench.suggestion_bench --parts quality --seeds 10 --trials 100 \\
        --methods tpe,hyperopt-tpe --functions Branin,Hartmann6

Quality drives our services over gRPC (one assignment per call, the whole history in every
request, as the operator does) and the libraries in-process, on the same functions and seeds.
Tables: median best value, median regret after 25/50/100% of the trials, and mean rank (1 = best
final value on that seed, averaged over seeds).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
from scipy.stats import rankdata
from threadpoolctl import threadpool_limits

from bench.suggestion import earlystop, latency, quality
from bench.suggestion.functions import FUNCTIONS
from katib_py.suggestion.client import LocalService

OURS = ["tpe", "multivariate-tpe", "cmaes", "random", "sobol", "bayesianoptimization"]
BASELINES = [
    "hyperopt-tpe",
    "optuna-tpe",
    "optuna-mvtpe",
    "optuna-cmaes",
    "optuna-random",
    "optuna-sobol",
    "skopt-gp",
    "optuna-gp",
]
# which baseline each of our services must match or beat
PAIRS = {
    "tpe": ["hyperopt-tpe", "optuna-tpe"],
    "multivariate-tpe": ["optuna-mvtpe"],
    "cmaes": ["optuna-cmaes"],
    "random": ["optuna-random"],
    "sobol": ["optuna-sobol"],
    "bayesianoptimization": ["skopt-gp", "optuna-gp"],
}


def baseline_runner(name: str) -> quality.Runner:
    import optuna

    samplers: dict[str, Callable[[int], object]] = {
        "optuna-tpe": lambda s: optuna.samplers.TPESampler(seed=s),
        "optuna-mvtpe": lambda s: optuna.samplers.TPESampler(seed=s, multivariate=True),
        "optuna-cmaes": lambda s: optuna.samplers.CmaEsSampler(
            seed=s, n_startup_trials=0, warn_independent_sampling=False
        ),
        "optuna-random": lambda s: optuna.samplers.RandomSampler(seed=s),
        "optuna-sobol": lambda s: optuna.samplers.QMCSampler(qmc_type="sobol", scramble=True, seed=s),
        "optuna-gp": lambda s: optuna.samplers.GPSampler(seed=s),  # needs torch (the bench-gp extra)
    }
    if name in samplers:
        return quality.optuna_runner(samplers[name])
    if name == "hyperopt-tpe":
        return quality.hyperopt_runner()
    if name == "skopt-gp":
        return quality.skopt_runner()
    raise SystemExit(f"unknown method {name}")


def run_quality(methods: list[str], functions: list[str], seeds: int, trials: int) -> None:
    print(f"\n## Quality: {seeds} seeds x {trials} trials (ours over gRPC, baselines in-process)\n")
    services: dict[str, LocalService] = {}
    results: dict[tuple[str, str], list[np.ndarray]] = {}
    seconds: dict[str, float] = {}
    try:
        for method in methods:
            if method in OURS:
                services[method] = LocalService.start(method)
                runner = quality.service_runner(services[method].client, method)
            else:
                runner = baseline_runner(method)
            start = time.perf_counter()
            for fname in functions:
                fn = FUNCTIONS[fname]
                results[(method, fname)] = [
                    quality.best_so_far(runner(fn, trials, seed)) for seed in range(seeds)
                ]
            seconds[method] = time.perf_counter() - start
            print(f"  done {method} in {seconds[method]:.0f}s", file=sys.stderr, flush=True)
    finally:
        for service in services.values():
            service.stop()

    checkpoints = sorted({max(1, trials // 4), max(1, trials // 2), trials})
    for fname in functions:
        fn = FUNCTIONS[fname]
        finals = {method: [curve[-1] for curve in results[(method, fname)]] for method in methods}
        ranks: dict[str, list[float]] = {method: [] for method in methods}
        for seed in range(seeds):
            positions = rankdata([finals[mt][seed] for mt in methods])  # ties share their average rank
            for method, position in zip(methods, positions, strict=True):
                ranks[method].append(float(position))
        print(f"### {fname} (optimum {fn.optimum:g})\n")
        head = "| method | median best | " + " | ".join(f"regret@{c}" for c in checkpoints) + " | mean rank |"
        print(head)
        print("|" + "---|" * (3 + len(checkpoints)))
        for method in methods:
            curves = results[(method, fname)]
            regrets = [statistics.median(float(c[k - 1]) - fn.optimum for c in curves) for k in checkpoints]
            print(
                f"| {method} | {statistics.median(finals[method]):.5g} | "
                + " | ".join(f"{r:.4g}" for r in regrets)
                + f" | {statistics.mean(ranks[method]):.2f} |"
            )
        print()
    print("### Our services against their reference (median best; lower is better)\n")
    print("| function | ours | reference | ours, median best | ref, median best | regret ratio |")
    print("|---|---|---|---|---|---|")
    for fname in functions:
        fn = FUNCTIONS[fname]
        for ours, refs in PAIRS.items():
            for ref in refs:
                if ours in methods and ref in methods:
                    a = statistics.median(c[-1] for c in results[(ours, fname)])
                    b = statistics.median(c[-1] for c in results[(ref, fname)])
                    ratio = (a - fn.optimum) / max(b - fn.optimum, 1e-12)
                    print(f"| {fname} | {ours} | {ref} | {a:.5g} | {b:.5g} | {ratio:.2f} |")
    print(
        "\n(seconds per method for all functions and seeds: "
        + ", ".join(f"{k} {v:.0f}" for k, v in seconds.items())
        + ")"
    )


def run_latency(sizes_tpe: list[int], sizes_bo: list[int], calls: int, algorithms: list[str]) -> None:
    print(f"\n## Latency: GetSuggestions p50 over {calls} calls (history of completed Hartmann6 trials)\n")
    columns = [
        "algorithm",
        "history",
        "service cold (s)",
        "service p50 (ms)",
        "direct p50 (ms)",
        "gRPC+proto overhead (ms)",
        "library p50 (ms)",
        "library",
    ]
    print(
        "\n| history | request size (KiB) | encode whole p50 (ms) | join kept chunks p50 (ms) "
        "| decode whole p50 (ms) | read, trials left as bytes p50 (ms) | gRPC call carrying it p50 (ms) "
        "| wire total, our way: join + read + call (ms) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n in sorted(set(sizes_tpe) | set(sizes_bo)):
        t = latency.transport(n)
        cells = [
            f"{t.request_bytes / 1024:.0f}",
            f"{1000 * t.encode_p50:.2f}",
            f"{1000 * t.join_p50:.2f}",
            f"{1000 * t.decode_p50:.2f}",
            f"{1000 * t.read_p50:.2f}",
            f"{1000 * t.rpc_p50:.2f}",
            f"{1000 * (t.join_p50 + t.read_p50 + t.rpc_p50):.2f}",
        ]
        print(f"| {n} | " + " | ".join(cells) + " |", flush=True)
    print(
        "\n| history | operator: convert all Trials + encode (ms) | operator: join kept chunks (ms) | ratio |"
    )
    print("|---|---|---|---|")
    for n in sorted(set(sizes_tpe) | set(sizes_bo)):
        o = latency.operator_request(n)
        ratio = o.rebuild_p50 / o.kept_p50
        print(f"| {n} | {1000 * o.rebuild_p50:.2f} | {1000 * o.kept_p50:.2f} | {ratio:.0f} |", flush=True)
    print()
    print("| " + " | ".join(columns) + " |")
    print("|---|---|---|---|---|---|---|---|")
    plan = [("tpe", n) for n in sizes_tpe] + [("multivariate-tpe", n) for n in sizes_tpe]
    plan += [("bayesianoptimization", n) for n in sizes_bo]
    plan = [(algorithm, n) for algorithm, n in plan if algorithm in algorithms]
    for algorithm, n in plan:
        r = latency.measure(algorithm, n, calls)
        print(
            f"| {r.algorithm} | {r.history} | {r.service_cold:.2f} | {1000 * r.service_p50:.1f} | "
            f"{1000 * r.direct_p50:.1f} | {1000 * (r.service_p50 - r.direct_p50):.1f} | "
            f"{1000 * r.library_p50:.1f} | {r.library_name} |",
            flush=True,
        )


def run_early_stopping(seeds: int, budget: int) -> None:
    print(
        f"\n## Early stopping: multi-fidelity Hartmann6 (27 epochs), budget {budget} epochs, {seeds} seeds\n"
    )
    services = earlystop.Services()
    runs: dict[str, list[earlystop.Run]] = {"none": [], "medianstop": [], "asha": [], "hyperband": []}
    settings = {"min_trials_required": "3", "start_step": "4"}
    try:
        for seed in range(seeds):
            for method in ("none", "medianstop", "asha"):
                runs[method].append(earlystop.run_random(services, seed, budget, method, settings))
            runs["hyperband"].append(earlystop.run_hyperband(services, seed, budget))
    finally:
        services.close()
    marks = [budget // 4, budget // 2, budget]
    print("| method | " + " | ".join(f"best @{b} epochs" for b in marks) + " | trials | full-length trials |")
    print("|" + "---|" * (3 + len(marks)))
    for method, method_runs in runs.items():
        cells = [statistics.median(r.best_at(b) for r in method_runs) for b in marks]
        count = statistics.median(len(r.points) for r in method_runs)
        full = statistics.median(r.full for r in method_runs)
        print(f"| {method} | " + " | ".join(f"{c:.4f}" for c in cells) + f" | {count:g} | {full:g} |")
    print("\n(Hartmann6 optimum -3.32237; values are medians over seeds; inf = no full-length trial yet)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="3 seeds x 60 trials, small latency sizes")
    parser.add_argument("--seeds", type=int)
    parser.add_argument("--trials", type=int)
    parser.add_argument("--methods", help="comma list (default: all ours and all baselines)")
    parser.add_argument("--functions", help="comma list of " + ", ".join(FUNCTIONS))
    parser.add_argument(
        "--parts", default="quality,latency,earlystop", help="comma list of quality, latency, earlystop"
    )
    parser.add_argument("--latency-calls", type=int)
    parser.add_argument("--budget", type=int, help="early-stopping epoch budget (default 27*40)")
    args = parser.parse_args(argv)
    seeds = args.seeds or (3 if args.quick else 10)
    trials = args.trials or (60 if args.quick else 100)
    methods = args.methods.split(",") if args.methods else OURS + BASELINES
    functions = args.functions.split(",") if args.functions else list(FUNCTIONS)
    parts = args.parts.split(",")
    print(f"# suggestion services benchmark ({' '.join(sys.argv[1:]) or 'full'})")
    if "optuna-gp" in methods and "quality" in parts and importlib.util.find_spec("torch") is None:
        # Optuna's GP needs torch, which the project does not install (PyPI's default wheel is CUDA).
        methods.remove("optuna-gp")
        print("\n(optuna-gp skipped: torch is not installed; `.venv/bin/pip install torch==2.13.0` adds it)")
    # Same BLAS threading for every method: the services run with one thread (see servicer.py).
    threadpool_limits(limits=1)
    if "quality" in parts:
        run_quality(methods, functions, seeds, trials)
    if "latency" in parts:
        calls = args.latency_calls or (4 if args.quick else 10)  # even: each path goes first half the time
        tpe_sizes = [100, 1000] if args.quick else [100, 1000, 5000]
        bo_sizes = [100, 500] if args.quick else [100, 500, 1000]
        run_latency(tpe_sizes, bo_sizes, calls, methods)
    if "earlystop" in parts:
        run_early_stopping(seeds, args.budget or 27 * (20 if args.quick else 40))
    return 0


if __name__ == "__main__":
    sys.exit(main())
