"""The UI's pure rules: rows, filters, sorting, paging, budget edits, admission field paths."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from katib_py.ui import rows

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def trial(name: str, state: str, acc: str | None, **params: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "creationTimestamp": f"2026-01-01T10:00:0{name[-1]}Z"},
        "spec": {"parameterAssignments": [{"name": k, "value": v} for k, v in params.items()]},
        "status": {
            "conditions": [{"type": "Created", "status": "True"}, {"type": state, "status": "True"}],
            "observation": {"metrics": [{"name": "acc", "latest": acc}]} if acc is not None else None,
        },
    }


TRIALS = [
    rows.trial_row(trial("t1", "Succeeded", "0.5", x="0.1", opt="sgd"), ["acc"]),
    rows.trial_row(trial("t2", "Succeeded", "0.9", x="0.2", opt="adam"), ["acc"]),
    rows.trial_row(trial("t3", "Running", None, x="0.3", opt="sgd"), ["acc"]),
    rows.trial_row(trial("t4", "EarlyStopped", "0.1", x="0.05", opt="adam"), ["acc"]),
]


def names(selected: list[dict[str, Any]]) -> list[str]:
    return [r["name"] for r in selected]


def test_experiment_row_counts_and_best_value() -> None:
    exp = {
        "metadata": {"name": "e", "namespace": "ns", "creationTimestamp": "2026-01-01T11:00:00Z"},
        "spec": {"objective": {"type": "maximize", "objectiveMetricName": "acc"}, "maxTrialCount": 5,
                 "algorithm": {"algorithmName": "tpe"}},
        "status": {
            "conditions": [{"type": "Created", "status": "True"}, {"type": "Running", "status": "True"}],
            "trials": 4, "trialsSucceeded": 2, "trialsRunning": 1, "trialsEarlyStopped": 1,
            "currentOptimalTrial": {
                "bestTrialName": "t2", "observation": {"metrics": [{"name": "acc", "latest": "0.9"}]},
            },
        },
    }  # fmt: skip
    row = rows.experiment_row(exp, NOW)
    assert row["status"] == "Running" and row["algorithm"] == "tpe"
    assert row["trials"]["succeeded"] == 2 and row["trials"]["earlyStopped"] == 1
    assert row["bestValue"] == 0.9 and row["bestTrial"] == "t2"
    assert row["ageSeconds"] == 3600
    assert row["budget"] == {"maxTrialCount": 5, "parallelTrialCount": None, "maxFailedTrialCount": None}


def test_a_pending_object_and_garbage_fields() -> None:
    row = rows.experiment_row({"metadata": "nonsense", "spec": [], "status": {"conditions": [7]}}, NOW)
    assert row["status"] == "Pending" and row["bestValue"] is None and row["ageSeconds"] is None


def test_filter_by_state_and_value_and_sort_with_missing_values_last() -> None:
    assert names(rows.select_trials(TRIALS, {"state": "Succeeded,EarlyStopped", "sort": "name"})) == [
        "t1", "t2", "t4",
    ]  # fmt: skip
    assert names(rows.select_trials(TRIALS, {"metric": "acc", "min": "0.2", "max": "0.95"})) == ["t1", "t2"]
    assert names(rows.select_trials(TRIALS, {"sort": "metric:acc", "order": "desc"})) == [
        "t2",
        "t1",
        "t4",
        "t3",
    ]
    assert names(rows.select_trials(TRIALS, {"sort": "metric:acc"})) == ["t4", "t1", "t2", "t3"]
    assert names(rows.select_trials(TRIALS, {"sort": "parameter:x"})) == ["t4", "t1", "t2", "t3"]
    assert names(rows.select_trials(TRIALS, {"sort": "parameter:opt", "order": "desc"}))[:2] == ["t1", "t3"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"state": "Exploded"}, "state must be among"),
        ({"min": "0.1"}, "give metric=NAME too"),
        ({"metric": "acc", "max": "nan"}, "max must be a finite number"),
        ({"sort": "__proto__"}, "sort must be name"),
        ({"order": "sideways"}, "order must be asc or desc"),
    ],
)
def test_bad_trial_queries_are_refused_with_their_reason(query: dict[str, str], message: str) -> None:
    with pytest.raises(rows.BadQuery, match=message):
        rows.select_trials(TRIALS, query)


def test_pages() -> None:
    items = [{"i": i} for i in range(250)]
    first = rows.page(items, {})
    assert len(first["items"]) == 100 and first["next"] == 100 and first["total"] == 250
    last = rows.page(items, {"offset": "200", "limit": "100"})
    assert len(last["items"]) == 50 and last["next"] is None
    for bad, message in (("0", "limit must be between 1 and 1000"), ("x", "limit must be an integer")):
        with pytest.raises(rows.BadQuery, match=message):
            rows.page(items, {"limit": bad})


def test_budget_patch() -> None:
    assert rows.budget_patch({"maxTrialCount": 9, "parallelTrialCount": 2}) == {
        "spec": {"maxTrialCount": 9, "parallelTrialCount": 2}
    }
    for body, message in (
        ([1], "must be an object"),
        ({}, "must be an object"),
        ({"maxTrialCount": 0}, "maxTrialCount must be an integer from 1"),
        ({"maxTrialCount": True}, "maxTrialCount must be an integer from 1"),
        ({"maxTrialCount": "5"}, "maxTrialCount must be an integer from 1"),
        ({"trialTemplate": {}}, "'trialTemplate' is not a budget field"),
    ):
        with pytest.raises(rows.BadQuery, match=message):
            rows.budget_patch(body)


def test_admission_causes_from_a_webhook_denial_and_from_the_api_server() -> None:
    denial = {
        "message": 'admission webhook "validator.experiment.katib.kubeflow.org" denied the request: '
        "spec.parameters[0].feasibleSpace.min: must be less than max; spec.maxTrialCount: must be > 0"
    }
    assert rows.admission_causes(denial) == [
        {"field": "spec.parameters[0].feasibleSpace.min", "message": "must be less than max"},
        {"field": "spec.maxTrialCount", "message": "must be > 0"},
    ]
    schema = {
        "message": "invalid",
        "details": {"causes": [{"field": "spec.objective", "message": "Required"}]},
    }
    assert rows.admission_causes(schema) == [{"field": "spec.objective", "message": "Required"}]
    assert rows.admission_causes({"message": "forbidden"}) == [{"field": "", "message": "forbidden"}]


def test_metric_names_and_condition_time() -> None:
    exp = {"spec": {"objective": {"objectiveMetricName": "acc", "additionalMetricNames": ["loss", "acc"],
                                  "additionalObjectives": [{"objectiveMetricName": "latency"}]}}}  # fmt: skip
    assert rows.metric_names(exp) == ["acc", "loss", "latency"]
    stopped = {
        "status": {"conditions": [{"type": "EarlyStopped", "status": "True", "lastTransitionTime": "T"}]}
    }
    assert rows.condition_time(stopped, "EarlyStopped") == "T"
    assert rows.condition_time(stopped, "Succeeded") is None


def test_metric_series_keeps_numbers_with_a_time() -> None:
    logs = [
        {"time": "2026-01-01T10:00:01.5Z", "name": "acc", "value": "0.5"},
        {"time": "2026-01-01T10:00:00Z", "name": "loss", "value": "1e-3"},
        {"time": "2026-01-01T10:00:02Z", "name": "Best-Genotype", "value": "Genotype(normal=[])"},
        {"time": "", "name": "acc", "value": "0.7"},
        {"time": "yesterday", "name": "acc", "value": "0.8"},
        {"time": "2026-01-01T10:00:03Z", "name": "acc", "value": "nan"},
    ]
    series = rows.metric_series(logs)
    assert sorted(series) == ["acc", "loss"]
    assert [v for _, v in series["acc"]] == [0.5] and series["loss"][0][1] == 0.001
    assert series["acc"][0][0] == datetime(2026, 1, 1, 10, 0, 1, 500000)  # naive UTC, as plotly.js reads


def test_metric_series_counts_steps_when_the_collector_stored_no_time() -> None:
    zero = "0001-01-01T00:00:00Z"
    logs = [{"time": zero, "name": "acc", "value": v} for v in ("0.1", "0.3", "0.2")]
    assert rows.metric_series(logs) == {"acc": [(1.0, 0.1), (2.0, 0.3), (3.0, 0.2)]}
