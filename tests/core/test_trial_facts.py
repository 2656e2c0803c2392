"""A trial's facts agree with the condition predicates they replace on the reconcilers' hot path."""

from __future__ import annotations

from typing import Any

import pytest

from katib_py.api.models import ObjectiveSpec, Trial
from katib_py.controller.cache import ObjectCache
from katib_py.core import trial_status as ts
from katib_py.core.optimal_trial import Score, trial_score
from katib_py.core.trial_facts import PENDING, facts_of, objective_key

from .core_factories import STATES, T1, cond, trial

# the summary's order: Katib's updateTrialsSummary
SUMMARY = [
    (ts.is_killed, ts.KILLED),
    (ts.is_failed, ts.FAILED),
    (ts.is_succeeded, ts.SUCCEEDED),
    (ts.is_early_stopped, ts.EARLY_STOPPED),
    (ts.is_running, ts.RUNNING),
    (ts.is_metrics_unavailable, ts.METRICS_UNAVAILABLE),
]


def with_status(t: Trial, **status: Any) -> Trial:
    body = t.dump()
    body["status"] = {**(body.get("status") or {}), **status}
    return Trial.load(body)


def by_predicates(t: Trial) -> str:
    return next((state for predicate, state in SUMMARY if predicate(t)), PENDING)


ODD = {  # condition lists no controller writes, which the facts must still read as the predicates do
    "running-and-unavailable": [cond("Created"), cond("Running"), cond("MetricsUnavailable")],
    "succeeded-and-failed": [cond("Created"), cond("Succeeded"), cond("Failed")],
    "all-false": [cond("Created", "False"), cond("Running", "False"), cond("Succeeded", "False")],
    "none": [],
}


@pytest.mark.parametrize("state", [*STATES, *ODD])
@pytest.mark.parametrize("loss", [None, "0.25"])
def test_facts_agree_with_the_predicates(state: str, loss: str | None) -> None:
    t = with_status(trial("t", "pending", loss=loss, created=T1), conditions={**STATES, **ODD}[state])
    f = facts_of(t, t.spec.objective if t.spec else None)
    assert f.state == by_predicates(t)
    assert f.running == ts.is_running(t)
    assert f.completed == ts.is_completed(t) and f.active == ts.is_active(t)
    assert f.awaiting_observation == (ts.is_early_stopped(t) and not ts.is_observation_available(t))
    assert (f.name, f.created_at, f.deleting) == ("t", T1, False)
    assert f.score == (Score(0.25) if loss else None)


def test_a_deleting_trial_says_so() -> None:
    assert facts_of(trial("t", "running", deleting=True), None).deleting


@pytest.mark.parametrize(
    ("latest", "score"),
    [("0.5", Score(0.5)), ("nan", None), ("inf", None), ("unavailable", None), ("high", Score(None))],
)
def test_the_score_is_what_the_best_trial_choice_reads(latest: str, score: Score | None) -> None:
    observation = {"metrics": [{"name": "loss", "min": "0.1", "max": "0.9", "latest": latest}]}
    t = with_status(trial("t", "succeeded", strategy="latest"), observation=observation)
    objective = t.spec.objective if t.spec else None
    assert facts_of(t, objective).score == score == trial_score(objective, t)


def test_the_cache_reads_facts_once_per_version_and_objective() -> None:
    cache = ObjectCache()
    body = trial("t", "running").dump()
    body["metadata"].update(resourceVersion="1", labels={"katib.kubeflow.org/experiment": "exp"})
    cache.observe("trials", body)
    minimize = ObjectiveSpec.load({"type": "minimize", "objectiveMetricName": "loss"})
    by_max = ObjectiveSpec.load(
        {
            "type": "minimize",
            "objectiveMetricName": "loss",
            "metricStrategies": [{"name": "loss", "value": "max"}],
        }
    )
    assert objective_key(minimize) != objective_key(by_max)
    (first,) = cache.trial_facts("default", "exp", minimize)
    assert cache.trial_facts("default", "exp", minimize)[0] is first  # memoised
    assert first.state == ts.RUNNING
    done = trial("t", "succeeded", loss="0.3").dump()
    done["metadata"].update(resourceVersion="2", labels={"katib.kubeflow.org/experiment": "exp"})
    cache.observe("trials", done)
    (second,) = cache.trial_facts("default", "exp", minimize)
    assert second.state == ts.SUCCEEDED and second.score == Score(0.3)
    models = cache.trial_models(cache.trials_of("default", "exp"))
    assert len(models) == 1 and models[0].metadata is not None and models[0].metadata.name == "t"
