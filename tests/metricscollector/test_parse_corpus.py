"""A corpus of metric lines and what each one yields (TEXT default filter, custom filters, JSON)."""

from __future__ import annotations

from datetime import datetime

import pytest

from katib_py.metricscollector.parse import (
    KATIB_DEFAULT_FILTER,
    JsonParser,
    MalformedLine,
    TextParser,
    compile_filters,
)

NAMES = ["loss", "accuracy", "Validation-accuracy", "train/loss", "val.acc", "Score", "lr"]
T0 = datetime(2024, 1, 2, 3, 4, 5, 678901)

TEXT_CORPUS: list[tuple[str, list[tuple[str, str]]]] = [
    ("loss=0.3", [("loss", "0.3")]),
    ("accuracy=.98", [("accuracy", ".98")]),
    ("Score=-7.53e-05", [("Score", "-7.53e-05")]),
    ("lr = +1E3", [("lr", "+1E3")]),
    ("loss=1.", [("loss", "1.")]),
    ("loss=42", [("loss", "42")]),
    ("loss=-0", [("loss", "-0")]),
    ("loss=nan", [("loss", "nan")]),
    ("loss=NaN accuracy=-inf", [("loss", "NaN"), ("accuracy", "-inf")]),
    ("accuracy=+Infinity", [("accuracy", "+Infinity")]),
    ("loss=information", []),
    ("Validation-accuracy=0.91", [("Validation-accuracy", "0.91")]),
    ("train/loss=0.25 val.acc=0.75", [("train/loss", "0.25"), ("val.acc", "0.75")]),
    ("epoch 3: loss=0.1, accuracy=0.9", [("loss", "0.1"), ("accuracy", "0.9")]),
    ("myloss=0.5", []),
    ("loss=abc", []),
    ("the loss went down", []),
    ("garbage \x00\xff line", []),
    ("", []),
    ("Validation-accuracy=0.91.", [("Validation-accuracy", "0.91")]),
]


@pytest.mark.parametrize(("line", "expected"), TEXT_CORPUS)
def test_text_default_filter(line: str, expected: list[tuple[str, str]]) -> None:
    got = TextParser(NAMES).parse(line)
    assert [(o.name, o.value) for o in got] == expected
    assert all(o.time is None for o in got)


def test_katib_default_filter_string_means_ours() -> None:
    parser = TextParser(NAMES, [KATIB_DEFAULT_FILTER])
    assert [(o.name, o.value) for o in parser.parse("train/loss=nan")] == [("train/loss", "nan")]


def test_leading_rfc3339_timestamp_is_the_time() -> None:
    (obs,) = TextParser(NAMES).parse("2024-01-02T03:04:05.678901Z loss=0.5")
    assert (obs.name, obs.value, obs.time) == ("loss", "0.5", T0)
    (obs,) = TextParser(NAMES).parse("2024-01-02T04:04:05.678901+01:00 loss=0.5")
    assert obs.time == T0
    (obs,) = TextParser(NAMES).parse("2024-13-02T03:04:05Z loss=0.5")
    assert obs.time is None


def test_custom_filter_with_two_groups() -> None:
    parser = TextParser(NAMES, [r"{metricName: ([\w|-]+), metricValue: ((-?\d+)(\.\d+)?)}"])
    got = parser.parse("{metricName: accuracy, metricValue: 0.8} {metricName: loss, metricValue: -2}")
    assert [(o.name, o.value) for o in got] == [("accuracy", "0.8"), ("loss", "-2")]


def test_filter_without_two_groups_is_rejected() -> None:
    with pytest.raises(ValueError, match="two groups"):
        compile_filters([r"loss=(\d+)"])


JSON_CORPUS: list[tuple[str, list[tuple[str, str]], datetime | None]] = [
    ('{"loss": "0.3", "accuracy": 0.9}', [("loss", "0.3"), ("accuracy", "0.9")], None),
    ('{"loss": 1, "lr": 1e-05}', [("loss", "1"), ("lr", "1e-05")], None),
    ('{"loss": NaN, "accuracy": -Infinity}', [("loss", "nan"), ("accuracy", "-inf")], None),
    ('{"loss": true, "accuracy": null, "lr": [1]}', [], None),
    ('{"train/loss": " 2.5 ", "other": 1}', [("train/loss", "2.5")], None),
    ('{"timestamp": "2024-01-02T03:04:05.678901Z", "loss": 0.5}', [("loss", "0.5")], T0),
    ('{"timestamp": 1704164645.678901, "loss": 0.5}', [("loss", "0.5")], T0),
    ('{"timestamp": "later", "loss": 0.5}', [("loss", "0.5")], None),
    ("   ", [], None),
]


@pytest.mark.parametrize(("line", "expected", "time"), JSON_CORPUS)
def test_json_lines(line: str, expected: list[tuple[str, str]], time: datetime | None) -> None:
    got = JsonParser(NAMES).parse(line)
    assert [(o.name, o.value) for o in got] == expected
    assert all(o.time == time for o in got)


@pytest.mark.parametrize("line", ["{not json", '["loss", 1]', '"loss"', "loss=0.3", "{"])
def test_malformed_json_lines_raise(line: str) -> None:
    with pytest.raises(MalformedLine):
        JsonParser(NAMES).parse(line)
