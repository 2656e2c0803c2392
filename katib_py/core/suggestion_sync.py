"""Assignments between a Suggestion and its Experiment's trials, with a bounded Suggestion object.

Katib's side of this is `SyncAssignments`
(`pkg/controller.v1beta1/suggestion/suggestionclient/suggestionclient.go`) and the experiment's
`ReconcileSuggestions` and `deleteTrials`
(`pkg/controller.v1beta1/experiment/experiment_controller.go`). Katib keeps every assignment ever
made in `Suggestion.status.suggestions`; an experiment of about 14,500 trials then overflows etcd's
1.5 MiB object limit. katib-py keeps there only the assignments whose trials are not created yet or
still active: once a trial has completed, its assignment is pruned (the Trial object holds its
parameters). `status.suggestionCount` stays the cumulative number of assignments ever made and
`spec.requests` stays cumulative, as in Katib.

Invariant: an assignment stays in `status.suggestions` until its trial is seen completed (or the
experiment deletes that trial on purpose when parallelism is lowered). So a trial that is lost or
deleted by hand while it is active is recreated with the same name and parameters; a completed
trial deleted by hand is not run again.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

from katib_py.api.models import (
    AlgorithmSetting,
    EarlyStoppingRule,
    Experiment,
    ParameterAssignment,
    Suggestion,
    SuggestionStatus,
    Trial,
    TrialAssignment,
)
from katib_py.core import trial_status as ts
from katib_py.core.trial_facts import TrialFacts
from katib_py.kube.meta import random_suffix

SUGGESTION_END_REACHED = "suggestion_end_reached"
WARM_START_LABEL = "katib-py.kubeflow.org/warm-start"


def _status(suggestion: Suggestion) -> SuggestionStatus:
    return suggestion.status.model_copy(deep=True) if suggestion.status else SuggestionStatus()


def assignments(suggestion: Suggestion | None) -> list[TrialAssignment]:
    return list((suggestion.status.suggestions if suggestion and suggestion.status else None) or [])


def suggestion_count(suggestion: Suggestion | None) -> int:
    return (suggestion.status.suggestion_count if suggestion and suggestion.status else None) or 0


def current_requests(suggestion: Suggestion | None) -> int:
    return (suggestion.spec.requests if suggestion and suggestion.spec else None) or 0


def uncreated_assignments(suggestion: Suggestion | None, trial_names: set[str]) -> list[TrialAssignment]:
    """Assignments with no Trial: new ones, or ones whose active trial was lost or deleted by hand."""
    return [a for a in assignments(suggestion) if a.name not in trial_names]


def wanted_requests(
    suggestion: Suggestion | None, trial_names: set[str], add: int, incomplete_early_stopped: int
) -> int:
    """The cumulative `spec.requests` the experiment should ask for now.

    Assignments already made but not yet turned into trials cover part of `add`; early-stopped
    trials whose metrics are not in yet hold back new requests (Katib's rule). Never below what
    the suggestion has already assigned. Idempotent: the same state gives the same number.
    """
    pending = len(uncreated_assignments(suggestion, trial_names))
    new = max(0, add - pending - incomplete_early_stopped)
    return suggestion_count(suggestion) + new


def assignments_to_create(
    suggestion: Suggestion | None, trial_names: set[str], add: int
) -> list[TrialAssignment]:
    """The uncreated assignments to turn into trials now, oldest first, at most `add`."""
    return uncreated_assignments(suggestion, trial_names)[: max(add, 0)]


def is_end_reached(settings: list[AlgorithmSetting] | None) -> bool:
    """The algorithm said it has nothing more to suggest, ever (katib-py's contract with services)."""
    return any(s.name == SUGGESTION_END_REACHED and (s.value or "").lower() == "true" for s in settings or [])


def suggestion_end_reached(suggestion: Suggestion | None, trial_names: set[str]) -> bool:
    """The algorithm is exhausted and every assignment it made has a trial."""
    settings = suggestion.status.algorithm_settings if suggestion and suggestion.status else None
    return is_end_reached(settings) and not uncreated_assignments(suggestion, trial_names)


def new_trial_name(suggestion_name: str, rng: random.Random, taken: set[str]) -> str:
    """`<suggestion>-<rand.String(8)>`, unique among `taken` (Katib: utilrand.String(8))."""
    while True:
        name = f"{suggestion_name}-{random_suffix(8, rng)}"
        if name not in taken:
            return name


@dataclass(frozen=True)
class ReplyAssignment:
    """One assignment of a GetSuggestions reply, as plain values."""

    parameters: list[tuple[str, str]]
    trial_name: str = ""
    labels: dict[str, str] | None = None


def append_assignments(
    suggestion: Suggestion,
    replies: list[ReplyAssignment],
    *,
    rules: list[EarlyStoppingRule] | None,
    reply_settings: list[AlgorithmSetting] | None,
    rng: random.Random,
    taken_names: set[str],
) -> SuggestionStatus:
    """The status after a GetSuggestions reply: new assignments appended, count and settings updated."""
    status = _status(suggestion)
    current = list(status.suggestions or [])
    taken = set(taken_names) | {a.name or "" for a in current}
    for reply in replies:
        name = reply.trial_name or new_trial_name(
            (suggestion.metadata.name if suggestion.metadata else "") or "", rng, taken
        )
        taken.add(name)
        params = [ParameterAssignment(name=n, value=v) for n, v in reply.parameters]
        assignment = TrialAssignment(name=name, parameter_assignments=params)
        if rules:
            assignment.early_stopping_rules = [r.model_copy() for r in rules]
        if reply.labels:
            assignment.labels = dict(reply.labels)
        current.append(assignment)
    status.suggestions = current
    status.suggestion_count = (status.suggestion_count or 0) + len(replies)
    if reply_settings:
        status.algorithm_settings = merge_settings(status.algorithm_settings, reply_settings)
    return status


def merge_settings(
    current: list[AlgorithmSetting] | None, updates: list[AlgorithmSetting]
) -> list[AlgorithmSetting]:
    """Settings returned by the algorithm override same-named ones and extend the rest."""
    merged = [s.model_copy() for s in current or []]
    index = {s.name: i for i, s in enumerate(merged)}
    for s in updates:
        if s.name in index:
            merged[index[s.name]] = s.model_copy()
        else:
            index[s.name] = len(merged)
            merged.append(s.model_copy())
    return merged


def prune_completed(suggestion: Suggestion, trials: Iterable[TrialFacts]) -> SuggestionStatus | None:
    """The status without the assignments whose trials have completed; None if nothing to prune."""
    completed = {t.name for t in trials if t.completed}
    current = assignments(suggestion)
    kept = [a for a in current if a.name not in completed]
    if len(kept) == len(current):
        return None
    status = _status(suggestion)
    status.suggestions = kept
    return status


def remove_assignments(suggestion: Suggestion, names: set[str]) -> SuggestionStatus | None:
    """The status without the named assignments (trials the experiment deletes on purpose)."""
    current = assignments(suggestion)
    kept = [a for a in current if a.name not in names]
    if len(kept) == len(current):
        return None
    status = _status(suggestion)
    status.suggestions = kept
    return status


# ---------------------------------------------------------------- katib-py's spec.warmStart


def warm_start_replies(exp: Experiment, suggestion: Suggestion | None, wanted: int) -> list[ReplyAssignment]:
    """The warm-start points still to hand out, at most `wanted`, before the algorithm is asked.

    An experiment's first assignments are its points in order, so `status.suggestionCount` says how
    many were handed out already (also across restarts of the operator). Each is labelled so that
    its trial shows where it came from.
    """
    warm = exp.spec.warm_start if exp.spec else None
    points = (warm.points if warm else None) or []
    start = suggestion_count(suggestion)
    names = [p.name or "" for p in (exp.spec.parameters if exp.spec else None) or []]
    return [
        ReplyAssignment([(n, point[n]) for n in names if n in point], labels={WARM_START_LABEL: "point"})
        for point in points[start : start + max(wanted, 0)]
    ]


def seed_experiments(exp: Experiment) -> list[str]:
    """The experiments whose trials seed the algorithm's history (spec.warmStart.experiments)."""
    warm = exp.spec.warm_start if exp.spec else None
    own = exp.metadata.name if exp.metadata else None
    return [n for n in dict.fromkeys((warm.experiments if warm else None) or []) if n != own]


def is_seed(trial: Trial) -> bool:
    """A trial of a seeding experiment that teaches the algorithm something: it ended with its
    objective observed (succeeded, or stopped early with metrics)."""
    return (ts.is_succeeded(trial) or ts.is_early_stopped(trial)) and ts.is_observation_available(trial)
