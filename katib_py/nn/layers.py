"""Layers with parameters (convolution, batch norm, dense) and the Module that collects them.

A Module's parameters are found by walking its attributes (Tensors that need gradients, Modules,
and lists of either), so a network is plain attribute assignments, as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from katib_py.nn import conv
from katib_py.nn.tensor import Tensor, matmul, parameter


class Module:
    training = True

    def _children(self) -> Iterator[object]:
        for value in vars(self).values():
            if isinstance(value, list | tuple):
                yield from value
            else:
                yield value

    def parameters(self) -> list[Tensor]:
        out: list[Tensor] = []
        for value in self._children():
            if isinstance(value, Tensor) and value.requires_grad:
                out.append(value)
            elif isinstance(value, Module):
                out.extend(value.parameters())
        return out

    def train(self, mode: bool = True) -> None:
        self.training = mode
        for value in self._children():
            if isinstance(value, Module):
                value.train(mode)

    def count(self) -> int:
        return sum(p.data.size for p in self.parameters())


def _he(rng: np.random.Generator, fan_in: int, *shape: int) -> Tensor:
    return parameter((rng.normal(size=shape) * np.sqrt(2.0 / max(fan_in, 1))).astype(np.float32))


class Conv(Module):
    """k x k convolution, no bias (a batch norm follows every one here)."""

    def __init__(
        self,
        rng: np.random.Generator,
        k: int,
        cin: int,
        cout: int,
        stride: int = 1,
        dilation: int = 1,
        padding: int | None = None,
    ) -> None:
        self.weight = _he(rng, k * k * cin, k, k, cin, cout)
        self.k, self.stride, self.dilation, self.padding = k, stride, dilation, padding

    def pad_for(self, x: Tensor) -> conv.Padding:
        """`padding` on every side, or Keras "same" when None."""
        if self.padding is not None:
            return conv.symmetric(self.padding)
        return conv.same_padding(x.shape[1], x.shape[2], self.k, self.stride, self.dilation)

    def __call__(self, x: Tensor) -> Tensor:
        return conv.conv2d(x, self.weight, self.stride, self.dilation, self.pad_for(x))


class DepthwiseConv(Conv):
    """Each channel convolved by its own `multiplier` kernels."""

    def __init__(
        self,
        rng: np.random.Generator,
        k: int,
        channels: int,
        multiplier: int = 1,
        stride: int = 1,
        dilation: int = 1,
        padding: int | None = None,
    ) -> None:
        super().__init__(rng, k, channels, multiplier, stride, dilation, padding)
        self.weight = _he(rng, k * k, k, k, channels, multiplier)

    def __call__(self, x: Tensor) -> Tensor:
        return conv.depthwise_conv2d(x, self.weight, self.stride, self.dilation, self.pad_for(x))


class BatchNorm(Module):
    def __init__(self, channels: int, affine: bool = True) -> None:
        self.stats = conv.BatchNormStats(np.zeros(channels, np.float32), np.ones(channels, np.float32))
        self.gamma = parameter(np.ones(channels, np.float32)) if affine else None
        self.beta = parameter(np.zeros(channels, np.float32)) if affine else None

    def __call__(self, x: Tensor) -> Tensor:
        return conv.batch_norm(x, self.stats, self.training, self.gamma, self.beta)


class Dense(Module):
    def __init__(self, rng: np.random.Generator, cin: int, cout: int) -> None:
        bound = 1.0 / np.sqrt(cin)
        self.weight = parameter(rng.uniform(-bound, bound, (cin, cout)).astype(np.float32))
        self.bias = parameter(np.zeros(cout, np.float32))

    def __call__(self, x: Tensor) -> Tensor:
        return matmul(x, self.weight) + self.bias
