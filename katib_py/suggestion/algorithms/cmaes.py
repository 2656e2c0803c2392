"""`cmaes`: Optuna's CmaEsSampler (the `cmaes` package) over the int/double parameters.

Settings (Katib's goptuna/optuna services): `random_state`, `sigma` (initial step size, in the
normalised space Optuna uses), `restart_strategy` in ipop, bipop, none/None. Optuna 4.4+ dropped
built-in restarts: ipop/bipop are accepted for compatibility and run without restarts.
After a restart of the service, the sampler is warm-started from the completed trials
(Optuna's `source_trials`) unless `sigma` is set, so the search continues from what was learnt.
Categorical and discrete parameters are drawn at random.
"""

from __future__ import annotations

import dataclasses

from optuna.samplers import BaseSampler, CmaEsSampler, RandomSampler
from optuna.trial import FrozenTrial, TrialState

from katib_py.api.algorithms import Setting, SettingValue
from katib_py.suggestion.algorithm import ExperimentView, InvalidArgument, table_info
from katib_py.suggestion.optuna_engine import OptunaAlgorithm
from katib_py.suggestion.space import NUMERIC

_BASE = table_info("cmaes")
INFO = dataclasses.replace(
    _BASE,
    settings={
        **_BASE.settings,
        "restart_strategy": Setting(
            "restart_strategy", "str", "none", choices=("ipop", "bipop", "none", "None")
        ),
    },
)


class CmaEs(OptunaAlgorithm):
    """Covariance matrix adaptation evolution strategy."""

    name = "cmaes"
    info = INFO

    def validate(self, experiment: ExperimentView) -> None:
        super().validate(experiment)
        numeric = [p for p in experiment.space.params if p.kind == NUMERIC]
        if len(numeric) < 2:
            raise InvalidArgument(
                f"algorithm cmaes needs at least 2 int or double parameters, got {len(numeric)}"
            )

    def make_sampler(
        self,
        settings: dict[str, SettingValue],
        experiment: ExperimentView,
        seed: int | None,
        history: list[FrozenTrial],
    ) -> BaseSampler:
        completed = [t for t in history if t.state == TrialState.COMPLETE]
        sigma = settings.get("sigma")
        kwargs: dict[str, object] = {}
        if sigma is not None:
            kwargs["sigma0"] = float(sigma)
        elif len(completed) >= 10:  # the warm start takes the best 10% of them
            kwargs["source_trials"] = completed
        return CmaEsSampler(
            seed=seed,
            n_startup_trials=0,
            independent_sampler=RandomSampler(seed=seed),
            warn_independent_sampling=False,
            **kwargs,  # type: ignore[arg-type]
        )
