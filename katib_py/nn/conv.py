"""Image operations on NHWC tensors: convolutions, pooling, zero padding, batch norm.

Every windowed operation gathers its k*k shifted views of the padded input into one (N, Ho, Wo,
k*k, C) array, so a convolution is one matrix product and its backward scatters the k*k views
back; strides and dilations are steps and offsets of those views. Paddings are explicit
(top, bottom, left, right): `same_padding` gives Keras' "same" (used by Katib's ENAS trial),
`symmetric` gives PyTorch's (used by Katib's DARTS trial).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from katib_py.nn.tensor import Array, Tensor, node

Padding = tuple[int, int, int, int]
NO_PADDING: Padding = (0, 0, 0, 0)


def same_padding(height: int, width: int, k: int, stride: int = 1, dilation: int = 1) -> Padding:
    """Keras/TensorFlow "same": output ceil(size / stride), the odd pixel padded at the bottom/right."""
    span = dilation * (k - 1) + 1

    def split(size: int) -> tuple[int, int]:
        out = -(-size // stride)
        total = max((out - 1) * stride + span - size, 0)
        return total // 2, total - total // 2

    top, bottom = split(height)
    left, right = split(width)
    return top, bottom, left, right


def symmetric(p: int) -> Padding:
    return p, p, p, p


def out_size(size: int, k: int, stride: int, dilation: int, before: int, after: int) -> int:
    return (size + before + after - dilation * (k - 1) - 1) // stride + 1


def _pad(x: Array, padding: Padding, value: float = 0.0) -> Array:
    top, bottom, left, right = padding
    if not any(padding):
        return x
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


@dataclass(frozen=True)
class _Window:
    """Where the k*k views of a windowed operation start and step."""

    k: int
    stride: int
    dilation: int
    padding: Padding
    in_h: int
    in_w: int
    out_h: int = field(init=False)
    out_w: int = field(init=False)

    def __post_init__(self) -> None:
        top, bottom, left, right = self.padding
        object.__setattr__(
            self, "out_h", out_size(self.in_h, self.k, self.stride, self.dilation, top, bottom)
        )
        object.__setattr__(
            self, "out_w", out_size(self.in_w, self.k, self.stride, self.dilation, left, right)
        )
        if self.out_h < 1 or self.out_w < 1:
            raise ValueError(f"a {self.k}x{self.k} window does not fit a {self.in_h}x{self.in_w} input")

    def views(self) -> list[tuple[slice, slice]]:
        s, d = self.stride, self.dilation
        return [
            (
                slice(i * d, i * d + s * (self.out_h - 1) + 1, s),
                slice(j * d, j * d + s * (self.out_w - 1) + 1, s),
            )
            for i in range(self.k)
            for j in range(self.k)
        ]

    def gather(self, padded: Array) -> Array:
        """(N, Ho, Wo, k*k, C) views of the padded input."""
        return np.stack([padded[:, rows, cols, :] for rows, cols in self.views()], axis=3)

    def scatter(self, grads: Array, padded_shape: tuple[int, ...]) -> Array:
        """The input gradient (unpadded) from gradients of the gathered views."""
        out = np.zeros(padded_shape, dtype=grads.dtype)
        for q, (rows, cols) in enumerate(self.views()):
            out[:, rows, cols, :] += grads[:, :, :, q, :]
        top, _, left, _ = self.padding
        return out[:, top : top + self.in_h, left : left + self.in_w, :]


def _window(x: Tensor, k: int, stride: int, dilation: int, padding: Padding) -> _Window:
    return _Window(k, stride, dilation, padding, x.shape[1], x.shape[2])


def conv2d(x: Tensor, w: Tensor, stride: int = 1, dilation: int = 1, padding: Padding = NO_PADDING) -> Tensor:
    """Convolution of (N, H, W, Cin) by a (k, k, Cin, Cout) kernel, no bias."""
    k, _, cin, cout = w.shape
    win = _window(x, k, stride, dilation, padding)
    padded = _pad(x.data, padding)
    n = x.shape[0]
    cols = win.gather(padded).reshape(n * win.out_h * win.out_w, k * k * cin)
    kernel = w.data.reshape(k * k * cin, cout)
    out = (cols @ kernel).reshape(n, win.out_h, win.out_w, cout)

    def backward(g: Array) -> tuple[Array, Array]:
        flat = g.reshape(-1, cout)
        dw = (cols.T @ flat).reshape(w.shape)
        dcols = (flat @ kernel.T).reshape(n, win.out_h, win.out_w, k * k, cin)
        return win.scatter(dcols, padded.shape), dw

    return node(out, (x, w), backward)


def depthwise_conv2d(
    x: Tensor, w: Tensor, stride: int = 1, dilation: int = 1, padding: Padding = NO_PADDING
) -> Tensor:
    """Each input channel convolved by its own M kernels: (k, k, C, M) gives C*M output channels."""
    k, _, c, m = w.shape
    win = _window(x, k, stride, dilation, padding)
    padded = _pad(x.data, padding)
    views = win.gather(padded)
    kernel = w.data.reshape(k * k, c, m)
    out = np.einsum("nhwqc,qcm->nhwcm", views, kernel, optimize=True)
    n = x.shape[0]

    def backward(g: Array) -> tuple[Array, Array]:
        g5 = g.reshape(n, win.out_h, win.out_w, c, m)
        dw = np.einsum("nhwqc,nhwcm->qcm", views, g5, optimize=True).reshape(w.shape)
        dviews = np.einsum("nhwcm,qcm->nhwqc", g5, kernel, optimize=True)
        return win.scatter(dviews, padded.shape), dw

    return node(out.reshape(n, win.out_h, win.out_w, c * m), (x, w), backward)


def max_pool2d(x: Tensor, k: int, stride: int, padding: Padding = NO_PADDING) -> Tensor:
    win = _window(x, k, stride, 1, padding)
    padded = _pad(x.data, padding, value=-np.inf)
    views = win.gather(padded)
    arg = views.argmax(axis=3)
    out = np.take_along_axis(views, arg[:, :, :, None, :], axis=3)[:, :, :, 0, :]

    def backward(g: Array) -> tuple[Array]:
        hot = np.arange(k * k)[None, None, None, :, None] == arg[:, :, :, None, :]
        return (win.scatter(hot * g[:, :, :, None, :], padded.shape),)

    return node(out, (x,), backward)


def avg_pool2d(x: Tensor, k: int, stride: int, padding: Padding = NO_PADDING) -> Tensor:
    """Average over the window's input pixels only (padding not counted, as PyTorch's
    count_include_pad=False and Keras' "same" pooling)."""
    win = _window(x, k, stride, 1, padding)
    padded = _pad(x.data, padding)
    ones = _pad(np.ones((1, x.shape[1], x.shape[2], 1), dtype=x.data.dtype), padding)
    count = win.gather(ones).sum(axis=3)
    out = win.gather(padded).sum(axis=3) / count

    def backward(g: Array) -> tuple[Array]:
        share = np.broadcast_to((g / count)[:, :, :, None, :], (*g.shape[:3], k * k, g.shape[3]))
        return (win.scatter(share, padded.shape),)

    return node(out, (x,), backward)


def pad2d(x: Tensor, padding: Padding) -> Tensor:
    """Zero padding of the spatial dimensions."""
    top, _, left, _ = padding
    h, w = x.shape[1], x.shape[2]
    return node(_pad(x.data, padding), (x,), lambda g: (g[:, top : top + h, left : left + w, :],))


def global_avg_pool(x: Tensor) -> Tensor:
    """(N, H, W, C) to (N, C)."""
    h, w = x.shape[1], x.shape[2]
    return node(
        x.data.mean(axis=(1, 2)),
        (x,),
        lambda g: (np.broadcast_to(g[:, None, None, :] / (h * w), x.shape),),
    )


@dataclass
class BatchNormStats:
    """Running mean and variance of a batch-norm layer (used in evaluation)."""

    mean: Array
    var: Array
    momentum: float = 0.1
    eps: float = 1e-5


def batch_norm(
    x: Tensor, stats: BatchNormStats, training: bool, gamma: Tensor | None = None, beta: Tensor | None = None
) -> Tensor:
    """Normalise each channel over (N, H, W): batch statistics in training, running ones otherwise."""
    axes = tuple(range(x.data.ndim - 1))
    if training:
        mu = x.data.mean(axis=axes)
        var = x.data.var(axis=axes)
        count = x.data.size // x.shape[-1]
        unbiased = var * count / max(count - 1, 1)
        stats.mean = (1 - stats.momentum) * stats.mean + stats.momentum * mu
        stats.var = (1 - stats.momentum) * stats.var + stats.momentum * unbiased
    else:
        mu, var = stats.mean, stats.var
    inv = 1.0 / np.sqrt(var + stats.eps)
    xhat = (x.data - mu) * inv
    scale = gamma.data if gamma is not None else 1.0
    out = xhat * scale + (beta.data if beta is not None else 0.0)
    parents = [x, *(p for p in (gamma, beta) if p is not None)]

    def backward(g: Array) -> list[Array]:
        dxhat = g * scale
        if training:
            n = x.data.size // x.shape[-1]
            dx = inv / n * (n * dxhat - dxhat.sum(axis=axes) - xhat * (dxhat * xhat).sum(axis=axes))
        else:
            dx = dxhat * inv
        grads = [dx]
        if gamma is not None:
            grads.append((g * xhat).sum(axis=axes))
        if beta is not None:
            grads.append(g.sum(axis=axes))
        return grads

    return node(out, parents, backward)
