"""`hyperband`: successive halving brackets over a resource parameter (usually epochs).

Settings: `r_l` (maximum resource, > 0), `resource_name` (an int or double parameter), `eta`
(reduction factor, default 3; <= 0 means 3). With s_max = floor(log(r_l)/log(eta)), bracket s
(s_max down to 0) starts n = ceil((s_max+1) * eta^s / (s+1)) random configurations at resource
r = r_l * eta^-s; each rung i keeps the best floor(n * eta^-i) of the previous rung and runs them
at r * eta^i.

All state travels in the reply's algorithm settings, which the operator stores in
Suggestion.status.algorithmSettings and sends back (Katib's keys eta, s_max, r_l, b_l, r, n,
current_s, current_i, resource_name, evaluating_trials, plus `rung_trials` and `promoted_trials`,
the trial names of the current rung and of the configurations it promotes). Trial names are
chosen here so that a rung is known by name. A restarted service therefore resumes exactly.

Differences from Katib, on purpose: the bracket size does not depend on how many assignments
were asked; while a rung waits for its trials the reply carries fewer (possibly zero)
assignments, so parallelTrialCount needs no minimum; failed trials of a rung are dropped from
promotion instead of raising; and when the last bracket is done the reply says
`suggestion_end_reached`.
"""

from __future__ import annotations

import dataclasses
import math
import secrets
import string

import numpy as np

from katib_py.api.algorithms import Setting, SettingValue
from katib_py.suggestion.algorithm import (
    ExperimentView,
    InvalidArgument,
    Proposal,
    ProposedTrial,
    SuggestionAlgorithm,
    table_info,
)
from katib_py.suggestion.history import TrialRecord
from katib_py.suggestion.space import NUMERIC, Param, format_double

_STATE = (
    "s_max",
    "b_l",
    "r",
    "n",
    "current_s",
    "current_i",
    "evaluating_trials",
    "rung_trials",
    "promoted_trials",
)
_BASE = table_info("hyperband")
INFO = dataclasses.replace(
    _BASE,
    settings={
        **_BASE.settings,
        "eta": Setting("eta", "float", 3),
        **{name: Setting(name, "str") for name in _STATE},
    },
)
_ALNUM = string.ascii_lowercase + string.digits
_EMPTY = "-"  # an empty name list (settings values must not be empty)


def trial_name(experiment: str) -> str:
    """`<experiment>-<8 lowercase alphanumerics>`, as the operator names trials."""
    return f"{experiment}-{''.join(secrets.choice(_ALNUM) for _ in range(8))}"


@dataclasses.dataclass
class HyperbandState:
    eta: int
    r_l: float
    resource_name: str
    s_max: int
    current_s: int
    current_i: int
    rung: list[str]
    promoted: list[str]

    def bracket_size(self, s: int) -> int:
        return math.ceil((self.s_max + 1) * float(self.eta) ** s / (s + 1))

    def rung_size(self, s: int, i: int) -> int:
        return max(1, math.floor(self.bracket_size(s) * float(self.eta) ** (-i)))

    def resource(self, s: int, i: int) -> float:
        return self.r_l * float(self.eta) ** (i - s)

    def settings(self) -> dict[str, str]:
        s = self.current_s
        finished = s < 0
        return {
            "eta": str(self.eta),
            "r_l": format_double(self.r_l),
            "resource_name": self.resource_name,
            "s_max": str(self.s_max),
            "b_l": format_double((self.s_max + 1) * self.r_l),
            "r": "-1" if finished else format_double(self.resource(s, 0)),
            "n": "-1" if finished else str(self.bracket_size(s)),
            "current_s": str(s),
            "current_i": str(self.current_i),
            "evaluating_trials": str(len(self.rung)),
            "rung_trials": ",".join(self.rung) or _EMPTY,
            "promoted_trials": ",".join(self.promoted) or _EMPTY,
        }


def _eta(value: SettingValue) -> int:
    eta = float(value)
    if eta <= 0:
        return 3
    if eta < 2 or not eta.is_integer():
        raise InvalidArgument(
            f"setting eta: must be an integer >= 2 (or <= 0 for the default 3), got {value}"
        )
    return int(eta)


def s_max_for(r_l: float, eta: int) -> int:
    return max(0, math.floor(math.log(r_l) / math.log(eta) + 1e-9)) if r_l >= 1 else 0


def _names(text: SettingValue | None) -> list[str]:
    return [n for n in str(text or "").split(",") if n and n != _EMPTY]


class Hyperband(SuggestionAlgorithm):
    """Hyperband (Li et al. 2018) with its state round-tripped through the Suggestion status."""

    name = "hyperband"
    info = INFO

    def validate(self, experiment: ExperimentView) -> None:
        settings = self.parse(experiment)
        super().validate(experiment)
        self._resource_param(experiment, str(settings["resource_name"]))
        _eta(settings["eta"])

    def _resource_param(self, experiment: ExperimentView, name: str) -> Param:
        param = experiment.space.by_name().get(name)
        if param is None:
            raise InvalidArgument(f"setting resource_name: {name!r} is not a parameter of the experiment")
        if param.kind != NUMERIC:
            raise InvalidArgument(f"setting resource_name: parameter {name} must be int or double")
        return param

    def _state(self, settings: dict[str, SettingValue]) -> HyperbandState:
        eta = _eta(settings["eta"])
        r_l = float(settings["r_l"])
        s_max = s_max_for(r_l, eta)
        current_s = int(float(settings.get("current_s", s_max)))
        return HyperbandState(
            eta=eta,
            r_l=r_l,
            resource_name=str(settings["resource_name"]),
            s_max=s_max,
            current_s=min(current_s, s_max),
            current_i=max(0, int(float(settings.get("current_i", 0)))),
            rung=_names(settings.get("rung_trials")),
            promoted=_names(settings.get("promoted_trials")),
        )

    def suggest(self, experiment: ExperimentView, trials: list[TrialRecord], count: int) -> Proposal:
        settings = self.parse(experiment)
        resource = self._resource_param(experiment, str(settings["resource_name"]))
        state = self._state(settings)
        by_name = {t.name: t for t in trials}
        rng = np.random.default_rng()
        out: list[ProposedTrial] = []
        while state.current_s >= 0 and len(out) < count:
            s, i = state.current_s, state.current_i
            target = state.rung_size(s, i) if i == 0 else len(state.promoted)
            if len(state.rung) < target:
                assignment = self._config(experiment, state, by_name, rng)
                assignment[resource.name] = _resource_text(resource, state.resource(s, i))
                name = trial_name(experiment.name)
                state.rung.append(name)
                out.append(ProposedTrial(assignment, trial_name=name))
                continue
            rung = [by_name.get(n) for n in state.rung]
            if any(t is None or t.live for t in rung):
                break  # the rung is still running: promote once every trial of it has finished
            done = [t for t in rung if t is not None and t.completed]
            keep = state.rung_size(s, i + 1) if i < s else 0
            if keep and done:
                done.sort(key=lambda t: experiment.to_loss(float(t.value or 0.0)))
                state.promoted = [t.name for t in done[:keep]]
                state.current_i = i + 1
            else:
                state.current_s, state.current_i, state.promoted = s - 1, 0, []
            state.rung = []
        end = state.current_s < 0
        if end:
            state.current_s, state.current_i = -1, 0
        return Proposal(out, end_reached=end, settings=state.settings())

    def _config(
        self,
        experiment: ExperimentView,
        state: HyperbandState,
        by_name: dict[str, TrialRecord],
        rng: np.random.Generator,
    ) -> dict[str, str]:
        if state.current_i == 0:
            return experiment.space.sample(rng)
        source = by_name.get(state.promoted[len(state.rung)])
        if source is None:  # the promoted trial was deleted: replace it by a fresh configuration
            return experiment.space.sample(rng)
        return {n: source.assignment[n] for n in experiment.space.names}


def _resource_text(param: Param, value: float) -> str:
    return str(int(value)) if param.is_int else format_double(value)
