"""What the NAS trial programs share: the dataset, batching, evaluation and Katib's argument texts.

The dataset is scikit-learn's digits (1,797 8x8 grey images of 10 digits, shipped with
scikit-learn, no download), as (N, 8, 8, 1) float32 in [0, 1]. A fixed stratified quarter is held
out as the validation set every trial reports on, so trials are compared on the same images.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import datasets
from sklearn.model_selection import train_test_split

from katib_py.nn import optim
from katib_py.nn.layers import Module
from katib_py.nn.tensor import Array, Tensor, cross_entropy, no_grad

INPUT_SIZES = [8, 8, 1]
CLASSES = 10
SPLIT_SEED = 0


@dataclass(frozen=True)
class Data:
    x_train: Array
    y_train: Array
    x_val: Array
    y_val: Array


def load_digits() -> Data:
    x, y = datasets.load_digits(return_X_y=True)
    images = (x / 16.0).astype(np.float32).reshape(-1, 8, 8, 1)
    x_train, x_val, y_train, y_val = train_test_split(
        images, y, test_size=0.25, random_state=SPLIT_SEED, stratify=y
    )
    return Data(x_train, y_train.astype(np.int64), x_val, y_val.astype(np.int64))


def katib_json(text: str) -> Any:
    """An assignment as Katib's trial programs read it: `'` back to `"`, then JSON.

    A value the shell did not unquote (a command run without Katib's `sh -c` wrapping) keeps its
    surrounding double quotes; they are dropped too.
    """
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    return json.loads(text.replace("'", '"'))


def batches(n: int, size: int, rng: np.random.Generator) -> Iterator[Array]:
    order = rng.permutation(n)
    for start in range(0, n, size):
        yield order[start : start + size]


def evaluate(
    model: Callable[[Tensor], Tensor], net: Module, x: Array, y: Array, size: int = 256
) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) in evaluation mode."""
    net.train(False)
    correct, loss = 0, 0.0
    with no_grad():
        for start in range(0, len(x), size):
            logits = model(Tensor(x[start : start + size]))
            labels = y[start : start + size]
            correct += int((logits.data.argmax(axis=1) == labels).sum())
            loss += cross_entropy(logits, labels).item() * len(labels)
    net.train(True)
    return correct / len(x), loss / len(x)


def train_epoch(
    model: Callable[[Tensor], Tensor],
    net: Module,
    opt: optim.Adam | optim.SGD,
    data: Data,
    batch_size: int,
    rng: np.random.Generator,
    clip: float | None = None,
) -> tuple[float, float]:
    """One pass over the training set; (accuracy, mean loss) of its batches."""
    params = net.parameters()
    correct, total_loss = 0, 0.0
    for idx in batches(len(data.x_train), batch_size, rng):
        logits = model(Tensor(data.x_train[idx]))
        loss = cross_entropy(logits, data.y_train[idx])
        optim.zero_grad(params)
        loss.backward()
        if clip is not None:
            optim.clip_grad_norm(params, clip)
        opt.step()
        correct += int((logits.data.argmax(axis=1) == data.y_train[idx]).sum())
        total_loss += loss.item() * len(idx)
    n = len(data.x_train)
    return correct / n, total_loss / n


def say(*parts: object) -> None:
    print(*parts, flush=True)


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr, flush=True)
    return 2
