"""Admission accepts exactly the metrics filters the collector runs: RE2 syntax, two groups."""

from __future__ import annotations

from typing import Any

import pytest

from katib_py.api.defaults import apply_defaults
from katib_py.api.validation import load_experiment, validate_experiment
from katib_py.metricscollector.parse import TextParser

FILTER_PATH = "spec.metricsCollectorSpec.source.filter.metricsFormat[0]"

# (filter, message admission gives, or None when RE2 accepts it)
FILTERS: list[tuple[str, str | None]] = [
    (r"(?=loss)(\w+)=(\d+)", "RE2 syntax: invalid perl operator: (?="),
    (r"(\w+)=(\d+)(?!\.)", "RE2 syntax: invalid perl operator: (?!"),
    (r"(?<=\s)(\w+)=(\d+)", "RE2 syntax: invalid perl operator: (?<"),
    (r"(\w+)=(\d+) \1", r"RE2 syntax: invalid escape sequence: \1"),
    (r"(\w++)=(\d+)", "RE2 syntax: bad repetition operator: ++"),
    (r"(\w+)=(\d+)\Z", r"RE2 syntax: invalid escape sequence: \Z"),
    (r"(\w+)=(\d+", "RE2 syntax: missing ): (\\w+)=(\\d+"),
    (r"(\w+)=\d+", "two top subexpressions are required"),
    # RE2 accepts these, and so must admission (Python `re` refuses the last two).
    (r"{metricName: ([\w|-]+), metricValue: ((-?\d+)(\.\d+)?)}", None),
    (r"(?P<name>\w+)\s*:\s*(?P<value>[\d.]+)", None),
    (r"(?U)(\w+)=(\d+)", None),
    (r"(\pL+)=(\pN+)", None),
]


def experiment_with_filter(base: dict[str, Any], flt: str) -> dict[str, Any]:
    base["spec"]["metricsCollectorSpec"] = {
        "collector": {"kind": "StdOut"},
        "source": {"filter": {"metricsFormat": [flt]}},
    }
    return base


@pytest.mark.parametrize(("flt", "message"), FILTERS)
def test_admission_compiles_filters_as_the_collector_does(
    base: dict[str, Any], flt: str, message: str | None
) -> None:
    exp, errors = load_experiment(experiment_with_filter(base, flt))
    assert exp is not None and not errors
    found = [str(e) for e in validate_experiment(apply_defaults(exp)) if e.path == FILTER_PATH]
    if message is None:
        assert found == []
        TextParser(["loss"], [flt])  # the collector runs it too
    else:
        assert len(found) == 1 and message in found[0], found
        with pytest.raises(ValueError, match=r"RE2 syntax|two top subexpressions"):
            TextParser(["loss"], [flt])
