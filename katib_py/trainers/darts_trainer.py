"""The DARTS trial program: a differentiable architecture search, then `Best-Genotype=...`.

Run it as Katib's DARTS trial image runs `run_trial.py`, with the same arguments:

    python3 -m katib_py.trainers.darts_trainer \\
        --algorithm-settings="${trialParameters.algorithmSettings}" \\
        --search-space="${trialParameters.searchSpace}" \\
        --num-layers="${trialParameters.numberLayers}"

It follows Katib's `examples/v1beta1/trial-images/darts-cnn-cifar10/` (model.py, operations.py,
search_space.py): a stem convolution, `num-layers` cells (reduction cells, with doubled channels,
at 1/3 and 2/3 of the depth; the second of two; none in a single-cell network), each with
`num_nodes` nodes; every edge into a node is a mixed operation, the softmax of its architecture
weights (alphas, one set for normal and one for reduction cells) mixing every primitive of the
search space plus `none`. Primitives: `separable_convolution_kxk`, `dilated_convolution_kxk`,
`avg_pooling_kxk`, `max_pooling_kxk`, `skip_connection`, `none`.

Each step first moves the alphas by Adam on a validation batch, then the weights by SGD
(momentum, weight decay, gradient clipping, cosine learning rate from w_lr to w_lr_min) on a
training batch: the first-order approximation of the bilevel problem (Katib's trial takes the
second-order, unrolled step). The training quarter of scikit-learn's digits is split in halves for
weights and alphas, as Katib splits CIFAR-10's training set. After every epoch it prints the
alphas, `Validation-Accuracy=` and the derived genotype (for each node the two strongest incoming
edges, each with its strongest primitive other than `none`); at the end
`Best-Genotype=Genotype(normal=[[('max_pooling_3x3',0),...]],normal_concat=range(2,3),...)`,
the genotype of the epoch with the best validation accuracy, without spaces, as Katib prints it.

`--genotype TEXT --num-epochs N` instead trains the network a genotype describes from scratch and
reports its validation accuracy (DARTS' evaluation stage).
"""

from __future__ import annotations

import abc
import argparse
import ast
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from katib_py.nn import conv, optim
from katib_py.nn import tensor as T
from katib_py.nn.layers import BatchNorm, Conv, Dense, DepthwiseConv, Module
from katib_py.nn.tensor import Tensor, no_grad, parameter
from katib_py.trainers.nas_common import (
    CLASSES,
    Data,
    batches,
    evaluate,
    fail,
    katib_json,
    load_digits,
    say,
    train_epoch,
)

NONE = "none"
SKIP = "skip_connection"
_PRIMITIVE = re.compile(r"^(separable_convolution|dilated_convolution|avg_pooling|max_pooling)_(\d+)x\2$")
Gene = list[list[tuple[str, int]]]  # per node: (primitive, input index)


class SearchSpaceError(ValueError):
    """A primitive this trainer does not know."""


def check_primitive(name: str) -> None:
    if name not in (NONE, SKIP) and not _PRIMITIVE.match(name):
        raise SearchSpaceError(
            f"unknown primitive {name!r}: expected separable_convolution_KxK, dilated_convolution_KxK, "
            "avg_pooling_KxK, max_pooling_KxK, skip_connection or none"
        )


def primitives(search_space: Sequence[str]) -> list[str]:
    """The search space with `none` last (Katib's SearchSpace appends it)."""
    out = [p for p in dict.fromkeys(search_space) if p != NONE]
    for p in out:
        check_primitive(p)
    return [*out, NONE]


# ---------------------------------------------------------------- operations (Katib's operations.py)


class Op(Module, abc.ABC):
    @abc.abstractmethod
    def __call__(self, x: Tensor) -> Tensor:
        """The operation applied to a batch of feature maps."""


class StdConv(Op):
    """ReLU, k x k convolution, batch norm without affine."""

    def __init__(self, rng: np.random.Generator, cin: int, cout: int, k: int = 1, stride: int = 1) -> None:
        self.conv = Conv(rng, k, cin, cout, stride, padding=k // 2)
        self.norm = BatchNorm(cout, affine=False)

    def __call__(self, x: Tensor) -> Tensor:
        return self.norm(self.conv(T.relu(x)))


class DilConv(Op):
    """ReLU, (dilated) depthwise k x k, pointwise 1x1, batch norm."""

    def __init__(self, rng: np.random.Generator, c: int, k: int, stride: int, dilation: int) -> None:
        self.depthwise = DepthwiseConv(rng, k, c, 1, stride, dilation, padding=dilation * (k - 1) // 2)
        self.pointwise = Conv(rng, 1, c, c, padding=0)
        self.norm = BatchNorm(c, affine=False)

    def __call__(self, x: Tensor) -> Tensor:
        return self.norm(self.pointwise(self.depthwise(T.relu(x))))


class SepConv(Op):
    """Two depthwise-separable convolutions, the first with the stride."""

    def __init__(self, rng: np.random.Generator, c: int, k: int, stride: int) -> None:
        self.first = DilConv(rng, c, k, stride, 1)
        self.second = DilConv(rng, c, k, 1, 1)

    def __call__(self, x: Tensor) -> Tensor:
        return self.second(self.first(x))


class Pool(Op):
    def __init__(self, kind: str, c: int, k: int, stride: int) -> None:
        self.kind, self.k, self.stride = kind, k, stride
        self.norm = BatchNorm(c, affine=False)

    def __call__(self, x: Tensor) -> Tensor:
        pool = conv.max_pool2d if self.kind == "max" else conv.avg_pool2d
        return self.norm(pool(x, self.k, self.stride, conv.symmetric(self.k // 2)))


class Identity(Op):
    def __call__(self, x: Tensor) -> Tensor:
        return x


class FactorizedReduce(Op):
    """Halve the size with two 1x1 stride-2 convolutions, the second shifted by one pixel."""

    def __init__(self, rng: np.random.Generator, cin: int, cout: int) -> None:
        self.a = Conv(rng, 1, cin, cout // 2, 2, padding=0)
        self.b = Conv(rng, 1, cin, cout - cout // 2, 2, padding=0)
        self.norm = BatchNorm(cout, affine=False)

    def __call__(self, x: Tensor) -> Tensor:
        x = T.relu(x)
        shifted = conv.pad2d(x[:, 1:, 1:, :], (0, 1, 0, 1))
        return self.norm(T.concat([self.a(x), self.b(shifted)], axis=3))


def make_op(name: str, rng: np.random.Generator, c: int, stride: int) -> Op | None:
    """The primitive `name` on c channels; None for `none` (it adds nothing to a sum)."""
    if name == NONE:
        return None
    if name == SKIP:
        return Identity() if stride == 1 else FactorizedReduce(rng, c, c)
    match = _PRIMITIVE.match(name)
    if match is None:
        raise SearchSpaceError(f"unknown primitive {name!r}")
    kind, k = match.group(1), int(match.group(2))
    if kind == "separable_convolution":
        return SepConv(rng, c, k, stride)
    if kind == "dilated_convolution":
        return DilConv(rng, c, k, stride, 2)
    return Pool("max" if kind == "max_pooling" else "avg", c, k, stride)


# ---------------------------------------------------------------- cells and networks

# edges(reduction)(node, input, stride, channels): the operations on one edge of a cell
EdgeFactory = Callable[[bool], Callable[[int, int, int, int], list[Op | None]]]
# inputs(reduction)(node): which states (0, 1: the two previous cells; 2..: earlier nodes) feed a node
InputFactory = Callable[[bool], Callable[[int], list[int]]]


class Cell(Module):
    def __init__(
        self,
        rng: np.random.Generator,
        nodes: int,
        channels: tuple[int, int, int],
        reduction_prev: bool,
        reduction: bool,
        edges: Callable[[int, int, int, int], list[Op | None]],
        inputs: Callable[[int], list[int]],
    ) -> None:
        c_pp, c_p, c = channels
        self.reduction = reduction
        self.pre0: Op = FactorizedReduce(rng, c_pp, c) if reduction_prev else StdConv(rng, c_pp, c)
        self.pre1 = StdConv(rng, c_p, c)
        self.inputs = [inputs(i) for i in range(nodes)]
        self.ops = [
            [edges(i, j, 2 if reduction and j < 2 else 1, c) for j in self.inputs[i]] for i in range(nodes)
        ]
        self.flat = [op for node in self.ops for ops in node for op in ops if op is not None]

    def __call__(self, s0: Tensor, s1: Tensor, weights: list[Tensor] | None) -> Tensor:
        """Each node sums its edges; in the supernet (`weights`) every operation is scaled by its
        softmax weight, weights[node][edge, operation]."""
        states = [self.pre0(s0), self.pre1(s1)]
        for i, (sources, node_ops) in enumerate(zip(self.inputs, self.ops, strict=True)):
            total: Tensor | None = None
            for e, (j, ops) in enumerate(zip(sources, node_ops, strict=True)):
                for k, op in enumerate(ops):
                    if op is None:
                        continue
                    out = op(states[j])
                    if weights is not None:
                        out = out * weights[i][e, k]
                    total = out if total is None else total + out
            assert total is not None  # every edge has an operation other than none
            states.append(total)
        return T.concat(states[2:], axis=3)


def reduction_layers(num_layers: int) -> set[int]:
    """Katib's model.py: none for one layer, the second of two, else layers L//3 and 2L//3."""
    if num_layers == 1:
        return set()
    if num_layers == 2:
        return {1}
    return {num_layers // 3, 2 * num_layers // 3}


@dataclass(frozen=True)
class NetConfig:
    num_layers: int
    num_nodes: int
    init_channels: int
    stem_multiplier: int


class Network(Module):
    """The stem, the cells (channels doubled at each reduction cell) and the classifier."""

    def __init__(
        self, rng: np.random.Generator, config: NetConfig, edges: EdgeFactory, inputs: InputFactory
    ) -> None:
        c_stem = config.stem_multiplier * config.init_channels
        self.stem = Conv(rng, 3, 1, c_stem, padding=1)
        self.stem_norm = BatchNorm(c_stem)
        c_pp, c_p, c = c_stem, c_stem, config.init_channels
        self.cells: list[Cell] = []
        reduction_prev = False
        reductions = reduction_layers(config.num_layers)
        for layer in range(config.num_layers):
            reduction = layer in reductions
            if reduction:
                c *= 2
            self.cells.append(
                Cell(
                    rng,
                    config.num_nodes,
                    (c_pp, c_p, c),
                    reduction_prev,
                    reduction,
                    edges(reduction),
                    inputs(reduction),
                )
            )
            reduction_prev = reduction
            c_pp, c_p = c_p, c * config.num_nodes
        self.head = Dense(rng, c_p, CLASSES)

    def forward(self, x: Tensor, weights: dict[bool, list[Tensor]] | None = None) -> Tensor:
        s0 = s1 = self.stem_norm(self.stem(x))
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, None if weights is None else weights[cell.reduction])
        return self.head(conv.global_avg_pool(s1))


def _alphas(rng: np.random.Generator, nodes: int, prims: int) -> list[Tensor]:
    return [parameter((1e-3 * rng.normal(size=(i + 2, prims))).astype(np.float32)) for i in range(nodes)]


class SuperNetwork(Module):
    """Every edge of every cell mixes every primitive (Katib's NetworkCNN with MixedOp)."""

    def __init__(self, rng: np.random.Generator, config: NetConfig, prims: list[str]) -> None:
        self.prims = prims
        self.config = config
        self.net = Network(
            rng,
            config,
            lambda reduction: lambda node, j, stride, c: [make_op(p, rng, c, stride) for p in prims],
            lambda reduction: lambda node: list(range(node + 2)),
        )
        self.alpha_normal = _alphas(rng, config.num_nodes, len(prims))
        self.alpha_reduce = _alphas(rng, config.num_nodes, len(prims)) if config.num_layers > 1 else []

    def alphas(self) -> list[Tensor]:
        return [*self.alpha_normal, *self.alpha_reduce]

    def weights(self) -> list[Tensor]:
        return self.net.parameters()

    def __call__(self, x: Tensor) -> Tensor:
        weights = {
            False: [T.softmax(a, axis=-1) for a in self.alpha_normal],
            True: [T.softmax(a, axis=-1) for a in self.alpha_reduce],
        }
        return self.net.forward(x, weights)

    def genotype(self) -> Genotype:
        concat = range(2, 2 + self.config.num_nodes)
        return Genotype(
            parse_gene(self.alpha_normal, self.prims),
            concat,
            parse_gene(self.alpha_reduce, self.prims),
            concat,
        )


def parse_gene(alphas: Sequence[Tensor], prims: list[str], k: int = 2) -> Gene:
    """Katib's SearchSpace.parse: per node, each edge's strongest primitive but `none` (by raw alpha),
    then the k edges whose strongest primitive is strongest, strongest first."""
    gene: Gene = []
    for alpha in alphas:
        edges = alpha.data[:, :-1]  # `none` is last
        best_op = edges.argmax(axis=1)
        best = edges.max(axis=1)
        order = np.argsort(-best, kind="stable")[: min(k, len(best))]
        gene.append([(prims[int(best_op[e])], int(e)) for e in order])
    return gene


@dataclass(frozen=True)
class Genotype:
    """Katib's namedtuple Genotype(normal, normal_concat, reduce, reduce_concat), printed the same way."""

    normal: Gene
    normal_concat: range
    reduce: Gene
    reduce_concat: range

    def __str__(self) -> str:
        return (
            f"Genotype(normal={self.normal}, normal_concat={self.normal_concat}, "
            f"reduce={self.reduce}, reduce_concat={self.reduce_concat})"
        )

    @classmethod
    def parse(cls, text: str) -> Genotype:
        """The genotype in a `Best-Genotype=` value (spaces or not)."""
        try:
            call = ast.parse(text.strip(), mode="eval").body
        except SyntaxError:
            raise ValueError(f"not a Genotype(...) text: {text!r}") from None
        if not isinstance(call, ast.Call) or getattr(call.func, "id", None) != "Genotype":
            raise ValueError(f"not a Genotype(...) text: {text!r}")
        fields: dict[str, Any] = {}
        for kw in call.keywords:
            value = kw.value
            if isinstance(value, ast.Call) and getattr(value.func, "id", None) == "range":
                fields[str(kw.arg)] = range(*(ast.literal_eval(a) for a in value.args))
            else:
                fields[str(kw.arg)] = [
                    [(str(p), int(i)) for p, i in node] for node in ast.literal_eval(value)
                ]
        return cls(fields["normal"], fields["normal_concat"], fields["reduce"], fields["reduce_concat"])


class GenotypeNetwork(Module):
    """The network a genotype describes: each node sums its chosen edges' operations."""

    def __init__(self, rng: np.random.Generator, config: NetConfig, genotype: Genotype) -> None:
        def gene(reduction: bool) -> Gene:
            chosen = genotype.reduce if reduction else genotype.normal
            if len(chosen) != config.num_nodes:
                raise ValueError(f"the genotype has {len(chosen)} nodes per cell, not {config.num_nodes}")
            return chosen

        self.net = Network(
            rng,
            config,
            lambda reduction: (
                lambda node, j, stride, c: [
                    make_op(next(p for p, src in gene(reduction)[node] if src == j), rng, c, stride)
                ]
            ),
            lambda reduction: lambda node: [src for _, src in gene(reduction)[node]],
        )

    def __call__(self, x: Tensor) -> Tensor:
        return self.net.forward(x)


def random_genotype(
    rng: np.random.Generator, prims: list[str], num_nodes: int, layers: int, k: int = 2
) -> Genotype:
    """A genotype of the same size as a derived one: per node k distinct inputs, each a random primitive."""

    def gene() -> Gene:
        out: Gene = []
        for node in range(num_nodes):
            sources = rng.choice(node + 2, size=min(k, node + 2), replace=False)
            out.append([(prims[int(rng.integers(len(prims) - 1))], int(j)) for j in sources])
        return out

    concat = range(2, 2 + num_nodes)
    return Genotype(gene(), concat, gene() if layers > 1 else [], concat)


# ---------------------------------------------------------------- the search (Katib's run_trial.py)


@dataclass(frozen=True)
class DartsSettings:
    num_epochs: int
    w_lr: float
    w_lr_min: float
    w_momentum: float
    w_weight_decay: float
    w_grad_clip: float
    alpha_lr: float
    alpha_weight_decay: float
    batch_size: int | None
    init_channels: int
    print_step: int
    num_nodes: int
    stem_multiplier: int

    @classmethod
    def from_katib(cls, raw: dict[str, Any]) -> DartsSettings:
        """Katib's algorithm-settings text (numbers or their strings; batch_size may be null)."""
        batch = raw.get("batch_size")
        return cls(
            num_epochs=int(raw["num_epochs"]),
            w_lr=float(raw["w_lr"]),
            w_lr_min=float(raw["w_lr_min"]),
            w_momentum=float(raw["w_momentum"]),
            w_weight_decay=float(raw["w_weight_decay"]),
            w_grad_clip=float(raw["w_grad_clip"]),
            alpha_lr=float(raw["alpha_lr"]),
            alpha_weight_decay=float(raw["alpha_weight_decay"]),
            batch_size=None if batch is None else int(batch),
            init_channels=int(raw["init_channels"]),
            print_step=int(raw["print_step"]),
            num_nodes=int(raw["num_nodes"]),
            stem_multiplier=int(raw["stem_multiplier"]),
        )


@dataclass(frozen=True)
class SearchResult:
    genotype: Genotype
    accuracy: float  # the best epoch's validation accuracy


def _print_alphas(model: SuperNetwork) -> None:
    with no_grad():
        for title, alphas in (("Alphas Normal", model.alpha_normal), ("Alphas Reduce", model.alpha_reduce)):
            if alphas:
                say(f"\n>>> {title} <<<")
                for a in alphas:
                    say(np.array2string(T.softmax(a, axis=-1).data, precision=4, suppress_small=True))


def search(
    settings: DartsSettings,
    search_space: Sequence[str],
    num_layers: int,
    *,
    data: Data | None = None,
    seed: int = 0,
    verbose: bool = True,
) -> SearchResult:
    """The bilevel search, first order: alphas by Adam on validation batches, weights by SGD."""
    data = data or load_digits()
    prims = primitives(search_space)
    if len(prims) < 2:
        raise SearchSpaceError("the search space needs a primitive other than none")
    rng = np.random.default_rng(seed)
    config = NetConfig(num_layers, settings.num_nodes, settings.init_channels, settings.stem_multiplier)
    model = SuperNetwork(rng, config, prims)
    weights, alphas = model.weights(), model.alphas()
    w_opt = optim.SGD(weights, settings.w_lr, settings.w_momentum, settings.w_weight_decay)
    a_opt = optim.Adam(
        alphas, settings.alpha_lr, betas=(0.5, 0.999), weight_decay=settings.alpha_weight_decay
    )
    half = len(data.x_train) // 2
    train_x, train_y = data.x_train[:half], data.y_train[:half]
    valid_x, valid_y = data.x_train[half:], data.y_train[half:]
    batch = settings.batch_size or half
    if verbose:
        say(f">>> primitives: {prims}")
        say(f">>> {num_layers} cells of {settings.num_nodes} nodes; {model.count()} parameters")
    best: SearchResult | None = None
    steps = -(-half // batch)
    for epoch in range(settings.num_epochs):
        w_opt.lr = optim.cosine_lr(settings.w_lr, settings.w_lr_min, epoch, settings.num_epochs)
        if verbose:
            _print_alphas(model)
            say(">>> Training")
        started = time.monotonic()
        correct = 0
        for step, (ti, vi) in enumerate(
            zip(batches(half, batch, rng), batches(len(valid_x), batch, rng), strict=False)
        ):
            # architecture step: d L_valid(w, alpha) / d alpha at the current weights (first order)
            loss = T.cross_entropy(model(Tensor(valid_x[vi])), valid_y[vi])
            optim.zero_grad(alphas + weights)
            loss.backward()
            a_opt.step()
            # weight step on a training batch
            logits = model(Tensor(train_x[ti]))
            loss = T.cross_entropy(logits, train_y[ti])
            optim.zero_grad(alphas + weights)
            loss.backward()
            optim.clip_grad_norm(weights, settings.w_grad_clip)
            w_opt.step()
            correct += int((logits.data.argmax(axis=1) == train_y[ti]).sum())
            if verbose and (step % settings.print_step == 0 or step == steps - 1):
                where = f"[{epoch + 1:2d}/{settings.num_epochs}] Step {step:03d}/{steps - 1:03d}"
                say(f"Train: {where} Loss {loss.item():.3f}")
        accuracy, val_loss = evaluate(model, model, valid_x, valid_y)
        genotype = model.genotype()
        if verbose:
            say(f"Train: [{epoch + 1:2d}/{settings.num_epochs}] Final Prec@1 {correct / half:.4%}")
            seconds = time.monotonic() - started
            say(f"Valid: [{epoch + 1:2d}/{settings.num_epochs}] Final Prec@1 {accuracy:.4%} ({seconds:.1f}s)")
            say(f"Validation-Accuracy={accuracy:.4f}")
            say(f"Validation-Loss={val_loss:.4f}")
            say(f"\nModel genotype = {genotype}")
        if best is None or accuracy > best.accuracy:
            best = SearchResult(genotype, accuracy)
    assert best is not None
    return best


def train_genotype(
    genotype: Genotype,
    config: NetConfig,
    epochs: int,
    *,
    data: Data | None = None,
    seed: int = 0,
    lr: float = 0.025,
    lr_min: float = 0.001,
    batch_size: int = 64,
    verbose: bool = True,
) -> float:
    """Train a genotype's network from scratch on the training quarter; its validation accuracy."""
    data = data or load_digits()
    rng = np.random.default_rng(seed)
    net = GenotypeNetwork(rng, config, genotype)
    opt = optim.SGD(net.parameters(), lr, momentum=0.9, weight_decay=3e-4)
    accuracy = 0.0
    for epoch in range(epochs):
        opt.lr = optim.cosine_lr(lr, lr_min, epoch, epochs)
        train_epoch(net, net, opt, data, batch_size, rng, clip=5.0)
        accuracy, _ = evaluate(net, net, data.x_val, data.y_val)
        if verbose:
            say(f"epoch {epoch + 1}/{epochs}: Validation-Accuracy={accuracy:.4f}")
    return accuracy


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="DARTS on digits (8x8): Katib's DARTS trial arguments.")
    p.add_argument("--algorithm-settings", default="", help="Katib's algorithm-settings text")
    p.add_argument("--search-space", default="", help="Katib's search-space text, e.g. ['max_pooling_3x3']")
    p.add_argument("--num-layers", default="1", help="cells in the network")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--genotype", help="train this genotype from scratch instead of searching")
    p.add_argument("--num-epochs", type=int, default=10, help="epochs with --genotype")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        raw = katib_json(args.algorithm_settings) if args.algorithm_settings else {}
        settings = DartsSettings.from_katib({**DEFAULTS, **raw})
        space = katib_json(args.search_space) if args.search_space else []
        layers = int(str(args.num_layers).strip('"'))
    except (ValueError, TypeError, KeyError) as exc:
        return fail(f"--algorithm-settings, --search-space and --num-layers must be Katib's texts: {exc}")
    if not isinstance(space, list) or layers < 1:
        return fail("--search-space must be a list of primitives and --num-layers >= 1")
    try:
        if args.genotype:
            config = NetConfig(layers, settings.num_nodes, settings.init_channels, settings.stem_multiplier)
            train_genotype(Genotype.parse(args.genotype), config, max(args.num_epochs, 1), seed=args.seed)
            return 0
        result = search(settings, [str(p) for p in space], layers, seed=args.seed)
    except (SearchSpaceError, ValueError) as exc:
        return fail(str(exc))
    say(f"Final best Prec@1 = {result.accuracy:.4%}")
    say(f"\nBest-Genotype={str(result.genotype).replace(' ', '')}")
    return 0


# Katib's defaults (pkg/suggestion/v1beta1/nas/darts/service.py), for a trial started by hand
DEFAULTS: dict[str, Any] = {
    "num_epochs": 50,
    "w_lr": 0.025,
    "w_lr_min": 0.001,
    "w_momentum": 0.9,
    "w_weight_decay": 3e-4,
    "w_grad_clip": 5.0,
    "alpha_lr": 3e-4,
    "alpha_weight_decay": 1e-3,
    "batch_size": 128,
    "num_workers": 4,
    "init_channels": 16,
    "print_step": 50,
    "num_nodes": 4,
    "stem_multiplier": 3,
}


if __name__ == "__main__":
    sys.exit(main())
