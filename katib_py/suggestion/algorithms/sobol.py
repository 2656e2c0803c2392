"""`sobol`: a scrambled Sobol low-discrepancy sequence (Optuna's QMCSampler).

Katib's goptuna service takes no settings for sobol; katib-py also accepts `random_state` (the
scrambling seed) so runs can be reproduced.
"""

from __future__ import annotations

import dataclasses

from optuna.samplers import BaseSampler, QMCSampler, RandomSampler
from optuna.trial import FrozenTrial

from katib_py.api.algorithms import Setting, SettingValue
from katib_py.suggestion.algorithm import ExperimentView, table_info
from katib_py.suggestion.optuna_engine import OptunaAlgorithm

_BASE = table_info("sobol")
INFO = dataclasses.replace(
    _BASE, settings={**_BASE.settings, "random_state": Setting("random_state", "int", minimum=0)}
)


class Sobol(OptunaAlgorithm):
    """Quasi-random search covering the space evenly; categoricals are drawn at random."""

    name = "sobol"
    info = INFO

    def make_sampler(
        self,
        settings: dict[str, SettingValue],
        experiment: ExperimentView,
        seed: int | None,
        history: list[FrozenTrial],
    ) -> BaseSampler:
        return QMCSampler(
            qmc_type="sobol",
            scramble=True,
            seed=seed,
            independent_sampler=RandomSampler(seed=seed),
            warn_independent_sampling=False,
            warn_asynchronous_seeding=False,
        )
