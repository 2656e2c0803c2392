"""Optimisers with PyTorch's update rules (Katib's DARTS trial uses torch's SGD and Adam; the ENAS
controller uses Adam as TensorFlow's), and global-norm gradient clipping."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from katib_py.nn.tensor import Array, Tensor


def zero_grad(params: Sequence[Tensor]) -> None:
    for p in params:
        p.grad = None


def grad_norm(params: Sequence[Tensor]) -> float:
    return math.sqrt(sum(float(np.sum(p.grad * p.grad)) for p in params if p.grad is not None))


def clip_grad_norm(params: Sequence[Tensor], max_norm: float) -> float:
    """Scale all gradients so that their global norm is at most max_norm; returns the norm before."""
    norm = grad_norm(params)
    if norm > max_norm > 0:
        scale = max_norm / (norm + 1e-6)
        for p in params:
            if p.grad is not None:
                p.grad = p.grad * scale
    return norm


class SGD:
    """SGD with momentum and L2 weight decay (torch.optim.SGD)."""

    def __init__(self, params: Sequence[Tensor], lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        self.params = list(params)
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.buffers: list[Array | None] = [None] * len(self.params)

    def step(self) -> None:
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
            if self.momentum:
                buf = self.buffers[i]
                buf = g.copy() if buf is None else self.momentum * buf + g
                self.buffers[i] = buf
                g = buf
            p.data = p.data - self.lr * g


class Adam:
    """Adam with L2 weight decay added to the gradient (torch.optim.Adam)."""

    def __init__(
        self,
        params: Sequence[Tensor],
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        self.params = list(params)
        self.lr = lr
        self.betas = betas
        self.eps = eps
        self.weight_decay = weight_decay
        self.t = 0
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]

    def step(self) -> None:
        self.t += 1
        b1, b2 = self.betas
        correction1 = 1 - b1**self.t
        correction2 = 1 - b2**self.t
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
            m, v = self.m[i], self.v[i]  # updated in place: this runs for every step of every parameter
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            denom = np.sqrt(v / correction2)
            denom += self.eps
            step = m / denom
            step *= self.lr / correction1
            p.data = p.data - step.astype(p.data.dtype, copy=False)


def cosine_lr(base: float, minimum: float, epoch: int, epochs: int) -> float:
    """torch's CosineAnnealingLR at `epoch` of `epochs` (what Katib's DARTS trial schedules w_lr with)."""
    if epochs <= 0:
        return base
    return minimum + (base - minimum) * (1 + math.cos(math.pi * epoch / epochs)) / 2
