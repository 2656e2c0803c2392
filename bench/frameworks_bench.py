"""Per-trial overhead, side by side in one run: katib-py, Optuna's in-process loop, Ray Tune.

    .venv/bin/python -m bench.frameworks_bench [--trials 60] [--parallelism 10]

The same no-op objective everywhere (return the sampled `x`), random search over x in [0, 1]:

- Optuna: `study.optimize` in this process, one trial after another (RandomSampler).
- Ray Tune: `Tuner.fit` on a local Ray started here (`ray.init`, this machine's CPUs), a
  function trainable reporting `x`, `--parallelism` trials at a time (each asks 1/parallelism
  of a CPU, so that they can run together).
- katib-py: an Experiment on the embedded cluster (`katib-py up`'s Stack, as
  bench/operator_bench.py starts it) whose trials are Jobs running `true`, `--parallelism` at a
  time, random algorithm, Push collector.

Per-trial overhead is the wall time from the first trial's start to the last trial's end,
divided by the trials (the objective costs nothing, so all of it is the framework's). Start-up
(Ray's cluster, the embedded cluster, the suggestion Deployment before the first trial) is
reported apart. Every framework runs in the same process run, one after another.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tempfile
import time
from typing import Any

from bench.dbmanager_bench import table
from bench.kit import running_stack
from bench.operator_bench import run_experiment

Result = tuple[str, float, float, int, str]  # framework, start-up s, run s, trials, how


def optuna_loop(trials: int) -> Result:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    started = time.perf_counter()
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    ready = time.perf_counter()
    study.optimize(lambda trial: trial.suggest_float("x", 0.0, 1.0), n_trials=trials)
    done = time.perf_counter()
    assert len(study.trials) == trials
    return ("Optuna (in-process, sequential)", ready - started, done - ready, trials, "study.optimize")


def ray_tune(trials: int, parallelism: int) -> Result:
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    import ray
    from ray import tune

    def objective(config: dict[str, float]) -> dict[str, float]:
        return {"score": config["x"]}

    started = time.perf_counter()
    for attempt in range(3):  # Ray gives its raylet 30 s to register: not always enough on a busy machine
        try:
            ray.init(include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
            break
        except Exception as exc:
            ray.shutdown()
            if attempt == 2 or "timed out during startup" not in str(exc):
                raise
            print(f"ray.init: {exc}; once more", flush=True)
    try:
        ready = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="katib-py-bench-ray-") as folder:
            tuner = tune.Tuner(
                tune.with_resources(objective, {"cpu": 1 / parallelism}),
                param_space={"x": tune.uniform(0.0, 1.0)},
                tune_config=tune.TuneConfig(
                    num_samples=trials,
                    max_concurrent_trials=parallelism,
                    metric="score",
                    mode="max",
                    reuse_actors=True,
                ),
                run_config=tune.RunConfig(storage_path=folder, verbose=0),
            )
            results = tuner.fit()
            done = time.perf_counter()
        assert len(results) == trials and not results.errors, results.errors
    finally:
        ray.shutdown()
    return (
        f"Ray Tune (local ray.init, {parallelism} at a time)",
        ready - started,
        done - ready,
        trials,
        "Tuner.fit",
    )


async def katib(trials: int, parallelism: int) -> Result:
    started = time.perf_counter()
    async with running_stack("katib-py-bench-") as (stack, _, watcher):
        up = time.perf_counter() - started
        total, run, reason = await run_experiment(stack, watcher, "frameworks", trials, parallelism, "Push")
        first = total - run  # apply -> the first trial exists
    assert reason.startswith("Succeeded"), reason
    return (f"katib-py (`katib-py up`, {parallelism} at a time)", up + first, run, trials, "Experiment")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--parallelism", type=int, default=10)
    args = parser.parse_args(argv)
    results: list[Result] = [
        optuna_loop(args.trials),
        ray_tune(args.trials, args.parallelism),
        asyncio.run(katib(args.trials, args.parallelism)),
    ]
    per_trial = {name: run / n * 1000 for name, _, run, n, _ in results}
    ours = per_trial[results[2][0]]
    rows: list[list[Any]] = [
        [
            name,
            f"{n}",
            f"{startup:.2f}",
            f"{run:.2f}",
            f"{per_trial[name]:.1f}",
            f"{ours / per_trial[name]:.1f}x",
        ]
        for name, startup, run, n, _ in results
    ]
    table(
        f"Per-trial overhead, no-op objective, {args.trials} trials, random search, "
        f"{os.cpu_count()} CPUs (shared machine)",
        ["framework", "trials", "start-up s", "trials s", "ms/trial", "katib-py ms/trial / this"],
        rows,
    )
    for name, *_ in results[:2]:
        ratio = ours / per_trial[name]
        plainly = f"{ratio:.1f} times slower" if ratio >= 1 else f"{1 / ratio:.1f} times faster"
        print(f"katib-py per trial: {plainly} than {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
