"""Early-stopping rules: checked from startStep on (not only at it), best-so-far for the objective."""

from __future__ import annotations

import pytest

from katib_py.metricscollector.stoprules import EarlyStopper, StopRule, parse_stop_rule


def test_parse() -> None:
    assert parse_stop_rule("accuracy;0.6;LESS;2") == StopRule("accuracy", 0.6, "LESS", 2)
    assert parse_stop_rule("loss;2;greater;0") == StopRule("loss", 2.0, "GREATER", 0)  # the CRD spelling
    for bad in ("accuracy;0.6;LESS", "accuracy;x;LESS;1", "accuracy;0.6;BIGGER;1"):
        with pytest.raises(ValueError):
            parse_stop_rule(bad)


def test_rule_fires_after_start_step_not_only_at_it() -> None:
    stopper = EarlyStopper([StopRule("loss", 0.5, "LESS", 2)], objective="accuracy", maximize=True)
    assert not stopper.observe("loss", "0.4")  # 1st report: before startStep
    assert not stopper.observe("loss", "0.9")  # 2nd: checked, not satisfied
    assert not stopper.observe("loss", "0.8")  # Katib never checks again from here on
    assert stopper.observe("loss", "0.3")
    assert stopper.stopped


def test_objective_uses_best_value_so_far() -> None:
    stopper = EarlyStopper([StopRule("accuracy", 0.6, "LESS", 1)], objective="accuracy", maximize=True)
    assert not stopper.observe("accuracy", "0.7")
    assert not stopper.observe("accuracy", "0.1")  # best is still 0.7
    minimize = EarlyStopper([StopRule("loss", 2.0, "GREATER", 0)], objective="loss", maximize=False)
    assert minimize.observe("loss", "3")


def test_nan_inf_and_text_never_satisfy_or_become_best() -> None:
    stopper = EarlyStopper([StopRule("accuracy", 0.6, "LESS", 0)], objective="accuracy", maximize=False)
    assert not stopper.observe("accuracy", "nan")
    assert not stopper.observe("accuracy", "-inf")
    assert not stopper.observe("accuracy", "unavailable")
    assert stopper.observe("accuracy", "0.5")


def test_all_rules_needed_and_no_rules_never_stop() -> None:
    stopper = EarlyStopper(
        [StopRule("loss", 1, "GREATER", 0), StopRule("acc", 0.5, "EQUAL", 0)], objective="acc", maximize=True
    )
    assert not stopper.observe("loss", "2")
    assert stopper.observe("acc", "0.5")
    empty = EarlyStopper([], objective="acc", maximize=True)
    assert not empty.observe("acc", "0")
    assert not empty.stopped


def test_any_rule_mode_stops_at_the_first_rule_met() -> None:
    """asha's rules are one per rung: failing any rung ends the trial (Katib needs all)."""
    rules = [StopRule("accuracy", 0.5, "LESS", 1), StopRule("accuracy", 0.8, "LESS", 3)]
    both = EarlyStopper(rules, "accuracy", maximize=True)
    either = EarlyStopper(rules, "accuracy", maximize=True, any_rule=True)
    for value in ("0.6", "0.65", "0.7"):  # above the rung-1 cut-off, below the rung-3 one
        stopped_both, stopped_either = both.observe("accuracy", value), either.observe("accuracy", value)
    assert (stopped_both, both.stopped) == (False, False)
    assert (stopped_either, either.stopped) == (True, True)
