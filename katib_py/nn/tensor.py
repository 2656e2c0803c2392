"""The Tensor, its tape, and the elementwise, reduction and linear-algebra operations.

A Tensor wraps a NumPy array. An operation on tensors that need gradients records its inputs and a
backward function on the result; `backward()` walks that graph once in reverse topological order
and leaves `.grad` on the leaves (parameters) only. Inside `no_grad()` nothing is recorded, which is
how evaluation and sampling run at NumPy speed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

Array: TypeAlias = npt.NDArray[Any]
Backward: TypeAlias = Callable[[Array], Sequence[Array | None]]
Operand: TypeAlias = "Tensor | Array | float"

_GRAD = [True]


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Record nothing inside the block (evaluation, sampling, optimiser updates)."""
    previous = _GRAD[0]
    _GRAD[0] = False
    try:
        yield
    finally:
        _GRAD[0] = previous


class Tensor:
    """An array with an optional gradient and the operation that produced it."""

    __slots__ = ("_backward", "data", "grad", "parents", "requires_grad")

    def __init__(self, data: Array | float, requires_grad: bool = False) -> None:
        self.data: Array = np.asarray(data)
        self.requires_grad = requires_grad
        self.grad: Array | None = None
        self.parents: tuple[Tensor, ...] = ()
        self._backward: Backward | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    def item(self) -> float:
        return float(self.data)

    def backward(self, grad: Array | None = None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` (self is a scalar unless `grad` is given)."""
        grads: dict[int, Array] = {id(self): np.ones_like(self.data) if grad is None else grad}
        owned: set[int] = set()  # sums made here, safe to add into in place (the others may be views)
        for node in reversed(_topological(self)):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if node._backward is None:
                node.grad = g if node.grad is None else node.grad + g
                continue
            for parent, pg in zip(node.parents, node._backward(g), strict=True):
                if pg is None or not parent.requires_grad:
                    continue
                key = id(parent)
                if key not in grads:
                    grads[key] = pg
                elif key in owned:
                    grads[key] += pg
                else:
                    grads[key] = grads[key] + pg
                    owned.add(key)

    def __add__(self, other: Operand) -> Tensor:
        return add(self, other)

    def __radd__(self, other: Operand) -> Tensor:
        return add(other, self)

    def __sub__(self, other: Operand) -> Tensor:
        return add(self, neg(as_tensor(other)))

    def __rsub__(self, other: Operand) -> Tensor:
        return add(other, neg(self))

    def __mul__(self, other: Operand) -> Tensor:
        return mul(self, other)

    def __rmul__(self, other: Operand) -> Tensor:
        return mul(other, self)

    def __truediv__(self, other: float) -> Tensor:
        return mul(self, 1.0 / other)

    def __neg__(self) -> Tensor:
        return neg(self)

    def __matmul__(self, other: Tensor) -> Tensor:
        return matmul(self, other)

    def __getitem__(self, key: Any) -> Tensor:
        return index(self, key)


def parameter(data: Array) -> Tensor:
    """A leaf that collects gradients."""
    return Tensor(data, requires_grad=True)


def as_tensor(x: Operand) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


def _topological(root: Tensor) -> list[Tensor]:
    """Nodes that need gradients, every node after its parents (iterative: graphs can be deep)."""
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((p, False) for p in node.parents if p.requires_grad and id(p) not in seen)
    return order


def node(data: Array, parents: Sequence[Tensor], backward: Backward) -> Tensor:
    """The result of an operation: recorded on the tape when a parent needs gradients."""
    out = Tensor.__new__(Tensor)  # no asarray: operations return arrays (this runs for every op)
    out.data = data
    out.grad = None
    out.requires_grad = False
    out.parents = ()
    out._backward = None
    if _GRAD[0]:
        for p in parents:
            if p.requires_grad:
                out.requires_grad = True
                out.parents = tuple(parents)
                out._backward = backward
                break
    return out


def unbroadcast(g: Array, shape: tuple[int, ...]) -> Array:
    """Sum a broadcast gradient back to `shape`."""
    if g.shape == shape:
        return g
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


# ---------------------------------------------------------------- elementwise


def add(a: Operand, b: Operand) -> Tensor:
    ta, tb = as_tensor(a), as_tensor(b)
    return node(
        ta.data + tb.data,
        (ta, tb),
        lambda g: (unbroadcast(g, ta.shape), unbroadcast(g, tb.shape)),
    )


def neg(a: Tensor) -> Tensor:
    return node(-a.data, (a,), lambda g: (-g,))


def mul(a: Operand, b: Operand) -> Tensor:
    ta, tb = as_tensor(a), as_tensor(b)
    return node(
        ta.data * tb.data,
        (ta, tb),
        lambda g: (
            unbroadcast(g * tb.data, ta.shape) if ta.requires_grad else None,
            unbroadcast(g * ta.data, tb.shape) if tb.requires_grad else None,
        ),
    )


def exp(a: Tensor) -> Tensor:
    out = np.exp(a.data)
    return node(out, (a,), lambda g: (g * out,))


def log(a: Tensor) -> Tensor:
    return node(np.log(a.data), (a,), lambda g: (g / a.data,))


def tanh(a: Tensor) -> Tensor:
    out = np.tanh(a.data)
    return node(out, (a,), lambda g: (g * (1.0 - out * out),))


def sigmoid_array(x: Array) -> Array:
    """The logistic function without overflow warnings for large |x|."""
    out: Array = 0.5 * (1.0 + np.tanh(0.5 * x))
    return out


def sigmoid(a: Tensor) -> Tensor:
    out = sigmoid_array(a.data)
    return node(out, (a,), lambda g: (g * out * (1.0 - out),))


def relu(a: Tensor) -> Tensor:
    mask = a.data > 0
    return node(a.data * mask, (a,), lambda g: (g * mask,))


def log_sigmoid_array(x: Array) -> Array:
    out: Array = -np.logaddexp(0.0, -x)
    return out


def log_sigmoid(a: Tensor) -> Tensor:
    """log(sigmoid(a)), stable for large |a|."""
    return node(log_sigmoid_array(a.data), (a,), lambda g: (g * sigmoid_array(-a.data),))


# ---------------------------------------------------------------- shapes and reductions


def sum_(a: Tensor, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
    def backward(g: Array) -> tuple[Array]:
        if axis is not None and not keepdims:
            g = np.expand_dims(g, axis)
        return (np.broadcast_to(g, a.shape),)

    return node(np.sum(a.data, axis=axis, keepdims=keepdims), (a,), backward)


def mean(a: Tensor, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
    total = sum_(a, axis, keepdims)
    count = a.data.size // max(total.data.size, 1)
    return total * (1.0 / count)


def reshape(a: Tensor, shape: tuple[int, ...]) -> Tensor:
    return node(a.data.reshape(shape), (a,), lambda g: (g.reshape(a.shape),))


def transpose(a: Tensor, axes: tuple[int, ...]) -> Tensor:
    inverse = tuple(int(i) for i in np.argsort(axes))
    return node(a.data.transpose(axes), (a,), lambda g: (g.transpose(inverse),))


def index(a: Tensor, key: Any) -> Tensor:
    """a[key] for basic slices and integer arrays (repeated indices add up in the gradient)."""

    def backward(g: Array) -> tuple[Array]:
        full = np.zeros_like(a.data)
        np.add.at(full, key, g)
        return (full,)

    return node(a.data[key], (a,), backward)


def concat(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    sizes = [t.shape[axis] for t in tensors]
    bounds = np.cumsum(sizes)[:-1]
    return node(
        np.concatenate([t.data for t in tensors], axis=axis),
        tensors,
        lambda g: np.split(g, bounds, axis=axis),
    )


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    count = len(tensors)  # the caller may grow its list afterwards
    return node(
        np.stack([t.data for t in tensors], axis=axis),
        tensors,
        lambda g: [np.take(g, i, axis=axis) for i in range(count)],
    )


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """2-D matrix product."""
    return node(
        a.data @ b.data,
        (a, b),
        lambda g: (g @ b.data.T if a.requires_grad else None, a.data.T @ g if b.requires_grad else None),
    )


# ---------------------------------------------------------------- losses and distributions


def log_softmax_array(x: Array, axis: int = -1) -> Array:
    shifted = x - x.max(axis=axis, keepdims=True)
    out: Array = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return out


def log_softmax(a: Tensor, axis: int = -1) -> Tensor:
    out = log_softmax_array(a.data, axis)

    def backward(g: Array) -> tuple[Array]:
        return (g - np.exp(out) * g.sum(axis=axis, keepdims=True),)

    return node(out, (a,), backward)


def softmax(a: Tensor, axis: int = -1) -> Tensor:
    out = np.exp(log_softmax_array(a.data, axis))

    def backward(g: Array) -> tuple[Array]:
        return (out * (g - (g * out).sum(axis=axis, keepdims=True)),)

    return node(out, (a,), backward)


def cross_entropy(logits: Tensor, labels: Array) -> Tensor:
    """Mean softmax cross-entropy of (N, C) logits against N integer labels."""
    n = logits.shape[0]
    logp = log_softmax_array(logits.data, axis=1)
    rows = np.arange(n)
    loss = -logp[rows, labels].mean()

    def backward(g: Array) -> tuple[Array]:
        grad = np.exp(logp)
        grad[rows, labels] -= 1.0
        return (grad * (g / n),)

    return node(np.asarray(loss, dtype=logits.data.dtype), (logits,), backward)


def scaled_tanh(a: Tensor, inner: float, outer: float) -> Tensor:
    """outer * tanh(inner * a), in one step (the ENAS controller's logit squashing)."""
    t = np.tanh(a.data * inner)
    return node(outer * t, (a,), lambda g: (g * outer * inner * (1.0 - t * t),))


def categorical_log_prob(logits: Tensor, actions: Array) -> Tensor:
    """log p(actions[i]) under softmax(logits[i]), for (B, K) logits: a (B,) tensor."""
    logp = log_softmax_array(logits.data, axis=1)
    rows = np.arange(logits.shape[0])

    def backward(g: Array) -> tuple[Array]:
        grad = -np.exp(logp) * g[:, None]
        grad[rows, actions] += g
        return (grad,)

    return node(logp[rows, actions], (logits,), backward)


def bernoulli_log_prob(logits: Tensor, bits: Array) -> Tensor:
    """sum_j log p(bits[i, j]) with p(1) = sigmoid(logits[i, j]): a (B,) tensor."""
    p = sigmoid_array(logits.data)
    out = (bits * log_sigmoid_array(logits.data) + (1 - bits) * log_sigmoid_array(-logits.data)).sum(axis=1)
    return node(out, (logits,), lambda g: ((bits - p) * g[:, None],))


def bernoulli_kl(logits: Tensor, target: float) -> Tensor:
    """sum_j KL(Bernoulli(sigmoid(logits[i, j])) || Bernoulli(target)): a (B,) tensor."""
    p = sigmoid_array(logits.data)
    log_odds = log_sigmoid_array(logits.data) - log_sigmoid_array(-logits.data)
    ratio = log_odds - np.log(target / (1 - target))
    out = (
        p * (log_sigmoid_array(logits.data) - np.log(target))
        + (1 - p) * (log_sigmoid_array(-logits.data) - np.log(1 - target))
    ).sum(axis=1)
    return node(out, (logits,), lambda g: (ratio * p * (1 - p) * g[:, None],))


# ---------------------------------------------------------------- recurrent


def lstm_cell(x: Tensor, c: Tensor, h: Tensor, w: Tensor) -> tuple[Tensor, Tensor]:
    """One step of the LSTM of the ENAS controller: gates [i, f, o, g] = [x, h] @ w, no bias."""
    z = matmul(concat([x, h], axis=1), w)
    size = c.shape[1]
    i, f, o = (sigmoid_array(z.data[:, k * size : (k + 1) * size]) for k in range(3))
    cand = np.tanh(z.data[:, 3 * size :])
    c_next = i * cand + f * c.data
    tanh_c = np.tanh(c_next)
    h_next = o * tanh_c

    def backward(g: Array) -> tuple[Array, Array]:
        dc = g[:, :size] + g[:, size:] * o * (1.0 - tanh_c * tanh_c)
        do = g[:, size:] * tanh_c
        dz = np.concatenate(
            [
                dc * cand * i * (1.0 - i),
                dc * c.data * f * (1.0 - f),
                do * o * (1.0 - o),
                dc * i * (1.0 - cand * cand),
            ],
            axis=1,
        )
        return dz, dc * f

    both = node(np.concatenate([c_next, h_next], axis=1), (z, c), backward)
    return both[:, :size], both[:, size:]
