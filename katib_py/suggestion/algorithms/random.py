"""`random`: independent draws from each parameter's declared distribution (Optuna's RandomSampler)."""

from __future__ import annotations

from optuna.samplers import BaseSampler, RandomSampler
from optuna.trial import FrozenTrial

from katib_py.api.algorithms import SettingValue
from katib_py.suggestion.algorithm import ExperimentView, table_info
from katib_py.suggestion.optuna_engine import OptunaAlgorithm


class RandomSearch(OptunaAlgorithm):
    """Random search. Settings: random_state."""

    name = "random"
    info = table_info("random")

    def make_sampler(
        self,
        settings: dict[str, SettingValue],
        experiment: ExperimentView,
        seed: int | None,
        history: list[FrozenTrial],
    ) -> BaseSampler:
        return RandomSampler(seed=seed)
