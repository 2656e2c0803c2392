"""`multivariate-tpe`: Optuna's TPESampler modelling parameters jointly, with constant liar."""

from __future__ import annotations

from optuna.samplers import BaseSampler, TPESampler
from optuna.trial import FrozenTrial

from katib_py.api.algorithms import SettingValue
from katib_py.suggestion.algorithm import ExperimentView, table_info
from katib_py.suggestion.algorithms.tpe import tpe_kwargs
from katib_py.suggestion.optuna_engine import OptunaAlgorithm


class MultivariateTPE(OptunaAlgorithm):
    """Settings: n_startup_trials, n_ei_candidates, random_state (Katib's optuna service)."""

    name = "multivariate-tpe"
    info = table_info("multivariate-tpe")

    def make_sampler(
        self,
        settings: dict[str, SettingValue],
        experiment: ExperimentView,
        seed: int | None,
        history: list[FrozenTrial],
    ) -> BaseSampler:
        return TPESampler(seed=seed, multivariate=True, **tpe_kwargs(settings))  # type: ignore[arg-type]
