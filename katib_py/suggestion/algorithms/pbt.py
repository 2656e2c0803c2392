"""`pbt`: population based training with per-trial checkpoint directories.

Settings (Katib's): `suggestion_trial_dir` (where the trial sees its checkpoint directory; used by
the webhook), `n_population` (>= 5), `truncation_threshold` in [0, 1], `resample_probability` in
[0, 1] (unset: numbers are perturbed by x0.8 or x1.2 and choices move one position).

The population has n_population members. Member k of generation 0 is a random configuration.
Once member k of generation g has completed, member k of generation g+1 is created: if member k
scored below the truncation_threshold quantile of the generation's completed members it exploits
a member above the 1 - truncation_threshold quantile (copies its hyperparameters and its
checkpoint), otherwise it explores (perturbs its own hyperparameters and continues from its own
checkpoint). A failed or killed member is re-run with the same assignment. Work is handed out as
members become ready, so the reply may carry fewer assignments than asked; PBT never ends by
itself (maxTrialCount bounds it).

Every trial carries the labels pbt.suggestion.katib.kubeflow.org/generation, /parent (the trial
whose checkpoint it starts from) and /member (its slot), so a restarted service rebuilds the
population from the request. Checkpoints live in <data dir>/<experiment>/<trial name>, the
directory the FromVolume PVC is mounted on (default /opt/katib/data).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections import OrderedDict

import numpy as np

from katib_py.api.algorithms import SettingValue
from katib_py.suggestion.algorithm import (
    ExperimentView,
    Proposal,
    ProposedTrial,
    SuggestionAlgorithm,
    table_info,
)
from katib_py.suggestion.algorithms.hyperband import trial_name
from katib_py.suggestion.history import TrialRecord
from katib_py.suggestion.space import CHOICE, Param, SearchSpace

LABEL_PREFIX = "pbt.suggestion.katib.kubeflow.org/"
GENERATION = LABEL_PREFIX + "generation"
PARENT = LABEL_PREFIX + "parent"
MEMBER = LABEL_PREFIX + "member"
_CACHE_SIZE = 64


@dataclasses.dataclass
class Member:
    """One trial of the population."""

    name: str
    generation: int
    slot: int
    parent: str
    assignment: dict[str, str]
    state: str  # completed | live | failed | pending
    score: float | None  # higher is better


def _members(trials: list[TrialRecord], experiment: ExperimentView) -> list[Member]:
    out = []
    for t in trials:
        try:
            generation, slot = int(t.labels[GENERATION]), int(t.labels[MEMBER])
        except (KeyError, ValueError):
            continue
        score = None if t.value is None else -experiment.to_loss(t.value)
        out.append(Member(t.name, generation, slot, t.labels.get(PARENT, ""), t.assignment, t.state, score))
    return out


class PBT(SuggestionAlgorithm):
    """Population based training (Jaderberg et al. 2017), Katib's settings and labels."""

    name = "pbt"
    info = table_info("pbt")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._handed_out: OrderedDict[str, dict[str, Member]] = OrderedDict()

    def suggest(self, experiment: ExperimentView, trials: list[TrialRecord], count: int) -> Proposal:
        settings = self.parse(experiment)
        population = int(settings["n_population"])
        rng = np.random.default_rng()
        members = _members(trials, experiment)
        seen = {m.name for m in members}
        handed = {n: m for n, m in self._handed_out.get(experiment.name, {}).items() if n not in seen}
        members += list(handed.values())
        slots: dict[tuple[int, int], list[Member]] = {}
        for m in members:
            slots.setdefault((m.generation, m.slot), []).append(m)
        top = max((m.generation for m in members), default=0)
        out: list[ProposedTrial] = []
        for generation in range(top + 2):
            for slot in range(population):
                if len(out) >= count:
                    break
                here = slots.get((generation, slot), [])
                if any(m.state != "failed" for m in here):
                    continue
                new = self._next(experiment, settings, generation, slot, here, slots, rng)
                if new is None:
                    continue
                handed[new.name] = new
                slots.setdefault((generation, slot), []).append(new)
                self._prepare_dir(experiment.name, new)
                labels = {GENERATION: str(generation), MEMBER: str(slot)}
                if new.parent:
                    labels[PARENT] = new.parent
                out.append(ProposedTrial(new.assignment, trial_name=new.name, labels=labels))
        self._handed_out[experiment.name] = handed
        self._handed_out.move_to_end(experiment.name)
        while len(self._handed_out) > _CACHE_SIZE:
            self._handed_out.popitem(last=False)
        return Proposal(out)

    def _next(
        self,
        experiment: ExperimentView,
        settings: dict[str, SettingValue],
        generation: int,
        slot: int,
        failed: list[Member],
        slots: dict[tuple[int, int], list[Member]],
        rng: np.random.Generator,
    ) -> Member | None:
        name = trial_name(experiment.name)
        if failed:  # re-run a failed member as it was
            last = failed[-1]
            return Member(name, generation, slot, last.parent, dict(last.assignment), "pending", None)
        if generation == 0:
            return Member(name, 0, slot, "", experiment.space.sample(rng), "pending", None)
        previous = [m for m in slots.get((generation - 1, slot), []) if m.state == "completed"]
        if not previous:
            return None
        me = previous[-1]
        cohort = [
            ms[-1]
            for (g, _), ms in slots.items()
            if g == generation - 1 and ms[-1].state == "completed" and ms[-1].score is not None
        ]
        threshold = float(settings["truncation_threshold"])
        scores = np.array([m.score for m in cohort], dtype=float)
        if len(cohort) >= 2 and me.score is not None:
            low, high = np.quantile(scores, (threshold, 1 - threshold))
            upper = [m for m in cohort if m.score is not None and m.score >= high and m.name != me.name]
            if me.score < low and upper:
                donor = upper[int(rng.integers(len(upper)))]
                return Member(name, generation, slot, donor.name, dict(donor.assignment), "pending", None)
        resample = settings.get("resample_probability")
        probability = None if resample is None else float(resample)
        assignment = _explore(experiment.space, me.assignment, probability, rng)
        return Member(name, generation, slot, me.name, assignment, "pending", None)

    def _prepare_dir(self, experiment: str, member: Member) -> None:
        root = os.path.join(self.options.data_dir, experiment)
        target = os.path.join(root, member.name)
        if os.path.isdir(target):
            shutil.rmtree(target)
        source = os.path.join(root, member.parent) if member.parent else ""
        if source and os.path.isdir(source):
            shutil.copytree(source, target)
        else:
            os.makedirs(target, exist_ok=True)


def _perturb(p: Param, text: str, rng: np.random.Generator) -> str:
    if p.kind == CHOICE:
        index = (p.choices.index(text) + int(rng.choice([-1, 1]))) % len(p.choices)
        return p.choices[index]
    value = p.parse(text) * float(rng.choice([0.8, 1.2]))
    return p.format(p.quantise(value))


def _explore(
    space: SearchSpace, assignment: dict[str, str], resample: float | None, rng: np.random.Generator
) -> dict[str, str]:
    fresh = space.sample(rng)
    out = {}
    for p in space.params:
        text = assignment.get(p.name)
        if text is None or not p.contains(text):
            out[p.name] = fresh[p.name]
        elif resample is None:
            out[p.name] = _perturb(p, text, rng)
        else:
            out[p.name] = fresh[p.name] if rng.random() < resample else text
    return out
