"""NAS benchmark: the ENAS controller against random architectures, DARTS against random genotypes,
and the enas service's GetSuggestions latency.

    .venv/bin/python -m bench.nas_bench            # issue sizes: 60 trials x 5 seeds, latency at 1,000
    .venv/bin/python -m bench.nas_bench --quick         # 20 trials x 2 seeds, small sizes

ENAS: the search space, controller settings and child training of examples/enas.yaml. The `enas`
algorithm object is driven as the operator drives it (parallelTrialCount assignments first, then
one more each time the oldest running trial finishes), and random search draws every layer's
operation and every skip bit uniformly; both train the same child networks (same seed, so an
architecture always scores the same) on digits. Reported per method: the median over seeds of the
best validation accuracy and of the mean accuracy of the last `--late` architectures sampled.

DARTS: the settings and search space of examples/darts.yaml (with `--darts-epochs` search
epochs); the derived genotype and `--random-genotypes` random genotypes of the same size (per
node two distinct inputs, each a random primitive) are each trained from scratch for
`--eval-epochs` epochs and scored on the validation quarter.

Latency: a real gRPC enas service with N finished trials (one per round, as with
parallelTrialCount 1): the first call of a fresh service (it replays every round to rebuild the
controller) and the steady state (one new finished round per call).
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from threadpoolctl import threadpool_limits

from katib_py.api import models
from katib_py.proto import api_pb2
from katib_py.suggestion import messages as m
from katib_py.suggestion.algorithm import ExperimentView
from katib_py.suggestion.algorithms.enas import ROUND_LABEL, Enas, choices, nn_config_text
from katib_py.suggestion.client import LocalService
from katib_py.suggestion.history import TrialRecord, convert_trial
from katib_py.trainers import darts_trainer as darts
from katib_py.trainers.enas_trainer import train_child
from katib_py.trainers.nas_common import Data, katib_json, load_digits

ROOT = Path(__file__).resolve().parents[1]
METRIC = "Validation-Accuracy"


def example(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "examples" / f"{name}.yaml").read_text())
    return doc["spec"]


def flags(spec: dict[str, Any]) -> dict[str, str]:
    command = spec["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]["command"]
    return dict(re.findall(r"^--(\w[\w-]*)=(.*)$", "\n".join(command), re.MULTILINE))


def enas_experiment(spec: dict[str, Any], name: str) -> api_pb2.Experiment:
    """The example's Experiment as the operator sends it (katib_py.core.proto_convert)."""
    from katib_py.core.proto_convert import experiment_to_proto

    exp = models.Experiment.load(
        {"apiVersion": "kubeflow.org/v1beta1", "kind": "Experiment", "metadata": {"name": name}, "spec": spec}
    )
    return experiment_to_proto(exp)


# ---------------------------------------------------------------- ENAS vs random


class Child:
    """Trains child networks of the example's search space, remembering each architecture's score."""

    def __init__(self, spec: dict[str, Any], data: Data, seed: int) -> None:
        self.config = models.NasConfig.load(spec["nasConfig"])
        self.table = choices(self.config)
        opts = flags(spec)
        self.epochs = int(opts["num_epochs"])
        self.lr = float(opts["learning_rate"])
        self.data, self.seed = data, seed
        self.cache: dict[str, float] = {}

    def score(self, arc: list[list[int]]) -> float:
        key = repr(arc)
        if key not in self.cache:
            nn = katib_json(nn_config_text(self.config, self.table, arc))
            self.cache[key] = train_child(
                arc, nn, self.epochs, data=self.data, seed=self.seed, learning_rate=self.lr, verbose=False
            )
        return self.cache[key]


def run_enas(spec: dict[str, Any], child: Child, trials: int, seed: int) -> list[float]:
    algo = Enas()
    experiment = enas_experiment(spec, f"bench-enas-{seed}")
    view = ExperimentView.from_proto(experiment)
    parallel = int(spec["parallelTrialCount"])
    records: list[api_pb2.Trial] = []
    running: list[int] = []
    scores: list[float] = []

    def ask(count: int) -> None:
        algo.validate(view)
        history: list[TrialRecord] = [convert_trial(t, METRIC) for t in records]
        for proposed in algo.suggest(view, history, count).trials:
            records.append(
                m.trial(f"t{len(records)}", proposed.assignment, "Running", labels=proposed.labels)
            )
            running.append(len(records) - 1)

    ask(min(parallel, trials))
    while running:
        index = running.pop(0)
        trial = records[index]
        arc = katib_json(
            next(a.value for a in trial.spec.parameter_assignments.assignments if a.name == "architecture")
        )
        value = child.score(arc)
        scores.append(value)
        done = m.trial(
            trial.name,
            {a.name: a.value for a in trial.spec.parameter_assignments.assignments},
            "Succeeded",
            {METRIC: value},
            labels=dict(trial.spec.labels),
        )
        records[index] = done
        if len(records) < trials:
            ask(1)
    return scores


def run_random(spec: dict[str, Any], child: Child, trials: int, seed: int) -> list[float]:
    rng = np.random.default_rng(10_000 + seed)
    layers = int(spec["nasConfig"]["graphConfig"]["numLayers"])
    scores = []
    for _ in range(trials):
        arc = [
            [int(rng.integers(len(child.table)))] + [int(b) for b in rng.integers(0, 2, layer)]
            for layer in range(layers)
        ]
        scores.append(child.score(arc))
    return scores


def enas_table(trials: int, seeds: int, late: int) -> None:
    spec = example("enas")
    data = load_digits()
    results: dict[str, list[tuple[float, float]]] = {"enas": [], "random": []}
    started = time.monotonic()
    for seed in range(seeds):
        child = Child(spec, data, seed)
        for method, run in (("enas", run_enas), ("random", run_random)):
            t0 = time.monotonic()
            scores = run(spec, child, trials, seed)
            results[method].append((max(scores), float(np.mean(scores[-late:]))))
            print(
                f"  seed {seed} {method:6s}: best {max(scores):.4f}, "
                f"mean of last {late} {np.mean(scores[-late:]):.4f}, "
                f"first {late} {np.mean(scores[:late]):.4f} ({time.monotonic() - t0:.0f}s)",
                flush=True,
            )
    settings = {s["name"]: s["value"] for s in spec["algorithm"].get("algorithmSettings", [])}
    print(
        f"\nENAS vs random architectures: {trials} child trainings x {seeds} seeds, "
        f"examples/enas.yaml (settings {settings}), {time.monotonic() - started:.0f}s\n"
    )
    print(
        f"| method | median best accuracy | median mean of last {late} "
        f"| seeds where enas's last {late} beat random's |"
    )
    print("|---|---|---|---|")
    wins = sum(e[1] > r[1] for e, r in zip(results["enas"], results["random"], strict=True))
    for method in ("enas", "random"):
        best = statistics.median(b for b, _ in results[method])
        mean_late = statistics.median(x for _, x in results[method])
        print(
            f"| {method} | {best:.4f} | {mean_late:.4f} | {f'{wins}/{seeds}' if method == 'enas' else ''} |"
        )
    ratio = statistics.median(x for _, x in results["enas"]) / statistics.median(
        x for _, x in results["random"]
    )
    print(f"\nlate-sample ratio enas/random: {ratio:.3f}")


# ---------------------------------------------------------------- DARTS vs random genotypes


def darts_table(seeds: int, search_epochs: int, eval_epochs: int, random_genotypes: int) -> None:
    spec = example("darts")
    raw = {s["name"]: s["value"] for s in spec["algorithm"]["algorithmSettings"]}
    settings = darts.DartsSettings.from_katib({**darts.DEFAULTS, **raw, "num_epochs": search_epochs})
    layers = int(spec["nasConfig"]["graphConfig"]["numLayers"])
    space = []
    for op in spec["nasConfig"]["operations"]:
        params = op.get("parameters") or []
        if params:
            space += [f"{op['operationType']}_{k}x{k}" for k in params[0]["feasibleSpace"]["list"]]
        else:
            space.append(op["operationType"])
    prims = darts.primitives(space)
    config = darts.NetConfig(layers, settings.num_nodes, settings.init_channels, settings.stem_multiplier)
    data = load_digits()
    derived_acc, random_acc, search_s, eval_s = [], [], [], []
    for seed in range(seeds):
        t0 = time.monotonic()
        found = darts.search(settings, space, layers, data=data, seed=seed, verbose=False)
        search_s.append(time.monotonic() - t0)
        t0 = time.monotonic()
        derived_acc.append(
            darts.train_genotype(found.genotype, config, eval_epochs, data=data, seed=seed, verbose=False)
        )
        eval_s.append(time.monotonic() - t0)
        rng = np.random.default_rng(1000 + seed)
        others = []
        for _ in range(random_genotypes):
            genotype = darts.random_genotype(rng, prims, settings.num_nodes, layers)
            others.append(
                darts.train_genotype(genotype, config, eval_epochs, data=data, seed=seed, verbose=False)
            )
        random_acc.append(statistics.median(others))
        print(
            f"  seed {seed}: search {search_s[-1]:.0f}s (supernet accuracy {found.accuracy:.4f}), derived "
            f"{derived_acc[-1]:.4f}, random genotypes {', '.join(f'{a:.4f}' for a in others)}",
            flush=True,
        )
        print(f"    {str(found.genotype).replace(' ', '')}", flush=True)
    print(
        f"\nDARTS: examples/darts.yaml, {search_epochs} search epochs, "
        f"genotypes trained {eval_epochs} epochs, "
        f"{seeds} seeds x {random_genotypes} random genotypes\n"
    )
    print("| genotype | median validation accuracy | median wall time |")
    print("|---|---|---|")
    print(
        f"| DARTS (derived) | {statistics.median(derived_acc):.4f} "
        f"| search {statistics.median(search_s):.0f}s "
        f"+ training {statistics.median(eval_s):.0f}s |"
    )
    print(
        f"| random, same size | {statistics.median(random_acc):.4f} "
        f"| training {statistics.median(eval_s):.0f}s |"
    )


# ---------------------------------------------------------------- latency


def latency_table(sizes: list[int], calls: int) -> None:
    spec = example("enas")
    experiment = enas_experiment(spec, "bench-latency")
    config = models.NasConfig.load(spec["nasConfig"])
    table = choices(config)
    layers = int(spec["nasConfig"]["graphConfig"]["numLayers"])
    rng = np.random.default_rng(0)

    def trial(i: int) -> api_pb2.Trial:
        arc = [
            [int(rng.integers(len(table)))] + [int(b) for b in rng.integers(0, 2, layer)]
            for layer in range(layers)
        ]
        assignment = {"architecture": str(arc), "nn_config": nn_config_text(config, table, arc)}
        return m.trial(
            f"t{i}",
            assignment,
            "Succeeded",
            {METRIC: float(rng.uniform(0.3, 1.0))},
            labels={ROUND_LABEL: str(i)},
        )

    settings = {s["name"]: s["value"] for s in spec["algorithm"].get("algorithmSettings", [])}
    print(
        f"\nenas GetSuggestions latency over gRPC (one round per finished trial, examples/enas.yaml: "
        f"{layers} layers, {len(table)} choices, settings {settings})\n"
    )
    print(f"| finished trials | first call of a fresh service (rebuild) | steady state, median of {calls} |")
    print("|---|---|---|")
    for n in sizes:
        trials = [trial(i) for i in range(n)]
        service = LocalService.start("enas")
        try:
            t0 = time.perf_counter()
            service.client.suggest(experiment, trials, 1, timeout=900)  # the operator allows 300 s
            cold = time.perf_counter() - t0
            times = []
            for k in range(calls):
                trials.append(trial(n + k))
                t0 = time.perf_counter()
                service.suggest(experiment, trials, 1)
                times.append(time.perf_counter() - t0)
        finally:
            service.stop()
        print(f"| {n} | {cold:.2f} s | {statistics.median(times) * 1000:.0f} ms |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.nas_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--parts", default="enas,darts,latency")
    parser.add_argument("--trials", type=int)
    parser.add_argument("--seeds", type=int)
    parser.add_argument("--late", type=int, default=20)
    parser.add_argument("--darts-seeds", type=int)
    parser.add_argument("--darts-epochs", type=int)
    parser.add_argument("--eval-epochs", type=int)
    parser.add_argument("--random-genotypes", type=int)
    parser.add_argument("--latency-sizes", default=None)
    opts = parser.parse_args(argv)
    quick = opts.quick
    parts = set(opts.parts.split(","))
    with threadpool_limits(limits=1):
        if "enas" in parts:
            late = min(opts.late, 10) if quick and opts.trials is None else opts.late
            enas_table(opts.trials or (20 if quick else 60), opts.seeds or (2 if quick else 5), late)
        if "darts" in parts:
            darts_table(
                opts.darts_seeds or (1 if quick else 3),
                opts.darts_epochs or (3 if quick else 8),
                opts.eval_epochs or (3 if quick else 8),
                opts.random_genotypes or (2 if quick else 3),
            )
        if "latency" in parts:
            sizes = opts.latency_sizes or ("20,100" if quick else "100,1000")
            latency_table([int(s) for s in sizes.split(",")], 3 if quick else 5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
