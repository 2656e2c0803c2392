"""katib_py.nn: every backward against central finite differences, in float64."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from katib_py.nn import conv, optim
from katib_py.nn import tensor as T
from katib_py.nn.tensor import Tensor, no_grad, parameter

RNG = np.random.default_rng(0)


def check(fn: Callable[..., Tensor], *shapes: tuple[int, ...], positive: bool = False) -> None:
    """sum(fn(*params) * weights) differentiated by the tape and by finite differences."""
    params = [parameter(RNG.uniform(0.5, 1.5, s) if positive else RNG.normal(size=s)) for s in shapes]
    out = fn(*params)
    weights = RNG.normal(size=out.shape)
    T.sum_(out * weights).backward()
    eps = 1e-6
    for p in params:
        assert p.grad is not None and p.grad.shape == p.shape
        numeric = np.zeros_like(p.data)
        for i in np.ndindex(p.shape):
            keep = p.data[i]
            p.data[i] = keep + eps
            with no_grad():
                up = float(np.sum(fn(*params).data * weights))
            p.data[i] = keep - eps
            with no_grad():
                down = float(np.sum(fn(*params).data * weights))
            p.data[i] = keep
            numeric[i] = (up - down) / (2 * eps)
        np.testing.assert_allclose(p.grad, numeric, rtol=1e-5, atol=1e-6)


def test_elementwise_and_broadcasting() -> None:
    check(lambda a, b: a * b + a - b, (3, 4), (1, 4))
    check(lambda a: T.tanh(a) * T.sigmoid(a) + T.exp(a * 0.3), (2, 5))
    check(lambda a: T.log(a), (4,), positive=True)
    check(lambda a: T.log_sigmoid(a) + T.relu(a + 0.1), (3, 3))
    check(lambda a: -a / 3.0 + (1.0 - a) * 2.0, (2,))


def test_shapes_and_reductions() -> None:
    check(lambda a: T.sum_(a, axis=1) + T.mean(a, axis=1), (3, 4))
    check(lambda a: T.sum_(a, axis=(0, 2), keepdims=True), (2, 3, 2))
    check(lambda a: T.transpose(T.reshape(a, (3, 2, 2)), (2, 0, 1)), (4, 3))
    check(lambda a, b: T.concat([a, b], axis=1), (2, 3), (2, 2))
    check(lambda a, b: T.stack([a, b], axis=0), (2, 3), (2, 3))
    check(lambda a: a[1:, ::2], (3, 5))
    check(lambda a: a[np.array([0, 2, 0])], (3, 2))  # repeated rows add up (embedding lookup)
    check(lambda a, b: a @ b, (3, 4), (4, 2))


def test_distributions_and_losses() -> None:
    check(lambda a: T.log_softmax(a, axis=1), (3, 4))
    check(lambda a: T.softmax(a, axis=-1), (2, 5))
    labels = np.array([1, 0, 3])
    check(lambda a: T.cross_entropy(a, labels), (3, 4))


def test_fused_policy_terms() -> None:
    check(lambda a: T.scaled_tanh(a, 0.2, 2.25), (3, 4))
    check(lambda a: T.categorical_log_prob(a, np.array([2, 0, 2])), (3, 4))
    bits = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    check(lambda a: T.bernoulli_log_prob(a, bits), (2, 3))
    check(lambda a: T.bernoulli_kl(a, 0.4), (2, 3))
    logits = RNG.normal(size=(2, 3))
    p = 1 / (1 + np.exp(-logits))
    kl = (p * np.log(p / 0.4) + (1 - p) * np.log((1 - p) / 0.6)).sum(axis=1)
    np.testing.assert_allclose(T.bernoulli_kl(Tensor(logits), 0.4).data, kl)


def test_lstm_cell() -> None:
    def cell(x: Tensor, c: Tensor, h: Tensor, w: Tensor) -> Tensor:
        c2, h2 = T.lstm_cell(x, c, h, w)
        return T.concat([c2 * 1.5, h2], axis=1)

    check(cell, (2, 3), (2, 4), (2, 4), (7, 16))


@pytest.mark.parametrize(("stride", "dilation", "k"), [(1, 1, 3), (2, 1, 3), (1, 2, 3), (2, 1, 2), (1, 1, 5)])
def test_convolutions(stride: int, dilation: int, k: int) -> None:
    pad = conv.same_padding(6, 5, k, stride, dilation)
    check(lambda x, w: conv.conv2d(x, w, stride, dilation, pad), (2, 6, 5, 3), (k, k, 3, 4))
    check(lambda x, w: conv.depthwise_conv2d(x, w, stride, dilation, pad), (2, 6, 5, 3), (k, k, 3, 2))


def test_pooling_padding_and_norm() -> None:
    check(lambda x: conv.max_pool2d(x, 3, 1, conv.symmetric(1)), (2, 5, 5, 2))
    check(lambda x: conv.max_pool2d(x, 2, 2), (1, 4, 6, 3))
    check(lambda x: conv.avg_pool2d(x, 3, 2, conv.symmetric(1)), (2, 5, 5, 2))
    check(lambda x: conv.pad2d(x, (1, 0, 2, 1)), (2, 3, 3, 1))
    check(conv.global_avg_pool, (2, 3, 4, 5))
    stats = conv.BatchNormStats(np.zeros(3), np.ones(3))
    check(lambda x, g, b: conv.batch_norm(x, stats, True, g, b), (4, 2, 2, 3), (3,), (3,))
    check(lambda x: conv.batch_norm(x, stats, True), (4, 2, 2, 3))
    check(lambda x: conv.batch_norm(x, stats, False), (4, 2, 2, 3))


def test_same_padding_matches_keras_shapes() -> None:
    assert conv.same_padding(8, 8, 3, 1) == (1, 1, 1, 1)
    assert conv.same_padding(8, 8, 3, 2) == (0, 1, 0, 1)  # TensorFlow pads the odd pixel after
    assert conv.same_padding(7, 7, 5, 2) == (2, 2, 2, 2)
    x = Tensor(np.zeros((1, 7, 7, 1)))
    out = conv.conv2d(x, Tensor(np.zeros((5, 5, 1, 1))), 2, 1, conv.same_padding(7, 7, 5, 2))
    assert out.shape == (1, 4, 4, 1)


def test_no_grad_records_nothing() -> None:
    a = parameter(np.ones(3))
    with no_grad():
        out = a * 2.0
    assert not out.requires_grad and out.parents == ()


def test_optimisers_follow_torch_rules() -> None:
    p = parameter(np.array([1.0, -2.0]))
    p.grad = np.array([0.5, 0.5])
    sgd = optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01)
    sgd.step()
    np.testing.assert_allclose(p.data, [1.0 - 0.1 * 0.51, -2.0 - 0.1 * 0.48])
    sgd.step()  # momentum: buffer = 0.9 * g1 + g2
    q = parameter(np.array([1.0]))
    adam = optim.Adam([q], lr=0.01)
    for _ in range(3):
        q.grad = np.array([2.0])
        adam.step()
    np.testing.assert_allclose(q.data, [1.0 - 3 * 0.01], rtol=1e-6)  # Adam's step is lr for a steady sign
    r = parameter(np.array([3.0, 4.0]))
    r.grad = np.array([3.0, 4.0])
    assert optim.clip_grad_norm([r], 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(np.linalg.norm(r.grad), 1.0, rtol=1e-5)
    assert optim.cosine_lr(0.1, 0.0, 0, 4) == pytest.approx(0.1)
    assert optim.cosine_lr(0.1, 0.0, 2, 4) == pytest.approx(0.05)


def test_stack_keeps_its_inputs_when_the_caller_appends_to_the_list() -> None:
    a, b = parameter(np.ones(2)), parameter(np.ones(2))
    inputs = [a]
    out = T.stack(inputs, axis=0)
    inputs.append(b)  # the ENAS controller grows its list of hidden states after stacking it
    T.sum_(out).backward()
    assert a.grad is not None and b.grad is None
