"""The ENAS controller: an LSTM policy over architectures, trained by REINFORCE.

As in the ENAS paper (Pham et al. 2018, macro search space) and Katib's
`pkg/suggestion/v1beta1/nas/enas/Controller.py`: for each layer the LSTM emits a distribution over
the operations, the chosen operation's embedding is fed back, and from the layer on the LSTM's
state attends over every earlier layer to decide, one Bernoulli each, which of them feed this
layer by a skip connection. Logits are divided by `temperature` and squashed by
`tanh_const * tanh(.)`; a skip is taken with probability sigmoid(2s) (the softmax of [-s, s]).

Training is REINFORCE with a moving-average baseline: the loss of a batch of architectures with
rewards R is -mean((R + w_ent * H - b) * log p(arc)) + w_skip * KL(skip rate || skip_target), where
H is the (constant) entropy of the arc's decisions and b moves towards the reward by
(1 - baseline_decay) at every step. Differences from Katib, on purpose: the rewarded architectures
are the ones the trials actually trained (Katib samples a fresh one at every step and credits it
with the average of all trials), and the baseline starts at the first batch's mean reward rather
than 0 (with decay 0.999 and tens of trials a zero start would reward every architecture).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from katib_py.nn import optim
from katib_py.nn import tensor as T
from katib_py.nn.tensor import Array, Tensor, no_grad, parameter

log = logging.getLogger(__name__)

Architecture = list[list[int]]  # per layer: [operation, skip bit for each earlier layer]


@dataclass(frozen=True)
class ControllerSettings:
    """Katib's ENAS settings (`nas/enas/AlgorithmSettings.py`); None switches a term off."""

    hidden_size: int = 64
    temperature: float | None = 5.0
    tanh_const: float | None = 2.25
    entropy_weight: float | None = 1e-5
    baseline_decay: float = 0.999
    learning_rate: float = 5e-5
    skip_target: float = 0.4
    skip_weight: float | None = 0.8
    train_steps: int = 50
    log_every_steps: int = 10


@dataclass(frozen=True)
class StepStats:
    loss: float
    entropy: float
    grad_norm: float
    baseline: float
    skip_rate: float


def flatten(arc: Architecture) -> list[int]:
    return [x for layer in arc for x in layer]


def unflatten(flat: list[int], num_layers: int) -> Architecture:
    """Katib's layout: layer l takes 1 + l entries (its operation, then l skip bits)."""
    out, pos = [], 0
    for layer in range(num_layers):
        out.append(flat[pos : pos + layer + 1])
        pos += layer + 1
    return out


@dataclass
class _Pass:
    """One run of the policy over a batch: the decisions and what the loss needs."""

    actions: Array  # (B, decisions)
    log_prob: Tensor  # (B,)
    entropy: Array  # (B,)
    skip_kl: Tensor  # scalar
    skip_rate: float


class Controller:
    """The policy network and its optimiser; deterministic for a given seed and training history."""

    def __init__(self, num_layers: int, num_operations: int, settings: ControllerSettings, seed: int) -> None:
        self.num_layers = num_layers
        self.num_operations = num_operations
        self.settings = settings
        rng = np.random.default_rng(seed)
        h = settings.hidden_size

        def init(*shape: int) -> Tensor:
            return parameter(rng.uniform(-0.1, 0.1, shape))

        self.w_lstm = init(2 * h, 4 * h)
        self.g_emb = init(1, h)
        self.w_emb = init(num_operations, h)
        self.w_soft = init(h, num_operations)
        self.attn_1 = init(h, h)
        self.attn_2 = init(h, h)
        self.attn_v = init(h, 1)
        self.params = [
            self.w_lstm,
            self.g_emb,
            self.w_emb,
            self.w_soft,
            self.attn_1,
            self.attn_2,
            self.attn_v,
        ]
        self.optimizer = optim.Adam(self.params, settings.learning_rate)
        self.baseline: float | None = None
        self.steps = 0

    @property
    def decisions(self) -> int:
        return self.num_layers * (self.num_layers + 1) // 2

    def _squash(self, logits: Tensor, scale: float = 1.0) -> Tensor:
        """scale * tanh_const * tanh(logits / temperature), each factor only when set."""
        s = self.settings
        inner = 1.0 / s.temperature if s.temperature is not None else 1.0
        if s.tanh_const is None:
            return logits * (inner * scale)
        return T.scaled_tanh(logits, inner, s.tanh_const * scale)

    def _run(self, batch: int, actions: Array | None, rng: np.random.Generator | None) -> _Pass:
        """The policy over `batch` architectures: scores `actions`, or samples them with `rng`."""
        h = self.settings.hidden_size
        chosen = np.zeros((batch, self.decisions), dtype=np.int64) if actions is None else actions
        c = Tensor(np.zeros((batch, h)))
        state = Tensor(np.zeros((batch, h)))
        start = self.g_emb + np.zeros((batch, h))
        inputs = start
        log_prob: Tensor = Tensor(np.zeros(batch))
        entropy = np.zeros(batch)
        kls: list[Tensor] = []
        skips, slots = 0.0, 0
        hs: list[Tensor] = []
        hs_attn: list[Tensor] = []
        pos = 0
        for layer in range(self.num_layers):
            c, state = T.lstm_cell(inputs, c, state, self.w_lstm)
            logits = self._squash(state @ self.w_soft)
            logp = T.log_softmax_array(logits.data, axis=1)
            p = np.exp(logp)
            if actions is None:
                assert rng is not None
                cumulative = p.cumsum(axis=1)
                chosen[:, pos] = (
                    (rng.random((batch, 1)) > cumulative).sum(axis=1).clip(max=self.num_operations - 1)
                )
            ops = chosen[:, pos]
            log_prob = log_prob + T.categorical_log_prob(logits, ops)
            entropy -= (p * logp).sum(axis=1)
            c, state = T.lstm_cell(self.w_emb[ops], c, state, self.w_lstm)
            pos += 1
            if layer > 0:
                query = T.tanh(T.stack(hs_attn, axis=1) + T.reshape(state @ self.attn_2, (batch, 1, h)))
                score = T.reshape(T.reshape(query, (batch * layer, h)) @ self.attn_v, (batch, layer))
                s2 = self._squash(score, 2.0)
                on, off = T.log_sigmoid_array(s2.data), T.log_sigmoid_array(-s2.data)
                p_on = np.exp(on)
                if actions is None:
                    assert rng is not None
                    chosen[:, pos : pos + layer] = rng.random((batch, layer)) < p_on
                bits = chosen[:, pos : pos + layer].astype(float)
                log_prob = log_prob + T.bernoulli_log_prob(s2, bits)
                entropy -= (p_on * on + (1 - p_on) * off).sum(axis=1)
                kls.append(T.mean(T.bernoulli_kl(s2, self._target())))
                skips += float(bits.sum())
                slots += batch * layer
                mixed = T.sum_(T.stack(hs, axis=1) * bits[:, :, None], axis=1)
                inputs = mixed * (1.0 / (1.0 + bits.sum(axis=1, keepdims=True)))
                pos += layer
            else:
                inputs = start
            hs.append(state)
            hs_attn.append(state @ self.attn_1)
        skip_kl = T.mean(T.stack(kls)) if kls else Tensor(0.0)
        return _Pass(chosen, log_prob, entropy, skip_kl, skips / slots if slots else 0.0)

    def _target(self) -> float:
        """skip_target kept off 0 and 1, for the KL of each skip probability from it."""
        return min(max(self.settings.skip_target, 1e-6), 1 - 1e-6)

    def sample(self, count: int, rng: np.random.Generator) -> list[Architecture]:
        with no_grad():
            run = self._run(count, None, rng)
        return [unflatten([int(x) for x in row], self.num_layers) for row in run.actions]

    def log_prob(self, arcs: list[Architecture]) -> Array:
        """log p(arc) under the current policy (for tests and diagnostics)."""
        with no_grad():
            run = self._run(len(arcs), np.array([flatten(a) for a in arcs]), None)
        return run.log_prob.data

    def train(self, arcs: list[Architecture], rewards: list[float]) -> StepStats | None:
        """settings.train_steps REINFORCE steps on one batch of (architecture, reward)."""
        if not arcs:
            return None
        s = self.settings
        actions = np.array([flatten(a) for a in arcs], dtype=np.int64)
        reward = np.asarray(rewards, dtype=float)
        if self.baseline is None:
            self.baseline = float(reward.mean())
        stats: StepStats | None = None
        for _ in range(s.train_steps):
            run = self._run(len(arcs), actions, None)
            total = reward + (s.entropy_weight or 0.0) * run.entropy
            self.baseline -= (1 - s.baseline_decay) * (self.baseline - float(total.mean()))
            loss = -T.mean(run.log_prob * (total - self.baseline))
            if s.skip_weight is not None:
                loss = loss + run.skip_kl * s.skip_weight
            optim.zero_grad(self.params)
            loss.backward()
            norm = optim.grad_norm(self.params)
            self.optimizer.step()
            self.steps += 1
            stats = StepStats(loss.item(), float(run.entropy.mean()), norm, self.baseline, run.skip_rate)
            if self.steps % s.log_every_steps == 0:
                log.info(
                    "controller step %d: loss %.4f, entropy %.4f, gradient norm %.6f, baseline %.4f, "
                    "skip rate %.4f",
                    self.steps,
                    stats.loss,
                    stats.entropy,
                    stats.grad_norm,
                    stats.baseline,
                    stats.skip_rate,
                )
        return stats
