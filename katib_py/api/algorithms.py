"""What each algorithm katib-py serves accepts: its settings and the distributions it honours.

This is the single table that admission (katib_py.api.validation) and the algorithm services
(katib_py.suggestion) both read, so that an Experiment the webhook accepts is one the service can
run: a distribution an algorithm cannot honour is refused at admission, never ignored (README
"Differences from Katib"). Settings follow the `ValidateAlgorithmSettings` of the Katib service that
Katib's default katib-config (`manifests/v1beta1/installs/katib-standalone/katib-config.yaml`) maps
each name to: `pkg/suggestion/v1beta1/hyperopt/service.py` (random, tpe),
`pkg/suggestion/v1beta1/optuna/service.py` (grid, multivariate-tpe),
`pkg/suggestion/v1beta1/skopt/service.py` (bayesianoptimization),
`pkg/suggestion/v1beta1/goptuna/service.go` (cmaes, sobol),
`pkg/suggestion/v1beta1/hyperband/service.py`, `pkg/suggestion/v1beta1/pbt/service.py`,
`pkg/suggestion/v1beta1/nas/enas/AlgorithmSettings.py` (enas: a float must be > its minimum and <=
its maximum), `pkg/suggestion/v1beta1/nas/darts/service.py` (darts), and medianstop's
`pkg/earlystopping/v1beta1/medianstop/service.py`. The NAS algorithms search `spec.nasConfig`
instead of `spec.parameters` (`nas=True`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

SettingValue = int | float | str

UNIFORM_ONLY = frozenset({"uniform", "logUniform"})
ALL_DISTRIBUTIONS = frozenset({"uniform", "logUniform", "normal", "logNormal"})


@dataclass(frozen=True)
class Setting:
    """One algorithm setting: its type, allowed range or choices, and default (None = unset)."""

    name: str
    type: Literal["int", "float", "str"]
    default: SettingValue | None = None
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    choices: tuple[str, ...] | None = None
    none_ok: bool = False  # the text "None" is accepted (and kept as the string "None"): Katib's NAS settings

    def describe(self) -> str:
        """The constraint in words, for error messages."""
        if self.choices is not None:
            return "one of " + ", ".join(self.choices)
        kind = {"int": "an integer", "float": "a number", "str": "a string"}[self.type]
        bounds = []
        if self.minimum is not None:
            bounds.append(f"{'>' if self.exclusive_minimum else '>='} {_fmt(self.minimum)}")
        if self.maximum is not None:
            bounds.append(f"{'<' if self.exclusive_maximum else '<='} {_fmt(self.maximum)}")
        text = kind + (" " + " and ".join(bounds) if bounds else "")
        return text + (" or None" if self.none_ok else "")

    def parse(self, raw: str) -> SettingValue:
        """The typed value of `raw`; ValueError with a user-facing message if it is not allowed."""
        value: SettingValue
        if self.none_ok and raw == "None":
            return raw
        if self.choices is not None:
            if raw not in self.choices:
                raise ValueError(f"must be {self.describe()}, got {raw!r}")
            return raw
        if self.type == "str":
            if raw == "":
                raise ValueError("must not be empty")
            return raw
        try:
            value = int(raw) if self.type == "int" else float(raw)
        except ValueError:
            raise ValueError(f"must be {self.describe()}, got {raw!r}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"must be {self.describe()}, got {raw!r}")
        low_bad = self.minimum is not None and (
            value <= self.minimum if self.exclusive_minimum else value < self.minimum
        )
        high_bad = self.maximum is not None and (
            value >= self.maximum if self.exclusive_maximum else value > self.maximum
        )
        if low_bad or high_bad:
            raise ValueError(f"must be {self.describe()}, got {raw!r}")
        return value


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


SINGLE_OBJECTIVE = "it optimizes one objective (random, tpe, multivariate-tpe and nsga2 search several)"


@dataclass(frozen=True)
class AlgorithmInfo:
    """An algorithm name, its settings schema and the distributions it honours for int/double."""

    name: str
    settings: dict[str, Setting] = field(default_factory=dict)
    distributions: frozenset[str] = UNIFORM_ONLY
    early_stopping: bool = False
    nas: bool = False  # searches spec.nasConfig, not spec.parameters
    assignments: tuple[str, ...] = ()  # the assignment names a NAS algorithm gives every trial
    # an early-stopping algorithm whose rules are alternatives: the collector stops at the first met
    stop_on_any_rule: bool = False
    # why spec.warmStart is refused for this algorithm (None: warm starts are fine)
    no_warm_start: str | None = None
    # why spec.objective.additionalObjectives is refused (None: it searches several objectives);
    # refused unless an algorithm says otherwise, so a new algorithm never silently drops objectives
    no_multi_objective: str | None = SINGLE_OBJECTIVE

    def supported_distributions(self) -> list[str]:
        """Sorted in the canonical order for messages."""
        order = ["uniform", "logUniform", "normal", "logNormal"]
        return [d for d in order if d in self.distributions]


def _settings(*items: Setting) -> dict[str, Setting]:
    return {s.name: s for s in items}


_RANDOM_STATE = Setting("random_state", "int", minimum=0)


def _enas_float(name: str, default: float, maximum: float | None = None, none_ok: bool = False) -> Setting:
    """Katib's ENAS float check: value > 0 and, when bounded, value <= maximum."""
    return Setting(
        name, "float", default, minimum=0, exclusive_minimum=True, maximum=maximum, none_ok=none_ok
    )


def _darts_number(name: str, kind: Literal["int", "float"], default: float, minimum: float) -> Setting:
    return Setting(name, kind, int(default) if kind == "int" else default, minimum=minimum)


ENAS = AlgorithmInfo(
    "enas",
    _settings(
        Setting("controller_hidden_size", "int", 64, minimum=1),
        _enas_float("controller_temperature", 5.0, none_ok=True),
        _enas_float("controller_tanh_const", 2.25, none_ok=True),
        _enas_float("controller_entropy_weight", 1e-5, none_ok=True),
        _enas_float("controller_baseline_decay", 0.999, maximum=1.0),
        _enas_float("controller_learning_rate", 5e-5, maximum=1.0),
        _enas_float("controller_skip_target", 0.4, maximum=1.0),
        _enas_float("controller_skip_weight", 0.8, none_ok=True),
        Setting("controller_train_steps", "int", 50, minimum=1),
        Setting("controller_log_every_steps", "int", 10, minimum=1),
    ),
    UNIFORM_ONLY,
    nas=True,
    no_warm_start="architecture search has no spec.parameters to start from",
    assignments=("architecture", "nn_config"),
)

DARTS = AlgorithmInfo(
    "darts",
    _settings(
        _darts_number("num_epochs", "int", 50, 1),
        _darts_number("w_lr", "float", 0.025, 0),
        _darts_number("w_lr_min", "float", 0.001, 0),
        _darts_number("w_momentum", "float", 0.9, 0),
        _darts_number("w_weight_decay", "float", 3e-4, 0),
        _darts_number("w_grad_clip", "float", 5.0, 0),
        _darts_number("alpha_lr", "float", 3e-4, 0),
        _darts_number("alpha_weight_decay", "float", 1e-3, 0),
        Setting("batch_size", "int", 128, minimum=1, none_ok=True),
        _darts_number("num_workers", "int", 4, 0),
        _darts_number("init_channels", "int", 16, 1),
        _darts_number("print_step", "int", 50, 1),
        _darts_number("num_nodes", "int", 4, 1),
        _darts_number("stem_multiplier", "int", 3, 1),
    ),
    UNIFORM_ONLY,
    nas=True,
    no_warm_start="architecture search has no spec.parameters to start from",
    assignments=("algorithm-settings", "search-space", "num-layers"),
)

SUGGESTION_ALGORITHMS: dict[str, AlgorithmInfo] = {
    a.name: a
    for a in [
        AlgorithmInfo("random", _settings(_RANDOM_STATE), ALL_DISTRIBUTIONS, no_multi_objective=None),
        AlgorithmInfo(
            "tpe",
            _settings(
                Setting(
                    "gamma",
                    "float",
                    0.25,
                    minimum=0,
                    maximum=1,
                    exclusive_minimum=True,
                    exclusive_maximum=True,
                ),
                Setting("prior_weight", "float", 1.0, minimum=0, exclusive_minimum=True),
                Setting("n_EI_candidates", "int", 24, minimum=0, exclusive_minimum=True),
                # Optuna's names, which Katib's optuna service takes for tpe
                Setting("n_startup_trials", "int", 10, minimum=0),
                Setting("n_ei_candidates", "int", 24, minimum=0, exclusive_minimum=True),
                _RANDOM_STATE,
            ),
            ALL_DISTRIBUTIONS,
            no_multi_objective=None,  # Optuna's TPESampler is MOTPE with several objectives
        ),
        AlgorithmInfo(
            "multivariate-tpe",
            _settings(
                Setting("n_startup_trials", "int", 10, minimum=0),
                Setting("n_ei_candidates", "int", 24, minimum=0),
                _RANDOM_STATE,
            ),
            ALL_DISTRIBUTIONS,
            no_multi_objective=None,
        ),
        AlgorithmInfo(
            "nsga2",
            _settings(
                # Optuna's NSGAIISampler arguments and defaults (optuna/samplers/nsgaii/_sampler.py)
                Setting("population_size", "int", 50, minimum=2),
                Setting("mutation_prob", "float", minimum=0, maximum=1),
                Setting("crossover_prob", "float", 0.9, minimum=0, maximum=1),
                Setting("swapping_prob", "float", 0.5, minimum=0, maximum=1),
                _RANDOM_STATE,
            ),
            ALL_DISTRIBUTIONS,
            no_multi_objective=None,
        ),
        AlgorithmInfo(
            "cmaes",
            _settings(
                _RANDOM_STATE,
                Setting("sigma", "float", minimum=0, exclusive_minimum=True),
                Setting("restart_strategy", "str", "none", choices=("ipop", "bipop", "none", "None")),
            ),
            ALL_DISTRIBUTIONS,
        ),
        AlgorithmInfo("sobol", _settings(_RANDOM_STATE), ALL_DISTRIBUTIONS),
        AlgorithmInfo(
            "bayesianoptimization",
            _settings(
                Setting("base_estimator", "str", "GP", choices=("GP", "RF", "ET")),
                Setting("n_initial_points", "int", 10, minimum=0),
                Setting("acq_func", "str", "gp_hedge", choices=("gp_hedge", "LCB", "EI", "PI")),
                Setting("acq_optimizer", "str", "auto", choices=("auto", "sampling", "lbfgs")),
                _RANDOM_STATE,
            ),
            ALL_DISTRIBUTIONS,
        ),
        AlgorithmInfo(
            "grid",
            _settings(_RANDOM_STATE),
            UNIFORM_ONLY,
            no_warm_start="grid walks its own points in order and learns from no history",
        ),
        AlgorithmInfo(
            "hyperband",
            _settings(
                Setting("r_l", "float", required=True, minimum=0, exclusive_minimum=True),
                Setting("resource_name", "str", required=True),
                Setting("eta", "int", 3),
            ),
            UNIFORM_ONLY,
            no_warm_start="hyperband's brackets are made of its own trials and their resource budgets",
        ),
        AlgorithmInfo(
            "pbt",
            _settings(
                Setting("suggestion_trial_dir", "str", required=True),
                Setting("n_population", "int", required=True, minimum=5),
                Setting("truncation_threshold", "float", required=True, minimum=0, maximum=1),
                Setting("resample_probability", "float", minimum=0, maximum=1),
            ),
            UNIFORM_ONLY,
            no_warm_start="pbt's population is made of its own trials and their checkpoints",
        ),
        ENAS,
        DARTS,
    ]
}

EARLY_STOPPING_ALGORITHMS: dict[str, AlgorithmInfo] = {
    "medianstop": AlgorithmInfo(
        "medianstop",
        _settings(
            Setting("min_trials_required", "int", 3, minimum=0, exclusive_minimum=True),
            Setting("start_step", "int", 4, minimum=1),
        ),
        ALL_DISTRIBUTIONS,
        early_stopping=True,
    ),
    "asha": AlgorithmInfo(
        "asha",
        _settings(
            Setting("min_resource", "int", 1, minimum=1),
            Setting("reduction_factor", "int", 3, minimum=2),
            Setting("max_resource", "int", required=True, minimum=1),
        ),
        ALL_DISTRIBUTIONS,
        early_stopping=True,
        stop_on_any_rule=True,
    ),
}


def asha_rungs(settings: dict[str, SettingValue]) -> list[int]:
    """ASHA's rungs in reports of the objective: min_resource * reduction_factor^k below max_resource
    (Li et al. 2020, "A System for Massively Parallel Hyperparameter Tuning"; Ray Tune's ASHA)."""
    low, eta, high = (int(settings[k]) for k in ("min_resource", "reduction_factor", "max_resource"))
    rungs, rung = [], low
    while rung < high:
        rungs.append(rung)
        rung *= eta
    return rungs


def asha_problem(settings: dict[str, SettingValue]) -> str | None:
    """What makes parsed asha settings unusable (None: they are fine)."""
    if "max_resource" not in settings:
        return None  # reported as a missing required setting
    low, high = int(settings["min_resource"]), int(settings["max_resource"])
    if high <= low:
        return f"max_resource ({high}) must be greater than min_resource ({low})"
    return None


class SettingsError(ValueError):
    """Invalid algorithm settings; `problems` holds (setting index or None, message) pairs."""

    def __init__(self, problems: list[tuple[int | None, str]]) -> None:
        super().__init__("; ".join(m for _, m in problems))
        self.problems = problems


def parse_settings(info: AlgorithmInfo, settings: Iterable[tuple[str, str]]) -> dict[str, SettingValue]:
    """Typed settings with defaults filled in; raises SettingsError listing every problem.

    Unknown names are errors (as in every Katib service). A setting without a default and not
    given is absent from the result.
    """
    problems: list[tuple[int | None, str]] = []
    values: dict[str, SettingValue] = {}
    seen: set[str] = set()
    for i, (name, raw) in enumerate(settings):
        spec = info.settings.get(name)
        if spec is None:
            known = ", ".join(sorted(info.settings)) or "none"
            problems.append(
                (i, f"unknown setting {name!r} for algorithm {info.name} (known settings: {known})")
            )
            continue
        if name in seen:
            problems.append((i, f"setting {name!r} is given more than once"))
            continue
        seen.add(name)
        try:
            values[name] = spec.parse(raw)
        except ValueError as exc:
            problems.append((i, f"setting {name}: {exc}"))
    for spec in info.settings.values():
        if spec.name in values or spec.name in seen:
            continue
        if spec.required:
            problems.append(
                (None, f"algorithm {info.name} requires setting {spec.name!r} ({spec.describe()})")
            )
        elif spec.default is not None:
            values[spec.name] = spec.default
    if problems:
        raise SettingsError(problems)
    return values


# The most trials one experiment may run at once, and so the most assignments one GetSuggestions
# call may ask for. Katib has no bound; without one a typo (1000000000) makes a service build a
# billion assignments. A Job per trial: beyond this, split the search into experiments.
MAX_PARALLEL_TRIALS = 1000


def grid_points(low: float, high: float, step: float) -> int:
    """How many values `low, low + step, ...` stay within `high` (Katib's grid: numpy.arange to max)."""
    return math.floor((high - low) / step + 1e-9) + 1


def hyperband_min_parallel(r_l: float, eta: int) -> int:
    """Katib's hyperband needs parallelTrialCount >= ceil(eta^s_max), s_max = int(log(r_l)/log(eta))."""
    eta = eta if eta > 0 else 3
    s_max = int(math.log(r_l) / math.log(eta)) if r_l > 1 and eta > 1 else 0
    need: int = eta**s_max  # s_max >= 0: an integer
    return need
