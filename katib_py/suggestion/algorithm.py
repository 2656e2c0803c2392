"""The algorithm interface every suggestion and early-stopping service implements, and the registry.

Modelled on Optuna's BaseSampler: an algorithm is a small object with a validation hook and one
decision method, and the framework (katib_py.suggestion.servicer) does all the gRPC, conversion
and error mapping. Unlike a sampler it receives the whole trial history on every call (Katib's
wire contract) and must be correct when it has never seen the experiment before (restart).
"""

from __future__ import annotations

import abc
import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from katib_py.api.algorithms import (
    EARLY_STOPPING_ALGORITHMS,
    SUGGESTION_ALGORITHMS,
    AlgorithmInfo,
    SettingsError,
    SettingValue,
    parse_settings,
)
from katib_py.proto import api_pb2
from katib_py.suggestion.history import TrialRecord
from katib_py.suggestion.space import SearchSpace, SpaceError

END_REACHED_SETTING = "suggestion_end_reached"


class InvalidArgument(ValueError):
    """A request the algorithm cannot serve as given: answered with INVALID_ARGUMENT and this text."""


@dataclass(frozen=True)
class ServiceOptions:
    """Process-wide options of a service (from the command line)."""

    data_dir: str = "/opt/katib/data"


@dataclass(frozen=True)
class ExperimentView:
    """What an algorithm needs of an Experiment message, validated."""

    name: str
    space: SearchSpace
    metric: str
    maximize: bool
    raw_settings: tuple[tuple[str, str], ...]
    parallel_trial_count: int
    max_trial_count: int

    @classmethod
    def from_proto(cls, experiment: api_pb2.Experiment) -> ExperimentView:
        spec = experiment.spec
        try:
            space = SearchSpace.from_proto(spec.parameter_specs.parameters)
        except SpaceError as exc:
            raise InvalidArgument(str(exc)) from None
        if not spec.objective.objective_metric_name:
            raise InvalidArgument("objective.objectiveMetricName is not set")
        settings = tuple(
            (s.name, s.value) for s in spec.algorithm.algorithm_settings if s.name != END_REACHED_SETTING
        )
        return cls(
            name=experiment.name,
            space=space,
            metric=spec.objective.objective_metric_name,
            maximize=spec.objective.type == api_pb2.MAXIMIZE,
            raw_settings=settings,
            parallel_trial_count=spec.parallel_trial_count,
            max_trial_count=spec.max_trial_count,
        )

    def to_loss(self, value: float) -> float:
        """The value as a quantity to minimise."""
        return -value if self.maximize else value


@dataclass
class ProposedTrial:
    """One assignment to hand back, with the optional trial name and labels."""

    assignment: dict[str, str]
    trial_name: str = ""
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class Proposal:
    """The answer to a GetSuggestions call.

    `trials` may be fewer than asked: with `end_reached` the algorithm is finished for good,
    without it the algorithm is waiting (e.g. a rung barrier) and will give more later.
    `settings` is merged by the operator into Suggestion.status.algorithmSettings.
    """

    trials: list[ProposedTrial]
    end_reached: bool = False
    settings: dict[str, str] | None = None


class SuggestionAlgorithm(abc.ABC):
    """A hyperparameter suggestion algorithm."""

    name: ClassVar[str]
    info: ClassVar[AlgorithmInfo]

    def __init__(self, options: ServiceOptions | None = None) -> None:
        self.options = options or ServiceOptions()

    def parse(self, experiment: ExperimentView) -> dict[str, SettingValue]:
        """Typed settings, checked against the schema (unknown names are errors)."""
        try:
            return parse_settings(self.info, experiment.raw_settings)
        except SettingsError as exc:
            raise InvalidArgument(str(exc)) from None

    def validate(self, experiment: ExperimentView) -> None:
        """Raise InvalidArgument if the experiment cannot be served. Override to check more."""
        self.parse(experiment)
        try:
            experiment.space.require_distributions(self.info.distributions, self.name)
        except SpaceError as exc:
            raise InvalidArgument(str(exc)) from None

    @abc.abstractmethod
    def suggest(self, experiment: ExperimentView, trials: list[TrialRecord], count: int) -> Proposal:
        """Up to `count` new assignments, given every trial of the experiment."""


class EarlyStoppingAlgorithm(abc.ABC):
    """An early-stopping algorithm: rules for new trials, and marking a trial early-stopped."""

    name: ClassVar[str]
    info: ClassVar[AlgorithmInfo]

    def __init__(self, options: ServiceOptions | None = None) -> None:
        self.options = options or ServiceOptions()

    def parse(self, settings: Mapping[str, str] | list[tuple[str, str]]) -> dict[str, SettingValue]:
        items = list(settings.items()) if isinstance(settings, Mapping) else settings
        try:
            return parse_settings(self.info, items)
        except SettingsError as exc:
            raise InvalidArgument(str(exc)) from None

    @abc.abstractmethod
    def rules(
        self, experiment: api_pb2.Experiment, trials: list[api_pb2.Trial], db_manager_address: str
    ) -> list[api_pb2.EarlyStoppingRule]:
        """The rules to attach to new trials."""

    @abc.abstractmethod
    def set_trial_status(self, trial_name: str) -> None:
        """Mark the trial EarlyStopped."""


# algorithmName -> module under katib_py.suggestion.algorithms that defines ALGORITHM
SUGGESTION_MODULES: dict[str, str] = {
    "random": "random",
    "grid": "grid",
    "tpe": "tpe",
    "multivariate-tpe": "multivariate_tpe",
    "cmaes": "cmaes",
    "sobol": "sobol",
    "bayesianoptimization": "bayesianoptimization",
    "hyperband": "hyperband",
    "pbt": "pbt",
}
EARLY_STOPPING_MODULES: dict[str, str] = {"medianstop": "medianstop"}


def is_early_stopping(name: str) -> bool:
    return name in EARLY_STOPPING_MODULES


def known_algorithms() -> list[str]:
    return sorted([*SUGGESTION_MODULES, *EARLY_STOPPING_MODULES])


def load_algorithm_class(name: str) -> type[Any]:
    """The class serving `name` (imported lazily: each service pays only for its own library)."""
    module = SUGGESTION_MODULES.get(name) or EARLY_STOPPING_MODULES.get(name)
    if module is None:
        raise KeyError(f"unknown algorithm {name!r} (known: {', '.join(known_algorithms())})")
    cls: type[Any] = importlib.import_module(f"katib_py.suggestion.algorithms.{module}").ALGORITHM
    return cls


def table_info(name: str) -> AlgorithmInfo:
    """The shared settings table entry for `name`."""
    return SUGGESTION_ALGORITHMS.get(name) or EARLY_STOPPING_ALGORITHMS[name]
