"""The ENAS trial program: builds the child network an `enas` assignment describes and trains it.

Run it as Katib's ENAS trial image runs `RunTrial.py`, with the same arguments:

    python3 -m katib_py.trainers.enas_trainer --num_epochs=3 \\
        --architecture="${trialParameters.neuralNetworkArchitecture}" \\
        --nn_config="${trialParameters.neuralNetworkConfig}"

The network follows Katib's `examples/v1beta1/trial-images/enas-cnn-cifar10/ModelConstructor.py`:
layer l takes the previous layer plus every earlier layer its skip bits select (bit 0 is the input
image), zero-padded to a common size and concatenated on channels, and applies its operation;
a global average pool and a dense softmax layer end it. Operations (`op_library.py`):
`convolution` and `separable_convolution` (ReLU, convolution with "same" padding, batch norm;
`filter_size`, `num_filter`, `stride`, `depth_multiplier`), `depthwise_convolution` (`filter_size`,
`stride`, `depth_multiplier`), `reduction` (`reduction_type` max_pooling or avg_pooling,
`pool_size`, `stride`; an identity where the input is too small, as Katib does at 1x1). Unlike
Katib's op_library, which looks the parameters up in the wrong dictionary and so always builds its
defaults, the parameters of the chosen operation are used.

It trains with Adam on scikit-learn's digits (8x8x1, so nn_config's input_sizes must be [8, 8, 1]
and output_sizes end in 10) and prints Katib's metric lines after every epoch:
`Training-Accuracy=`, `Training-Loss=`, `Validation-Accuracy=`, `Validation-Loss=`.
"""

from __future__ import annotations

import abc
import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from katib_py.nn import conv, optim
from katib_py.nn.layers import BatchNorm, Conv, Dense, DepthwiseConv, Module
from katib_py.nn.tensor import Tensor, concat, relu
from katib_py.trainers.nas_common import (
    CLASSES,
    INPUT_SIZES,
    Data,
    evaluate,
    fail,
    katib_json,
    load_digits,
    say,
    train_epoch,
)

Shape = tuple[int, int, int]  # height, width, channels


class ArchitectureError(ValueError):
    """An architecture or nn_config this trainer cannot build."""


def _int(params: dict[str, Any], name: str, default: int) -> int:
    try:
        return int(params.get(name, default))
    except (TypeError, ValueError):
        raise ArchitectureError(
            f"operation parameter {name} must be an integer, got {params[name]!r}"
        ) from None


class Operation(Module, abc.ABC):
    """One layer's operation, knowing its output shape."""

    out: Shape
    text: str

    @abc.abstractmethod
    def __call__(self, x: Tensor) -> Tensor:
        """The operation applied to the layer's input."""


class Convolution(Operation):
    def __init__(self, kind: str, params: dict[str, Any], shape: Shape, rng: np.random.Generator) -> None:
        h, w, c = shape
        k = _int(params, "filter_size", 3)
        stride = _int(params, "stride", 1)
        self.depthwise: DepthwiseConv | None = None
        self.pointwise: Conv | None = None
        if kind == "convolution":
            filters = _int(params, "num_filter", 64)
            self.pointwise = Conv(rng, k, c, filters, stride)
            out_c = filters
        else:
            mult = _int(params, "depth_multiplier", 1)
            self.depthwise = DepthwiseConv(rng, k, c, mult, stride)
            out_c = c * mult
            if kind == "separable_convolution":
                filters = _int(params, "num_filter", 64)
                self.pointwise = Conv(rng, 1, c * mult, filters)
                out_c = filters
        if min(k, stride) < 1:
            raise ArchitectureError(f"{kind}: filter_size and stride must be >= 1")
        self.norm = BatchNorm(out_c)
        self.out = (-(-h // stride), -(-w // stride), out_c)
        self.text = f"{kind} {k}x{k} stride {stride}"

    def __call__(self, x: Tensor) -> Tensor:
        x = relu(x)
        if self.depthwise is not None:
            x = self.depthwise(x)
        if self.pointwise is not None:
            x = self.pointwise(x)
        return self.norm(x)


class Reduction(Operation):
    def __init__(self, params: dict[str, Any], shape: Shape) -> None:
        h, w, c = shape
        self.kind = str(params.get("reduction_type", "max_pooling"))
        if self.kind not in ("max_pooling", "avg_pooling"):
            raise ArchitectureError(f"reduction_type must be max_pooling or avg_pooling, got {self.kind!r}")
        self.pool = _int(params, "pool_size", 2)
        self.stride = _int(params, "stride", self.pool) if params.get("stride") is not None else self.pool
        self.identity = h < self.pool or w < self.pool or h == 1 or w == 1
        if self.identity:
            self.out = shape
            self.text = f"{self.kind} {self.pool}x{self.pool} (identity: a {h}x{w} input cannot be reduced)"
        else:
            self.out = ((h - self.pool) // self.stride + 1, (w - self.pool) // self.stride + 1, c)
            self.text = f"{self.kind} {self.pool}x{self.pool} stride {self.stride}"

    def __call__(self, x: Tensor) -> Tensor:
        if self.identity:
            return x
        pool = conv.max_pool2d if self.kind == "max_pooling" else conv.avg_pool2d
        return pool(x, self.pool, self.stride)


def _concat_padded(inputs: Sequence[Tensor], shapes: Sequence[Shape]) -> Tensor:
    """Katib's `concat`: pad every input to the largest height and width (the odd pixel after), then
    concatenate channels."""
    if len(inputs) == 1:
        return inputs[0]
    h = max(s[0] for s in shapes)
    w = max(s[1] for s in shapes)
    padded = []
    for x, (xh, xw, _) in zip(inputs, shapes, strict=True):
        if (xh, xw) != (h, w):
            x = conv.pad2d(x, ((h - xh) // 2, h - xh - (h - xh) // 2, (w - xw) // 2, w - xw - (w - xw) // 2))
        padded.append(x)
    return concat(padded, axis=3)


@dataclass(frozen=True)
class LayerPlan:
    sources: list[int]  # indices into [input, layer 1, ...]
    operation: Operation


class ChildNetwork(Module):
    def __init__(self, arch: list[list[int]], nn_config: dict[str, Any], rng: np.random.Generator) -> None:
        num_layers = int(nn_config.get("num_layers", len(arch)))
        sizes = [int(s) for s in nn_config.get("input_sizes", [])]
        outputs = [int(s) for s in nn_config.get("output_sizes", [])]
        if sizes != INPUT_SIZES or not outputs or outputs[-1] != CLASSES:
            raise ArchitectureError(
                f"this trainer learns scikit-learn's digits: nn_config needs input_sizes {INPUT_SIZES} and "
                f"output_sizes ending in {CLASSES}, got {sizes} and {outputs}"
            )
        if not isinstance(arch, list) or len(arch) != num_layers:
            raise ArchitectureError(f"architecture must list {num_layers} layers, got {arch!r}")
        embedding = nn_config.get("embedding") or {}
        shapes: list[Shape] = [(sizes[0], sizes[1], sizes[2])]
        self.plan: list[LayerPlan] = []
        for l_index, entry in enumerate(arch, start=1):
            if not isinstance(entry, list) or len(entry) != l_index:
                raise ArchitectureError(
                    f"layer {l_index} must be [operation, {l_index - 1} skip bits], got {entry!r}"
                )
            config = embedding.get(str(entry[0]))
            if not isinstance(config, dict):
                raise ArchitectureError(
                    f"layer {l_index}: operation {entry[0]} is not in nn_config's embedding"
                )
            sources = [l_index - 1] + [i for i in range(l_index - 1) if entry[1 + i] == 1]
            shape = (
                max(shapes[s][0] for s in sources),
                max(shapes[s][1] for s in sources),
                sum(shapes[s][2] for s in sources),
            )
            kind = str(config.get("opt_type"))
            params = config.get("opt_params") or {}
            op: Operation
            if kind in ("convolution", "separable_convolution", "depthwise_convolution"):
                op = Convolution(kind, params, shape, rng)
            elif kind == "reduction":
                op = Reduction(params, shape)
            else:
                raise ArchitectureError(f"layer {l_index}: unknown operation type {kind!r}")
            self.plan.append(LayerPlan(sources, op))
            shapes.append(op.out)
        self.shapes = shapes
        self.ops = [p.operation for p in self.plan]
        self.head = Dense(rng, shapes[-1][2], CLASSES)

    def __call__(self, x: Tensor) -> Tensor:
        outs = [x]
        for layer in self.plan:
            inputs = [outs[s] for s in layer.sources]
            outs.append(layer.operation(_concat_padded(inputs, [self.shapes[s] for s in layer.sources])))
        return self.head(conv.global_avg_pool(outs[-1]))

    def describe(self) -> list[str]:
        names = ["input", *(f"layer {i}" for i in range(1, len(self.plan) + 1))]
        lines = []
        for i, layer in enumerate(self.plan, start=1):
            h, w, c = layer.operation.out
            sources = ", ".join(names[s] for s in layer.sources)
            lines.append(f"layer {i}: {layer.operation.text} <- {sources} -> {h}x{w}x{c}")
        return lines


def train_child(
    arch: list[list[int]],
    nn_config: dict[str, Any],
    epochs: int,
    *,
    data: Data | None = None,
    seed: int = 0,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    verbose: bool = True,
) -> float:
    """Train the child network; return its last validation accuracy."""
    data = data or load_digits()
    rng = np.random.default_rng(seed)
    net = ChildNetwork(arch, nn_config, rng)
    if verbose:
        for line in net.describe():
            say(line)
        say(f"parameters: {net.count()}")
    opt = optim.Adam(net.parameters(), learning_rate)
    accuracy = 0.0
    for epoch in range(1, epochs + 1):
        started = time.monotonic()
        train_acc, train_loss = train_epoch(net, net, opt, data, batch_size, rng)
        accuracy, val_loss = evaluate(net, net, data.x_val, data.y_val)
        if verbose:
            say(f"\nTotal Epoch {epoch}/{epochs} ({time.monotonic() - started:.1f}s)")
            say(f"Training-Accuracy={train_acc:.4f}")
            say(f"Training-Loss={train_loss:.4f}")
            say(f"Validation-Accuracy={accuracy:.4f}")
            say(f"Validation-Loss={val_loss:.4f}")
    return accuracy


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Train the child network of an ENAS assignment on digits (8x8).")
    p.add_argument("--architecture", required=True, help="Katib's architecture text, e.g. [[0], [1, 1]]")
    p.add_argument("--nn_config", required=True, help="Katib's nn_config text")
    p.add_argument("--num_epochs", type=int, default=10, help="epochs (Katib's RunTrial.py default: 10)")
    p.add_argument("--num_gpus", type=int, default=0, help="accepted for Katib compatibility; CPU only")
    p.add_argument("--batch_size", type=int, default=32)
    p.add_argument("--learning_rate", type=float, default=1e-3, help="Adam's learning rate")
    p.add_argument("--seed", type=int, default=0)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        arch = katib_json(args.architecture)
        nn_config = katib_json(args.nn_config)
    except ValueError as exc:
        return fail(f"--architecture and --nn_config must be Katib's JSON texts: {exc}")
    say(f">>> architecture: {arch}")
    try:
        train_child(
            arch,
            nn_config,
            max(args.num_epochs, 1),
            seed=args.seed,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
        )
    except ArchitectureError as exc:
        return fail(str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
