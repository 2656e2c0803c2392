"""The algorithm interface every suggestion and early-stopping service implements, and the registry.

Modelled on Optuna's BaseSampler: an algorithm is a small object with a validation hook and one
decision method, and the framework (katib_py.suggestion.servicer) does all the gRPC, conversion
and error mapping. Unlike a sampler it receives the whole trial history on every call (Katib's
wire contract) and must be correct when it has never seen the experiment before (restart).

This module is the surface a plug-in algorithm is written against (see docs/custom-algorithms.md):
subclass SuggestionAlgorithm (or EarlyStoppingAlgorithm), give it a `name` and an `info`
(AlgorithmInfo: its Settings and the distributions it honours), and register it in the
`katib_py.algorithms` entry-point group (katib_py.suggestion.registry).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from katib_py.api import models
from katib_py.api.algorithms import (
    ALL_DISTRIBUTIONS,
    EARLY_STOPPING_ALGORITHMS,
    SUGGESTION_ALGORITHMS,
    UNIFORM_ONLY,
    AlgorithmInfo,
    Setting,
    SettingsError,
    SettingValue,
    parse_settings,
)
from katib_py.proto import api_pb2
from katib_py.suggestion.history import TrialRecord
from katib_py.suggestion.nas import nas_config_model, nas_problems
from katib_py.suggestion.space import SearchSpace, SpaceError

__all__ = [
    "ALL_DISTRIBUTIONS",
    "END_REACHED_SETTING",
    "UNIFORM_ONLY",
    "AlgorithmInfo",
    "EarlyStoppingAlgorithm",
    "ExperimentView",
    "InvalidArgument",
    "Proposal",
    "ProposedTrial",
    "ServiceOptions",
    "Setting",
    "SettingValue",
    "SuggestionAlgorithm",
    "TrialRecord",
    "table_info",
]

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
    nas_config: models.NasConfig | None = None  # spec.nasConfig; `space` is then empty
    # katib-py's additional objectives after the first one: (metric name, maximize)
    additional_objectives: tuple[tuple[str, bool], ...] = ()

    @classmethod
    def from_proto(cls, experiment: api_pb2.Experiment) -> ExperimentView:
        spec = experiment.spec
        nas = nas_config_model(spec.nas_config) if spec.HasField("nas_config") else None
        try:
            if nas is not None and not spec.parameter_specs.parameters:
                space = SearchSpace(())
            else:
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
            nas_config=nas,
            additional_objectives=tuple(
                (o.objective_metric_name, o.type == api_pb2.MAXIMIZE)
                for o in spec.objective.additional_objectives
            ),
        )

    @property
    def extra_metrics(self) -> tuple[str, ...]:
        """The additional objectives' metric names, in order."""
        return tuple(name for name, _ in self.additional_objectives)

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
        """Raise InvalidArgument if the experiment cannot be served. Override to check more.

        A NAS algorithm (`info.nas`) needs spec.nasConfig, checked as admission does; any other
        needs spec.parameters with the distributions it honours.
        """
        self.parse(experiment)
        if experiment.additional_objectives and self.info.no_multi_objective is not None:
            raise InvalidArgument(
                f"algorithm {self.name} cannot search additional objectives: {self.info.no_multi_objective}"
            )
        if self.info.nas:
            if experiment.nas_config is None:
                raise InvalidArgument(
                    f"algorithm {self.name} searches architectures: it needs spec.nasConfig"
                )
            problems = nas_problems(experiment.nas_config, self.info)
            if problems:
                raise InvalidArgument("; ".join(problems))
            return
        if not experiment.space.params:
            raise InvalidArgument(f"algorithm {self.name} needs spec.parameters (the experiment has none)")
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

    def validate(self, settings: list[tuple[str, str]]) -> None:
        """Raise InvalidArgument if the settings cannot be served (ValidateEarlyStoppingSettings)."""
        self.parse(settings)

    @abc.abstractmethod
    def rules(
        self, experiment: api_pb2.Experiment, trials: list[api_pb2.Trial], db_manager_address: str
    ) -> list[api_pb2.EarlyStoppingRule]:
        """The rules to attach to new trials."""

    @abc.abstractmethod
    def set_trial_status(self, trial_name: str) -> None:
        """Mark the trial EarlyStopped."""


def table_info(name: str) -> AlgorithmInfo:
    """The settings-table entry of a built-in algorithm (katib_py.api.algorithms, read by admission too).

    A plug-in algorithm has no entry there: it declares its own `info`, and admission leaves its
    settings to the service's ValidateAlgorithmSettings (the `validate` hook).
    """
    return SUGGESTION_ALGORITHMS.get(name) or EARLY_STOPPING_ALGORITHMS[name]
