"""How many trials to start and which to delete.

Katib's `ReconcileTrials`, `createTrials` and `deleteTrials`
(`pkg/controller.v1beta1/experiment/experiment_controller.go`).

Fixes against Katib (README "Differences from Katib"): when parallelTrialCount is lowered, only
active trials are deleted (pending ones first, then the newest running ones), never completed ones,
and the decision is returned at once instead of busy-waiting for the deletions. MetricsUnavailable
trials count as completed here as they do in the experiment's condition, so an experiment never runs
more than maxTrialCount trials.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from katib_py.api.models import Experiment, Trial
from katib_py.core import trial_status as ts

DEFAULT_PARALLEL_TRIAL_COUNT = 3


@dataclass(frozen=True)
class TrialCountDecision:
    """`add` new trials are wanted; `delete` names the active trials to remove."""

    add: int = 0
    delete: list[str] = field(default_factory=list)


def _name(trial: Trial) -> str:
    return (trial.metadata.name if trial.metadata else None) or ""


def _created(trial: Trial) -> str:
    return (trial.metadata.creation_timestamp if trial.metadata else None) or ""


def _being_deleted(trial: Trial) -> bool:
    return bool(trial.metadata and trial.metadata.deletion_timestamp)


def decide_trial_counts(exp: Experiment, trials: list[Trial]) -> TrialCountDecision:
    """The trials to add or delete so that active trials == min(parallel, trials still allowed).

    Trials already being deleted are neither active nor completed: they are on their way out.
    """
    spec = exp.spec
    parallel = (spec.parallel_trial_count if spec else None) or DEFAULT_PARALLEL_TRIAL_COUNT
    max_trials = spec.max_trial_count if spec else None
    live = [t for t in trials if not _being_deleted(t)]
    active = [t for t in live if ts.is_active(t)]
    completed = len(live) - len(active)
    if len(active) > parallel:
        return TrialCountDecision(delete=trials_to_delete(active, len(active) - parallel))
    required = parallel if max_trials is None else min(max_trials - completed, parallel)
    return TrialCountDecision(add=max(required - len(active), 0))


def trials_to_delete(active: list[Trial], count: int) -> list[str]:
    """`count` active trials: pending ones before running ones, newest first within each group."""
    pending = [t for t in active if not ts.is_running(t)]
    running = [t for t in active if ts.is_running(t)]
    newest_first = sorted(pending, key=lambda t: (_created(t), _name(t)), reverse=True) + sorted(
        running, key=lambda t: (_created(t), _name(t)), reverse=True
    )
    return [_name(t) for t in newest_first[:count]]


def incomplete_early_stopped(trials: list[Trial]) -> int:
    """Early-stopped trials whose observation is not in yet: new requests wait for them."""
    return sum(1 for t in trials if ts.is_early_stopped(t) and not ts.is_observation_available(t))
