"""`nsga2`: Optuna's NSGAIISampler, a genetic algorithm for multi-objective search (katib-py).

NSGA-II (Deb et al. 2002) breeds each generation of `population_size` trials from the previous
one, ranked by non-dominated sorting and crowding distance. Settings are the sampler's own
arguments (`optuna/samplers/nsgaii/_sampler.py`): `population_size`, `mutation_prob` (default
1/number of parameters), `crossover_prob`, `swapping_prob`, and `random_state` as its seed. With a
single objective it still works, as a plain genetic algorithm.
"""

from __future__ import annotations

from optuna.samplers import BaseSampler, NSGAIISampler
from optuna.trial import FrozenTrial

from katib_py.api.algorithms import SettingValue
from katib_py.suggestion.algorithm import ExperimentView, table_info
from katib_py.suggestion.optuna_engine import OptunaAlgorithm


class NSGA2(OptunaAlgorithm):
    """NSGA-II. Settings: population_size, mutation_prob, crossover_prob, swapping_prob, random_state."""

    name = "nsga2"
    info = table_info("nsga2")

    def make_sampler(
        self,
        settings: dict[str, SettingValue],
        experiment: ExperimentView,
        seed: int | None,
        history: list[FrozenTrial],
    ) -> BaseSampler:
        mutation = settings.get("mutation_prob")
        return NSGAIISampler(
            population_size=int(settings["population_size"]),
            mutation_prob=None if mutation is None else float(mutation),
            crossover_prob=float(settings["crossover_prob"]),
            swapping_prob=float(settings["swapping_prob"]),
            seed=seed,
        )
