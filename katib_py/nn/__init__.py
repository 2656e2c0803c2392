"""A small reverse-mode autodiff on NumPy, for the NAS controller and the NAS trial programs.

Why our own rather than torch, TensorFlow or a generic autodiff library: the default install must
not need a deep-learning framework, the networks here are tiny (8x8 images, an LSTM of 64 units),
and the few operations they use (convolutions, pooling, batch norm, an LSTM cell, softmax
cross-entropy) are faster as fused NumPy kernels with a hand-written backward than traced element by
element. Every backward is checked against finite differences in tests/nas/test_autodiff.py.

Layout: `tensor` (the Tensor, the tape, elementwise and linear-algebra ops, the LSTM cell), `conv`
(NHWC convolutions, pooling, padding, batch norm), `optim` (SGD with momentum, Adam, gradient
clipping). It imports nothing of katib_py, so both the suggestion services and the trainers use it.
"""

from katib_py.nn.tensor import Tensor, no_grad, parameter

__all__ = ["Tensor", "no_grad", "parameter"]
