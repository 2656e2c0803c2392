"""Optuna samplers behind Katib's GetSuggestions: ask/tell on an in-memory study, restart-safe.

Per experiment the engine keeps an in-memory study (bounded LRU cache keyed by experiment name,
invalidated when the space, settings or direction change) and maps Katib trials to Optuna trials:
by trial name once seen, else by assignment text against the assignments it handed out (FIFO).
A trial it has never seen (after a restart, or from another replica) is added to the study with its
state: completed -> COMPLETE with its value, live -> RUNNING (so constant liar / pending-aware
samplers account for it), failed -> FAIL. Hence a fresh instance rebuilds an equivalent study from
the request alone.

It never returns an assignment equal to one held by a live trial or handed out and not yet seen
as a trial; for finite spaces it also avoids assignments already evaluated while unused ones exist.

Parameters map to Optuna distributions where Optuna has one (uniform int/double with step,
logUniform without step). Other cases (normal, logNormal, logUniform with a step) use the unit
coordinate of katib_py.suggestion.space as a FloatDistribution(0, 1), so every sampler honours the
declared distribution, and the value is quantised afterwards.

With katib-py's additional objectives the study has one direction per objective (the first
objective's, then each additional one's) and a trial is told its values in that order, as Optuna's
multi-objective `create_study(directions=...)` takes them; the sampler must support several
objectives (`AlgorithmInfo.no_multi_objective`).
"""

from __future__ import annotations

import abc
import itertools
import math
import warnings
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState, create_trial

from katib_py.api.algorithms import SettingValue
from katib_py.suggestion.algorithm import ExperimentView, Proposal, ProposedTrial, SuggestionAlgorithm
from katib_py.suggestion.history import COMPLETED, LIVE, TrialRecord
from katib_py.suggestion.space import CHOICE, Param, SearchSpace

optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

CACHE_SIZE = 64  # experiments whose study stays in memory
_DUPLICATE_RETRIES = 16


@dataclass(frozen=True)
class ParamCodec:
    """How one Katib parameter is represented in Optuna."""

    param: Param
    distribution: BaseDistribution
    latent: bool  # Optuna samples the unit coordinate, not the value

    def to_optuna(self, text: str) -> Any | None:
        """The Optuna value of an assignment text, or None if it is outside the distribution."""
        p = self.param
        if not p.contains(text):
            return None
        if p.kind == CHOICE:
            return text
        x = p.parse(text)
        if self.latent:
            return p.to_unit(x)
        value: Any = round(x) if isinstance(self.distribution, IntDistribution) else x
        internal = self.distribution.to_internal_repr(value)
        return value if self.distribution._contains(internal) else None

    def to_text(self, value: Any) -> str:
        p = self.param
        if p.kind == CHOICE:
            return str(value)
        if self.latent:
            return p.format(p.from_unit(float(value)))
        return p.format(p.quantise(float(value)))


def codec_for(p: Param) -> ParamCodec:
    if p.kind == CHOICE:
        return ParamCodec(p, CategoricalDistribution(p.choices), False)
    step = p.effective_step
    if p.distribution == "uniform":
        if p.is_int:
            return ParamCodec(p, IntDistribution(int(p.low), int(p.top), step=int(step or 1)), False)
        if step is None:
            return ParamCodec(p, FloatDistribution(p.low, p.high), False)
        return ParamCodec(p, FloatDistribution(p.low, p.top, step=step), False)
    if p.distribution == "logUniform":
        if p.is_int and step == 1:
            return ParamCodec(p, IntDistribution(int(p.low), int(p.high), log=True), False)
        if not p.is_int and step is None:
            return ParamCodec(p, FloatDistribution(p.low, p.high, log=True), False)
    return ParamCodec(p, FloatDistribution(0.0, 1.0), True)


@dataclass
class StudyState:
    """The cached study of one experiment and its bookkeeping."""

    fingerprint: str
    study: optuna.Study
    codecs: dict[str, ParamCodec]
    by_name: dict[str, int | None] = field(default_factory=dict)
    pending: dict[str, deque[int]] = field(default_factory=dict)  # key -> asked numbers not yet seen


class OptunaAlgorithm(SuggestionAlgorithm):
    """A suggestion algorithm whose decisions come from an Optuna sampler."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cache: OrderedDict[str, StudyState] = OrderedDict()

    @abc.abstractmethod
    def make_sampler(
        self,
        settings: dict[str, SettingValue],
        experiment: ExperimentView,
        seed: int | None,
        history: list[FrozenTrial],
    ) -> BaseSampler:
        """The sampler; `seed` is already shifted on rebuilds, `history` holds the rebuilt trials."""

    def suggest(self, experiment: ExperimentView, trials: list[TrialRecord], count: int) -> Proposal:
        settings = self.parse(experiment)
        state = self._state(experiment, settings, trials)
        self._sync(state, experiment.space, trials)
        return Proposal(self._ask(state, experiment.space, trials, count))

    def _fingerprint(self, experiment: ExperimentView, settings: dict[str, SettingValue]) -> str:
        return repr(
            (
                self.name,
                experiment.space.fingerprint(),
                sorted(settings.items()),
                experiment.maximize,
                experiment.additional_objectives,
            )
        )

    def _state(
        self, experiment: ExperimentView, settings: dict[str, SettingValue], trials: list[TrialRecord]
    ) -> StudyState:
        fingerprint = self._fingerprint(experiment, settings)
        state = self._cache.get(experiment.name)
        if state is not None and state.fingerprint == fingerprint:
            self._cache.move_to_end(experiment.name)
            return state
        codecs = {p.name: codec_for(p) for p in experiment.space.params}
        history: list[FrozenTrial] = []
        by_name: dict[str, int | None] = {}
        for trial in trials:
            frozen = _frozen(trial, codecs)
            by_name[trial.name] = None if frozen is None else len(history)
            if frozen is not None:
                history.append(frozen)
        seed_setting = settings.get("random_state")
        seed = None if seed_setting is None else int(seed_setting)
        if seed is not None and trials:
            # A rebuilt sampler must not replay the sequence it already produced before the restart.
            seed = (seed + 1_000_003 * len(trials)) % (2**31)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            warnings.simplefilter("ignore", FutureWarning)
            sampler = self.make_sampler(settings, experiment, seed, history)
            maximize = [experiment.maximize, *(m for _, m in experiment.additional_objectives)]
            study = optuna.create_study(
                sampler=sampler, directions=["maximize" if m else "minimize" for m in maximize]
            )
        if history:
            study.add_trials(history)
        state = StudyState(fingerprint, study, codecs, by_name)
        self._cache[experiment.name] = state
        self._cache.move_to_end(experiment.name)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return state

    def _sync(self, state: StudyState, space: SearchSpace, trials: list[TrialRecord]) -> None:
        """Bring the study up to date with the request's trials."""
        study = state.study
        storage_trials: list[FrozenTrial] | None = None
        for trial in trials:
            if trial.name in state.by_name:
                number = state.by_name[trial.name]
            else:
                queue = state.pending.get(space.trial_key(trial))
                if queue:
                    number = queue.popleft()
                    state.by_name[trial.name] = number
                else:
                    frozen = _frozen(trial, state.codecs)
                    if frozen is not None:
                        study.add_trial(frozen)
                        storage_trials = None
                        state.by_name[trial.name] = len(study.get_trials(deepcopy=False)) - 1
                    else:
                        state.by_name[trial.name] = None
                    continue
            if number is None or trial.state == LIVE:
                continue
            if storage_trials is None:
                storage_trials = study.get_trials(deepcopy=False)
            if storage_trials[number].state != TrialState.RUNNING:
                continue
            if trial.state == COMPLETED:
                study.tell(number, _values(trial))
            else:
                study.tell(number, state=TrialState.FAIL)

    def _ask(
        self, state: StudyState, space: SearchSpace, trials: list[TrialRecord], count: int
    ) -> list[ProposedTrial]:
        distributions = {name: codec.distribution for name, codec in state.codecs.items()}
        held = {space.trial_key(t) for t in trials if t.live}
        held.update(k for k, q in state.pending.items() if q)
        evaluated = {space.trial_key(t) for t in trials if not t.live}
        size = space.finite_size()
        out: list[ProposedTrial] = []
        for _ in range(count):
            chosen: tuple[int, dict[str, str], str] | None = None
            for attempt in range(_DUPLICATE_RETRIES):
                trial = state.study.ask(distributions)
                assignment = {n: state.codecs[n].to_text(trial.params[n]) for n in space.names}
                key = space.key(assignment)
                fresh = key not in held and (
                    size is None or key not in evaluated or len(held | evaluated) >= size
                )
                if fresh or (attempt == _DUPLICATE_RETRIES - 1 and key not in held):
                    chosen = (trial.number, assignment, key)
                    break
                state.study.tell(trial, state=TrialState.FAIL)
            if chosen is None:
                chosen = self._unused(state, space, held | evaluated, held, distributions)
            if chosen is None:
                break  # every assignment of a finite space is held by a live trial
            number, assignment, key = chosen
            state.pending.setdefault(key, deque()).append(number)
            held.add(key)
            out.append(ProposedTrial(assignment))
        return out

    def _unused(
        self,
        state: StudyState,
        space: SearchSpace,
        avoid: set[str],
        held: set[str],
        distributions: dict[str, BaseDistribution],
    ) -> tuple[int, dict[str, str], str] | None:
        """For a small finite space whose sampler keeps repeating: an unused (else unheld) assignment."""
        size = space.finite_size()
        if size is None or size > 100_000:
            return None
        grids = [p.grid() for p in space.params]
        rng = np.random.default_rng()
        fallback: dict[str, str] | None = None
        combos = list(itertools.product(*grids))
        for index in rng.permutation(len(combos)):
            assignment = dict(zip(space.names, combos[index], strict=True))
            key = space.key(assignment)
            if key not in avoid:
                return self._enqueue(state, assignment, distributions, key)
            if fallback is None and key not in held:
                fallback = assignment
        if fallback is not None:
            return self._enqueue(state, fallback, distributions, space.key(fallback))
        return None

    def _enqueue(
        self,
        state: StudyState,
        assignment: dict[str, str],
        distributions: dict[str, BaseDistribution],
        key: str,
    ) -> tuple[int, dict[str, str], str]:
        params = {n: state.codecs[n].to_optuna(v) for n, v in assignment.items()}
        state.study.enqueue_trial({n: v for n, v in params.items() if v is not None}, skip_if_exists=False)
        trial = state.study.ask(distributions)
        return trial.number, assignment, key


def _frozen(trial: TrialRecord, codecs: dict[str, ParamCodec]) -> FrozenTrial | None:
    """The Optuna trial for a Katib trial, or None if its assignment is not in today's space."""
    params: dict[str, Any] = {}
    for name, codec in codecs.items():
        text = trial.assignment.get(name)
        value = None if text is None else codec.to_optuna(text)
        if value is None:
            return None
        params[name] = value
    distributions = {n: c.distribution for n, c in codecs.items()}
    if trial.state == COMPLETED and trial.value is not None and math.isfinite(trial.value):
        return create_trial(params=params, distributions=distributions, values=_values(trial))
    state = TrialState.RUNNING if trial.state == LIVE else TrialState.FAIL
    return create_trial(params=params, distributions=distributions, state=state)


def _values(trial: TrialRecord) -> list[float]:
    """The values Optuna is told: the first objective's, then each additional objective's."""
    assert trial.value is not None
    return [trial.value, *trial.values]
