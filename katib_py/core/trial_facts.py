"""What the experiment and Suggestion reconcilers ask of every trial on every pass, decided once.

An experiment's reconcile reads all its trials: their state for the summary and the counts, their
objective value for the best trial. Asked trial by trial through the condition predicates, that
was most of the operator's time at a few thousand trials, and the trial rate fell as the history
grew (`python -m bench.long_bench --profile`). A trial's facts depend only on its version (and the
experiment's objective), so the operator memoises them by resourceVersion and each pass costs one
attribute read per trial.

The state is Katib's `updateTrialsSummary` classification
(`pkg/controller.v1beta1/experiment/util/status_util.go`): the first of Killed, Failed, Succeeded,
EarlyStopped, Running, MetricsUnavailable that holds, else Pending.
"""

from __future__ import annotations

from dataclasses import dataclass

from katib_py.api.models import ObjectiveSpec, Trial
from katib_py.core import trial_status as ts
from katib_py.core.conditions import TRUE
from katib_py.core.optimal_trial import Score, trial_score

PENDING = "Pending"
SUMMARY_ORDER = (ts.KILLED, ts.FAILED, ts.SUCCEEDED, ts.EARLY_STOPPED, ts.RUNNING, ts.METRICS_UNAVAILABLE)
COMPLETED = frozenset({ts.SUCCEEDED, ts.FAILED, ts.KILLED, ts.EARLY_STOPPED, ts.METRICS_UNAVAILABLE})


@dataclass(frozen=True, slots=True, eq=False)  # identity: a list of them is scanned for None
class TrialFacts:
    name: str
    created_at: str  # metadata.creationTimestamp ("" if unset)
    deleting: bool  # metadata.deletionTimestamp is set
    state: str  # the summary's state (see the module docstring)
    running: bool  # ts.is_running
    completed: bool  # ts.is_completed
    awaiting_observation: bool  # early stopped, its objective not in yet
    score: Score | None  # the objective value the best-trial choice reads

    @property
    def active(self) -> bool:
        """Pending or running: counts against parallelTrialCount."""
        return not self.completed


def facts_of(trial: Trial, objective: ObjectiveSpec | None) -> TrialFacts:
    """The trial's facts, read in one pass over its conditions."""
    conditions = (trial.status.conditions if trial.status else None) or []
    true = {c.type for c in conditions if c.status == TRUE}
    meta = trial.metadata
    return TrialFacts(
        name=(meta.name if meta else None) or "",
        created_at=(meta.creation_timestamp if meta else None) or "",
        deleting=bool(meta and meta.deletion_timestamp),
        state=next((state for state in SUMMARY_ORDER if state in true), PENDING),
        running=ts.RUNNING in true,
        completed=not COMPLETED.isdisjoint(true),
        awaiting_observation=ts.EARLY_STOPPED in true and not ts.is_observation_available(trial),
        score=trial_score(objective, trial),
    )


def objective_key(objective: ObjectiveSpec | None) -> str:
    """What a trial's facts depend on besides the trial: the memo's name for them."""
    if objective is None:
        return "facts"
    strategies = ",".join(f"{m.name}={m.value}" for m in objective.metric_strategies or [])
    return f"facts:{objective.objective_metric_name}:{strategies}"
