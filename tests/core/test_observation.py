"""Metric reduction (Katib's getMetrics) and reading the objective value back."""

from __future__ import annotations

from katib_py.api.models import Metric, MetricStrategy, ObjectiveSpec, Observation
from katib_py.core.observation import (
    MetricLog,
    is_observation_available,
    objective_value,
    parse_metric_value,
    reduce_metric_logs,
)

STRATEGIES = [
    MetricStrategy(name="loss", value="min"),
    MetricStrategy(name="accuracy", value="max"),
    MetricStrategy(name="tag", value="latest"),
]


def t(second: int, nanos: str = "") -> str:
    return f"2024-05-01T10:00:{second:02d}{'.' + nanos if nanos else ''}Z"


def metrics_by_name(obs: Observation) -> dict[str, tuple[str | None, str | None, str | None]]:
    return {m.name or "": (m.min, m.max, m.latest) for m in obs.metrics or []}


def test_min_max_latest_per_strategy_in_strategy_order() -> None:
    logs = [
        MetricLog(t(1), "loss", "0.9"),
        MetricLog(t(1), "accuracy", "0.5"),
        MetricLog(t(2), "loss", "0.4"),
        MetricLog(t(2), "accuracy", "0.75"),
        MetricLog(t(3), "loss", "0.6"),
        MetricLog(t(3), "accuracy", "0.7"),
        MetricLog(t(3), "ignored", "1"),
    ]
    obs = reduce_metric_logs(logs, STRATEGIES)
    assert [m.name for m in obs.metrics or []] == ["loss", "accuracy", "tag"]
    assert metrics_by_name(obs) == {
        "loss": ("0.4", "0.9", "0.6"),
        "accuracy": ("0.5", "0.75", "0.7"),
        "tag": ("unavailable", "unavailable", "unavailable"),
    }


def test_values_keep_their_reported_text() -> None:
    logs = [
        MetricLog(t(1), "loss", "1e-3"),
        MetricLog(t(2), "loss", "+.5"),
        MetricLog(t(3), "loss", "-7.53e-05"),
    ]
    assert metrics_by_name(reduce_metric_logs(logs, STRATEGIES[:1]))["loss"] == (
        "-7.53e-05",
        "+.5",
        "-7.53e-05",
    )


def test_latest_is_newest_timestamp_not_last_row_and_ties_go_to_later_row() -> None:
    logs = [
        MetricLog(t(5), "loss", "0.1"),
        MetricLog(t(2), "loss", "0.2"),
        MetricLog(t(5), "loss", "0.3"),
        MetricLog("2024-05-01T12:00:04+02:00", "loss", "0.4"),  # 10:00:04Z, older than t(5)
    ]
    assert metrics_by_name(reduce_metric_logs(logs, STRATEGIES[:1]))["loss"][2] == "0.3"


def test_nanosecond_ordering() -> None:
    logs = [MetricLog(t(1, "000000002"), "loss", "a"), MetricLog(t(1, "000000001"), "loss", "b")]
    assert metrics_by_name(reduce_metric_logs(logs, STRATEGIES[:1]))["loss"][2] == "a"


def test_ties_keep_first_min_and_max() -> None:
    logs = [MetricLog(t(1), "loss", "0.5"), MetricLog(t(2), "loss", "0.50"), MetricLog(t(3), "loss", "5e-1")]
    assert metrics_by_name(reduce_metric_logs(logs, STRATEGIES[:1]))["loss"] == ("0.5", "0.5", "5e-1")


def test_nan_and_inf_reported_in_latest_but_never_best() -> None:
    logs = [
        MetricLog(t(1), "loss", "0.3"),
        MetricLog(t(2), "loss", "-inf"),
        MetricLog(t(3), "loss", "inf"),
        MetricLog(t(4), "loss", "nan"),
    ]
    assert metrics_by_name(reduce_metric_logs(logs, STRATEGIES[:1]))["loss"] == ("0.3", "0.3", "nan")
    only_nan = reduce_metric_logs([MetricLog(t(1), "loss", "NaN")], STRATEGIES[:1])
    assert metrics_by_name(only_nan)["loss"] == ("unavailable", "unavailable", "NaN")


def test_string_metrics_only_update_latest() -> None:
    logs = [MetricLog(t(1), "tag", "blue"), MetricLog(t(2), "tag", "green")]
    assert metrics_by_name(reduce_metric_logs(logs, STRATEGIES))["tag"] == (
        "unavailable",
        "unavailable",
        "green",
    )


def test_unparsable_timestamp_counts_as_zero_time() -> None:
    logs = [MetricLog(t(1), "loss", "0.2"), MetricLog("yesterday", "loss", "0.1")]
    assert metrics_by_name(reduce_metric_logs(logs, STRATEGIES[:1]))["loss"] == ("0.1", "0.2", "0.2")


def test_parse_metric_value_is_go_parse_float() -> None:
    assert parse_metric_value("1") == 1.0
    assert parse_metric_value(".98") == 0.98
    assert parse_metric_value("-7.53e-05") == -7.53e-05
    assert parse_metric_value("Inf") == float("inf")
    for text in ("", "1_0", " 1", "0.1.2", "abc", "unavailable"):
        assert parse_metric_value(text) is None


def objective(strategy: str, type_: str = "minimize") -> ObjectiveSpec:
    return ObjectiveSpec(
        type=type_,
        objective_metric_name="loss",
        metric_strategies=[MetricStrategy(name="loss", value=strategy)],
    )


def obs(min_: str, max_: str, latest: str) -> Observation:
    return Observation(
        metrics=[
            Metric(name="other", min="1", max="1", latest="1"),
            Metric(name="loss", min=min_, max=max_, latest=latest),
        ]
    )


def test_objective_value_by_strategy() -> None:
    o = obs("0.1", "0.9", "0.5")
    assert objective_value(o, objective("min")) == "0.1"
    assert objective_value(o, objective("max")) == "0.9"
    assert objective_value(o, objective("latest")) == "0.5"


def test_objective_value_falls_back_to_latest_for_string_metrics() -> None:
    o = obs("unavailable", "unavailable", "blue")
    assert objective_value(o, objective("min")) == "blue"
    assert objective_value(o, objective("max")) == "blue"


def test_objective_value_none_when_unusable() -> None:
    assert objective_value(None, objective("min")) is None
    assert objective_value(Observation(metrics=[]), objective("min")) is None
    assert objective_value(obs("unavailable", "unavailable", "unavailable"), objective("min")) is None
    assert objective_value(Observation(metrics=[Metric(name="acc", latest="1")]), objective("min")) is None
    no_strategy = ObjectiveSpec(objective_metric_name="loss")
    assert objective_value(obs("1", "2", "3"), no_strategy) is None


def test_is_observation_available() -> None:
    assert is_observation_available(obs("1", "2", "3"), "loss")
    assert not is_observation_available(obs("1", "2", "unavailable"), "loss")
    assert not is_observation_available(obs("1", "2", "3"), "accuracy")
    assert not is_observation_available(None, "loss")
    assert not is_observation_available(Observation(), "loss")
