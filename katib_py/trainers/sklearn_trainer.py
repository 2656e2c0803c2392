"""A trial program for the examples: a small neural network on a dataset bundled with scikit-learn.

Run it as `python3 -m katib_py.trainers.sklearn_trainer --lr=0.01 --epochs=5`. It trains an
`MLPClassifier` one epoch at a time and prints one Katib-format metric line per epoch, for example
`epoch=3 accuracy=0.9333 loss=0.2100`, which Katib's default StdOut filter parses and which gives the
early-stopping and hyperband/pbt algorithms a per-epoch history. `--metrics-file` writes the same
metrics to a file as well (`--metrics-format text` lines, `json` objects with string values as
cloudml-hypertune writes them, or `braces` for the `{metricName: x, metricValue: y}` form used with a
custom filter). `--checkpoint-dir` keeps the weights and epoch count between trials (for PBT).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

DATASETS = {
    "digits": datasets.load_digits,
    "breast_cancer": datasets.load_breast_cancer,
    "wine": datasets.load_wine,
    "iris": datasets.load_iris,
}
CHECKPOINT_FILE = "checkpoint.json"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Train a small MLP on a bundled dataset, printing Katib metric lines."
    )
    p.add_argument("--lr", type=float, default=0.01, help="initial learning rate")
    p.add_argument("--alpha", type=float, default=1e-4, help="L2 penalty")
    p.add_argument("--momentum", type=float, default=0.9, help="momentum (sgd only)")
    p.add_argument("--hidden", type=int, default=32, help="hidden units")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="adam")
    p.add_argument(
        "--epochs", type=float, default=5, help="epochs to train (rounded; hyperband may pass 3.0)"
    )
    p.add_argument("--dataset", choices=sorted(DATASETS), default="digits")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--metrics-file", help="also write the metrics to this file")
    p.add_argument("--metrics-format", choices=["text", "json", "braces"], default="text")
    p.add_argument("--checkpoint-dir", help="resume from and save to this directory (PBT)")
    return p


def _load_checkpoint(directory: str | None) -> dict[str, Any] | None:
    if not directory:
        return None
    path = Path(directory) / CHECKPOINT_FILE
    if not path.is_file():
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data


def _save_checkpoint(directory: str, model: MLPClassifier, epoch: int) -> None:
    Path(directory).mkdir(parents=True, exist_ok=True)
    state = {
        "epoch": epoch,
        "coefs": [c.tolist() for c in model.coefs_],
        "intercepts": [b.tolist() for b in model.intercepts_],
    }
    tmp = Path(directory) / (CHECKPOINT_FILE + ".tmp")
    tmp.write_text(json.dumps(state))
    tmp.replace(Path(directory) / CHECKPOINT_FILE)


def _restore(model: MLPClassifier, state: dict[str, Any]) -> bool:
    coefs = [np.asarray(c) for c in state.get("coefs", [])]
    intercepts = [np.asarray(b) for b in state.get("intercepts", [])]
    if [c.shape for c in coefs] != [c.shape for c in model.coefs_]:
        return False  # a different architecture: start fresh
    model.coefs_, model.intercepts_ = coefs, intercepts
    return True


def _format(metrics: dict[str, float | int], style: str) -> str:
    def num(v: float | int) -> str:
        return str(v) if isinstance(v, int) else f"{v:.6g}"

    if style == "json":
        return json.dumps({**{k: num(v) for k, v in metrics.items()}, "timestamp": time.time()})
    if style == "braces":
        return "\n".join(f"{{metricName: {k}, metricValue: {num(v)}}}" for k, v in metrics.items())
    return " ".join(f"{k}={num(v)}" for k, v in metrics.items())


def train(args: argparse.Namespace, out: TextIO) -> float:
    """Train, print one metric line per epoch, return the last validation accuracy."""
    x, y = DATASETS[args.dataset](return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=0.25, random_state=args.seed, stratify=y
    )
    scaler = StandardScaler().fit(x_train)
    x_train, x_val = scaler.transform(x_train), scaler.transform(x_val)
    classes = np.unique(y)
    model = MLPClassifier(
        hidden_layer_sizes=(args.hidden,),
        solver=args.optimizer,
        learning_rate_init=args.lr,
        alpha=args.alpha,
        momentum=args.momentum,
        batch_size=min(args.batch_size, len(x_train)),
        random_state=args.seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model.partial_fit(x_train[:1], y_train[:1], classes=classes)  # allocate weights
    start = 0
    state = _load_checkpoint(args.checkpoint_dir)
    if state is not None and _restore(model, state):
        start = int(state.get("epoch", 0))
    else:
        model = MLPClassifier(**model.get_params())
    epochs = max(1, round(args.epochs))
    metrics_file = open(args.metrics_file, "a", encoding="utf-8") if args.metrics_file else None  # noqa: SIM115
    accuracy = 0.0
    rng = np.random.default_rng(args.seed)
    try:
        for epoch in range(start + 1, start + epochs + 1):
            order = rng.permutation(len(x_train))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.partial_fit(x_train[order], y_train[order], classes=classes)
            proba = model.predict_proba(x_val)
            accuracy = float(accuracy_score(y_val, classes[proba.argmax(axis=1)]))
            loss = float(log_loss(y_val, proba, labels=classes))
            if not math.isfinite(loss):
                loss = float("nan")
            metrics: dict[str, float | int] = {"epoch": epoch, "accuracy": accuracy, "loss": loss}
            print(_format(metrics, "text"), file=out, flush=True)
            if metrics_file is not None:
                print(_format(metrics, args.metrics_format), file=metrics_file, flush=True)
        if args.checkpoint_dir:
            _save_checkpoint(args.checkpoint_dir, model, start + epochs)
    finally:
        if metrics_file is not None:
            metrics_file.close()
    return accuracy


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    train(args, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
