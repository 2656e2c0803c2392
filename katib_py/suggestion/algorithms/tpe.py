"""`tpe`: Optuna's TPESampler with constant liar, configured with hyperopt's setting names.

Katib maps `tpe` to its hyperopt service, so its settings are accepted: `gamma` (fraction of the
history modelled as "good", hyperopt's rule n_good = ceil(gamma * sqrt(n)), at most 25),
`prior_weight`, `n_EI_candidates`, `random_state`. Optuna's names `n_startup_trials` and
`n_ei_candidates` (Katib's optuna service) are accepted too.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

from optuna.samplers import BaseSampler, TPESampler
from optuna.trial import FrozenTrial

from katib_py.api.algorithms import Setting, SettingValue
from katib_py.suggestion.algorithm import ExperimentView, InvalidArgument, table_info
from katib_py.suggestion.optuna_engine import OptunaAlgorithm

_BASE = table_info("tpe")
INFO = dataclasses.replace(
    _BASE,
    settings={
        **_BASE.settings,
        "n_startup_trials": Setting("n_startup_trials", "int", minimum=0),
        "n_ei_candidates": Setting("n_ei_candidates", "int", minimum=1),
    },
)


def hyperopt_gamma(fraction: float) -> Callable[[int], int]:
    """hyperopt's split of n observations into good and bad: ceil(fraction * sqrt(n)), at most 25."""

    def gamma(n: int) -> int:
        return min(math.ceil(fraction * math.sqrt(n)), 25)

    return gamma


def tpe_kwargs(settings: dict[str, SettingValue]) -> dict[str, object]:
    """TPESampler arguments shared by tpe and multivariate-tpe."""
    kwargs: dict[str, object] = {"constant_liar": True}
    if "n_EI_candidates" in settings and "n_ei_candidates" in settings:
        raise InvalidArgument("give either n_EI_candidates or n_ei_candidates, not both")
    candidates = settings.get("n_ei_candidates", settings.get("n_EI_candidates"))
    if candidates is not None:
        kwargs["n_ei_candidates"] = int(candidates)
    if "n_startup_trials" in settings:
        kwargs["n_startup_trials"] = int(settings["n_startup_trials"])
    if "prior_weight" in settings:
        kwargs["prior_weight"] = float(settings["prior_weight"])
    return kwargs


class TPE(OptunaAlgorithm):
    """Tree-structured Parzen estimator, one parameter at a time."""

    name = "tpe"
    info = INFO

    def parse(self, experiment: ExperimentView) -> dict[str, SettingValue]:
        # The shared table fills hyperopt's defaults; only settings the user gave override Optuna's.
        given = {name for name, _ in experiment.raw_settings}
        parsed = super().parse(experiment)
        settings = {k: v for k, v in parsed.items() if k in given}
        tpe_kwargs(settings)
        return settings

    def make_sampler(
        self,
        settings: dict[str, SettingValue],
        experiment: ExperimentView,
        seed: int | None,
        history: list[FrozenTrial],
    ) -> BaseSampler:
        kwargs = tpe_kwargs(settings)
        if "gamma" in settings:
            kwargs["gamma"] = hyperopt_gamma(float(settings["gamma"]))
        return TPESampler(seed=seed, **kwargs)  # type: ignore[arg-type]
