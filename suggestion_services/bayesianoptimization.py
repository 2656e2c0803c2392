"""`bayesianoptimization`: Gaussian-process Bayesian optimisation on scikit-learn, without torch.

Katib maps this name to scikit-optimize; its settings are kept: `base_estimator` (GP; RF and ET
use scikit-learn forests with the spread of the trees as uncertainty; GBRT is rejected),
`n_initial_points` (random points before the model is used, counting every trial), `acq_func`
(gp_hedge, EI, PI, LCB; EIps/PIps need a time model Katib never supplies and are rejected),
`acq_optimizer` (auto/lbfgs: random candidates then L-BFGS-B from the best few; sampling:
candidates only), `random_state`.

Model: Matern-5/2 ARD kernel times a constant plus white noise, normalised targets, inputs in the
unit cube of katib_py.suggestion.space (log scale for logUniform, normal CDF for normal and
logNormal, one-hot for categoricals). The loss is the objective, negated for maximize.

Batches use the kriging believer: each chosen point, and every live trial, is added to the model
at its predicted mean before choosing the next, so one batch spreads out.

History cap: the model sees at most HISTORY_CAP (300) trials, the BEST_KEPT (100) best and the
most recent others, so a call stays well under a few seconds at any experiment length (Katib's
scikit-optimize service passes 60 s between 500 and 1,000 trials).

gp_hedge is stateless here (restart safety): each proposal uses EI, PI or LCB, drawn uniformly.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.spatial.distance import cdist
from scipy.special import ndtr
from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

from katib_py.api.algorithms import SettingValue
from katib_py.suggestion.algorithm import (
    ExperimentView,
    Proposal,
    ProposedTrial,
    SuggestionAlgorithm,
    table_info,
)
from katib_py.suggestion.history import TrialRecord
from katib_py.suggestion.space import CHOICE, SearchSpace

HISTORY_CAP = 300
BEST_KEPT = 100
N_CANDIDATES = 10000
N_LOCAL = 100  # perturbations around each of the best observed points
N_REFINE = 5  # L-BFGS-B starts
XI = 0.01
KAPPA = 1.96
_CACHE_SIZE = 64


class Model:
    """A fitted surrogate: predict(X) -> (mean, std) of the loss."""

    def __init__(self, estimator: Any, kind: str) -> None:
        self.estimator = estimator
        self.kind = kind

        if kind == "GP":
            # Predict with the fitted factors directly: sklearn's predict() costs ~10x more per call,
            # and the acquisition optimiser calls it thousands of times.
            kernel = estimator.kernel_
            self.amplitude = float(kernel.k1.k1.constant_value)
            self.length_scale = np.asarray(kernel.k1.k2.length_scale, dtype=float)
            self.X_scaled = estimator.X_train_ / self.length_scale
            self.alpha = np.asarray(estimator.alpha_).ravel()
            self.L_inv = np.linalg.inv(estimator.L_)  # plain matmuls below: no per-call solver overhead
            self.y_mean = float(np.ravel(estimator._y_train_mean)[0])
            self.y_std = float(np.ravel(estimator._y_train_std)[0])

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of the latent loss (the white noise is not included)."""
        if self.kind == "GP":
            r = np.sqrt(5.0) * cdist(X / self.length_scale, self.X_scaled)
            k = self.amplitude * (1.0 + r + r * r / 3.0) * np.exp(-r)
            mu = k @ self.alpha * self.y_std + self.y_mean
            v = self.L_inv @ k.T
            var = np.maximum(self.amplitude - np.einsum("ij,ij->j", v, v), 1e-18)
            return mu, np.maximum(np.sqrt(var) * self.y_std, 1e-9)
        per_tree = np.stack([tree.predict(X) for tree in self.estimator.estimators_])
        return per_tree.mean(axis=0), np.maximum(per_tree.std(axis=0), 1e-9)


def acquisition(name: str, mu: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """Higher is better, for a loss to minimise.

    A vanishing term in the predicted mean breaks ties where the model is certain everywhere
    (EI and PI are then flat zero) in favour of the best predicted point.
    """
    tie_break = -1e-9 * mu / (abs(best) + 1.0)
    if name == "LCB":
        return -(mu - KAPPA * std)
    improvement = best - mu - XI
    z = improvement / std
    if name == "PI":
        return np.asarray(ndtr(z)) + tie_break
    pdf = np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
    return np.asarray(improvement * ndtr(z) + std * pdf) + tie_break


class BayesianOptimization(SuggestionAlgorithm):
    """GP (or forest) surrogate with EI/PI/LCB/hedge acquisition."""

    name = "bayesianoptimization"
    info = table_info("bayesianoptimization")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._handed_out: OrderedDict[str, dict[str, np.ndarray]] = OrderedDict()
        self._kernels: OrderedDict[str, tuple[str, Any]] = OrderedDict()  # last fitted GP kernel

    def suggest(self, experiment: ExperimentView, trials: list[TrialRecord], count: int) -> Proposal:
        settings = self.parse(experiment)
        space = experiment.space
        seed = settings.get("random_state")
        rng = np.random.default_rng(None if seed is None else [int(seed), len(trials)])
        known = {space.key(t.assignment) for t in trials}
        handed = {k: x for k, x in self._handed_out.get(experiment.name, {}).items() if k not in known}
        held = {space.key(t.assignment) for t in trials if t.live} | set(handed)
        evaluated = {space.key(t.assignment) for t in trials if not t.live}
        completed = [t for t in trials if t.completed and _encodable(space, t)]
        pending_x = [space.encode(t.assignment) for t in trials if t.live and _encodable(space, t)]
        pending_x += list(handed.values())
        n_initial = int(settings["n_initial_points"])
        random_slots = max(0, n_initial - len(trials) - len(handed))
        if len(completed) < 2:
            random_slots = count

        out: list[ProposedTrial] = []
        believer: _Believer | None = None
        for i in range(count):
            x: np.ndarray | None = None
            if i >= random_slots:
                if believer is None:
                    warm = self._kernels.get(experiment.name)
                    if warm is not None and warm[0] != space.fingerprint():
                        warm = None
                    believer = _Believer(
                        space, completed, experiment, settings, rng, None if warm is None else warm[1]
                    )
                    if believer.kind == "GP":
                        fitted = believer.model.estimator.kernel_
                        self._kernels[experiment.name] = (space.fingerprint(), fitted)
                        self._kernels.move_to_end(experiment.name)
                        while len(self._kernels) > _CACHE_SIZE:
                            self._kernels.popitem(last=False)
                    believer.add(pending_x)
                x = believer.propose(held | evaluated)
            if x is None:
                x = _random_unit(space, rng, held | evaluated)
            if x is None:
                break
            assignment = space.decode(x)
            key = space.key(assignment)
            if key in held:
                break
            x = space.encode(assignment)
            held.add(key)
            handed[key] = x
            out.append(ProposedTrial(assignment))
            if believer is not None:
                believer.add([x])
        self._handed_out[experiment.name] = handed
        self._handed_out.move_to_end(experiment.name)
        while len(self._handed_out) > _CACHE_SIZE:
            self._handed_out.popitem(last=False)
        return Proposal(out)


def _encodable(space: SearchSpace, trial: TrialRecord) -> bool:
    return all(n in trial.assignment and p.contains(trial.assignment[n]) for n, p in space.by_name().items())


def _random_unit(space: SearchSpace, rng: np.random.Generator, avoid: set[str]) -> np.ndarray | None:
    for _ in range(100):
        assignment = space.sample(rng)
        if space.key(assignment) not in avoid:
            return space.encode(assignment)
    return None


def cap_history(trials: list[TrialRecord], losses: np.ndarray) -> list[int]:
    """Indices of the trials the model sees: the BEST_KEPT best plus the most recent, HISTORY_CAP in all."""
    n = len(trials)
    if n <= HISTORY_CAP:
        return list(range(n))
    best = set(np.argsort(losses, kind="stable")[:BEST_KEPT].tolist())
    recency = sorted(range(n), key=lambda i: (trials[i].completion_time, i), reverse=True)
    keep = list(best)
    for i in recency:
        if len(keep) >= HISTORY_CAP:
            break
        if i not in best:
            keep.append(i)
    return sorted(keep)


class _Believer:
    """The surrogate for one call, extended with believed points as the batch grows."""

    def __init__(
        self,
        space: SearchSpace,
        completed: list[TrialRecord],
        experiment: ExperimentView,
        settings: dict[str, SettingValue],
        rng: np.random.Generator,
        warm_kernel: Any = None,
    ) -> None:
        self.space = space
        self.rng = rng
        self.warm_kernel = warm_kernel
        self.kind = str(settings["base_estimator"])
        self.acq = str(settings["acq_func"])
        self.refine = self.kind == "GP" and settings["acq_optimizer"] != "sampling"
        losses = np.array([experiment.to_loss(float(t.value or 0.0)) for t in completed])
        keep = cap_history(completed, losses)
        self.X = np.array([space.encode(completed[i].assignment) for i in keep])
        self.y = losses[keep]
        self.best = float(self.y.min())
        order = np.argsort(self.y)
        self.incumbents = self.X[order[:N_REFINE]]
        self.blocks = _choice_blocks(space)
        self.model = self._fit(self.X, self.y, optimise=True)

    def _fit(self, X: np.ndarray, y: np.ndarray, optimise: bool) -> Model:
        seed = int(self.rng.integers(2**31))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", UserWarning)
            if self.kind == "GP":
                if optimise:
                    dims = X.shape[1]
                    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(
                        length_scale=np.full(dims, 0.3), length_scale_bounds=(1e-2, 1e2), nu=2.5
                    ) + WhiteKernel(1e-4, (1e-9, 1e-1))
                    restarts = 2 if len(y) <= 100 else 0
                    if self.warm_kernel is not None and len(y) > 100:
                        # Start from the previous call's hyperparameters: far fewer likelihood evaluations.
                        kernel, restarts = self.warm_kernel, 0
                    gp = GaussianProcessRegressor(
                        kernel, normalize_y=True, n_restarts_optimizer=restarts, random_state=seed
                    )
                else:
                    gp = GaussianProcessRegressor(
                        self.model.estimator.kernel_, normalize_y=True, optimizer=None
                    )
                gp.fit(X, y)
                self.model = Model(gp, "GP")
                return self.model
            forest_cls = RandomForestRegressor if self.kind == "RF" else ExtraTreesRegressor
            forest = forest_cls(n_estimators=100, min_samples_leaf=3, random_state=seed)
            forest.fit(X, y)
            self.model = Model(forest, self.kind)
            return self.model

    def add(self, points: list[np.ndarray]) -> None:
        """Believe `points` score their predicted mean (kriging believer)."""
        if not points:
            return
        P = np.array(points)
        mu, _ = self.model.predict(P)
        self.X = np.vstack([self.X, P])
        self.y = np.concatenate([self.y, mu])
        self._fit(self.X, self.y, optimise=False)

    def _snap(self, C: np.ndarray) -> np.ndarray:
        for start, stop in self.blocks:
            winner = np.argmax(C[:, start:stop], axis=1)
            C[:, start:stop] = 0.0
            C[np.arange(len(C)), start + winner] = 1.0
        return C

    def _candidates(self) -> np.ndarray:
        dims = self.X.shape[1]
        local = [
            np.clip(x + self.rng.normal(0.0, 0.05, size=(N_LOCAL, dims)), 0.0, 1.0) for x in self.incumbents
        ]
        return self._snap(np.vstack([self.rng.random((N_CANDIDATES, dims)), *local]))

    def _best_for(self, acq: str, C: np.ndarray, avoid: set[str]) -> np.ndarray | None:
        mu, std = self.model.predict(C)
        scores = acquisition(acq, mu, std, self.best)
        order = np.argsort(-scores)
        starts = [C[i] for i in order[:N_REFINE]]
        found: list[tuple[float, np.ndarray]] = []
        for x0 in starts:
            x = self._refine(acq, x0) if self.refine else x0
            m, s = self.model.predict(x[None, :])
            found.append((float(acquisition(acq, m, s, self.best)[0]), x))
        found.sort(key=lambda item: -item[0])
        extra = [C[i] for i in order[N_REFINE : N_REFINE + 200]]
        for x in [x for _, x in found] + extra:
            if self.space.key(self.space.decode(x)) not in avoid:
                return x
        return None

    def _refine(self, acq: str, x0: np.ndarray) -> np.ndarray:
        dims = len(x0)
        h = 1e-4

        def value_and_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
            pts = np.vstack([x, x + h * np.eye(dims)])
            mu, std = self.model.predict(pts)
            a = -acquisition(acq, mu, std, self.best)
            return float(a[0]), (a[1:] - a[0]) / h

        result = minimize(
            value_and_grad,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, 1.0)] * dims,
            options={"maxiter": 15},
        )
        return self._snap(np.clip(result.x, 0.0, 1.0)[None, :])[0]

    def propose(self, avoid: set[str]) -> np.ndarray | None:
        C = self._candidates()
        if self.acq != "gp_hedge":
            return self._best_for(self.acq, C, avoid)
        return self._best_for(("EI", "PI", "LCB")[int(self.rng.integers(3))], C, avoid)


def _choice_blocks(space: SearchSpace) -> list[tuple[int, int]]:
    blocks = []
    i = 0
    for p in space.params:
        if p.kind == CHOICE:
            blocks.append((i, i + len(p.choices)))
            i += len(p.choices)
        else:
            i += 1
    return blocks


ALGORITHM = BayesianOptimization
