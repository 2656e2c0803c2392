"""What one experiment reconcile costs the operator as the experiment's history grows.

    .venv/bin/python -m bench.reconcile_bench [--sizes 1000,5000,20000] [--rounds 20]

An ObjectCache holds N trials of one experiment (50 running, the rest succeeded with an
observation). Each round, 3 trials change (one finishes, one starts, one is created), then the
experiment reconcile's reading and deciding runs as the controller runs it: the trials and their
facts from the cache's index, the summary (counts, name lists, best trial), the condition, the trial
counts and the status as JSON. The baseline, in the same run, reads every trial's facts afresh on
every reconcile (what the operator did before the index: each trial asked condition by condition).
Times are the median of the rounds; the ratio column is against the smallest size.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.dbmanager_bench import table
from katib_py.api.models import Experiment
from katib_py.controller.cache import ObjectCache
from katib_py.core import experiment_status as es
from katib_py.core.trial_counting import decide_trial_counts
from katib_py.core.trial_facts import facts_of

PARALLEL = 50
EXPERIMENT = Experiment.load(
    {
        "metadata": {"name": "long", "namespace": "default", "uid": "u"},
        "spec": {
            "parallelTrialCount": PARALLEL,
            "maxTrialCount": 1_000_000,
            "objective": {"type": "maximize", "objectiveMetricName": "accuracy"},
        },
        "status": {
            "conditions": [
                {"type": "Created", "status": "True", "reason": "ExperimentCreated"},
                {"type": "Running", "status": "True", "reason": "ExperimentRunning"},
            ]
        },
    }
)


def condition(kind: str, status: str = "True") -> dict[str, str]:
    t = "2026-01-01T00:00:00Z"
    return {"type": kind, "status": status, "reason": f"Trial{kind}", "message": "m", "lastUpdateTime": t,
            "lastTransitionTime": t}  # fmt: skip


def trial(i: int, rv: int, state: str) -> dict[str, Any]:
    conditions = [condition("Created")]
    status: dict[str, Any] = {"startTime": "2026-01-01T00:00:00Z", "conditions": conditions}
    if state in ("running", "succeeded"):
        conditions.append(condition("Running", "True" if state == "running" else "False"))
    if state == "succeeded":
        conditions.append(condition("Succeeded"))
        value = str((i * 7919 % 10007) / 10007)
        metric = {"name": "accuracy", "min": value, "max": value, "latest": value}
        status["observation"] = {"metrics": [metric]}
    return {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Trial",
        "metadata": {"name": f"long-{i:08d}", "namespace": "default", "resourceVersion": str(rv),
                     "creationTimestamp": "2026-01-01T00:00:00Z",
                     "labels": {"katib.kubeflow.org/experiment": "long"}},
        "spec": {"objective": {"type": "maximize", "objectiveMetricName": "accuracy"},
                 "parameterAssignments": [{"name": "x", "value": str(i)}]},
        "status": status,
    }  # fmt: skip


def reconcile(cache: ObjectCache, afresh: bool) -> None:
    """The experiment controller's reads and decisions (katib_py.controller.experiment._reconcile)."""
    objective = EXPERIMENT.spec.objective if EXPERIMENT.spec else None
    bodies = cache.trials_of("default", "long")
    trials = cache.trial_models(bodies)
    if afresh:
        facts = [facts_of(t, objective) for t in trials]
    else:
        facts = cache.trial_facts("default", "long", objective)
    summary = es.summarize_trials(EXPERIMENT, trials, facts)
    status = es.next_condition(
        EXPERIMENT, summary.status, goal_reached=summary.goal_reached, suggestion_end_reached=False, now="x"
    )
    decide_trial_counts(EXPERIMENT, facts)
    status.dump()


def measure(size: int, rounds: int, afresh: bool) -> float:
    cache = ObjectCache()
    rv = 0
    for i in range(size):
        rv += 1
        cache.observe("trials", trial(i, rv, "running" if i >= size - PARALLEL else "succeeded"))
    reconcile(cache, afresh)  # the first read parses every trial once, in both cases
    times: list[float] = []
    nxt = size
    for r in range(rounds):
        finishing, starting = size - PARALLEL + r, nxt
        for i, state in ((finishing, "succeeded"), (starting, "pending"), (starting, "running")):
            rv += 1
            cache.observe("trials", trial(i, rv, state))
        nxt += 1
        start = time.perf_counter()
        reconcile(cache, afresh)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,5000,20000")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    rows: list[list[str]] = []
    runs: list[tuple[str, Callable[[int], float]]] = [
        ("index (facts of changed trials only)", lambda n: measure(n, args.rounds, afresh=False)),
        ("baseline: every trial's facts read afresh", lambda n: measure(n, args.rounds, afresh=True)),
    ]
    for label, run in runs:
        first = 0.0
        for n in sizes:
            ms = run(n) * 1000
            first = first or ms
            rows.append([label, f"{n:,}", f"{ms:.1f}", f"{ms / first:.1f}x"])
    table(
        f"One experiment reconcile's reads and decisions, {PARALLEL} trials running, median of "
        f"{args.rounds} rounds of 3 trial changes",
        ["facts", "trials", "ms per reconcile", "vs smallest"],
        rows,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
