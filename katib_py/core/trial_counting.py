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

from collections.abc import Sequence
from dataclasses import dataclass, field

from katib_py.api.models import Experiment
from katib_py.core.trial_facts import TrialFacts

DEFAULT_PARALLEL_TRIAL_COUNT = 3


@dataclass(frozen=True)
class TrialCountDecision:
    """`add` new trials are wanted; `delete` names the active trials to remove."""

    add: int = 0
    delete: list[str] = field(default_factory=list)


def decide_trial_counts(exp: Experiment, trials: Sequence[TrialFacts]) -> TrialCountDecision:
    """The trials to add or delete so that active trials == min(parallel, trials still allowed).

    Trials already being deleted are neither active nor completed: they are on their way out.
    """
    spec = exp.spec
    parallel = (spec.parallel_trial_count if spec else None) or DEFAULT_PARALLEL_TRIAL_COUNT
    max_trials = spec.max_trial_count if spec else None
    live = [t for t in trials if not t.deleting]
    active = [t for t in live if t.active]
    completed = len(live) - len(active)
    if len(active) > parallel:
        return TrialCountDecision(delete=trials_to_delete(active, len(active) - parallel))
    required = parallel if max_trials is None else min(max_trials - completed, parallel)
    return TrialCountDecision(add=max(required - len(active), 0))


def trials_to_delete(active: Sequence[TrialFacts], count: int) -> list[str]:
    """`count` active trials: pending ones before running ones, newest first within each group."""
    pending = [t for t in active if not t.running]
    running = [t for t in active if t.running]
    newest_first = sorted(pending, key=lambda t: (t.created_at, t.name), reverse=True) + sorted(
        running, key=lambda t: (t.created_at, t.name), reverse=True
    )
    return [t.name for t in newest_first[:count]]


def incomplete_early_stopped(trials: Sequence[TrialFacts]) -> int:
    """Early-stopped trials whose observation is not in yet: new requests wait for them."""
    return sum(1 for t in trials if t.awaiting_observation)
