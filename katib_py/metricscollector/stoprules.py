"""Early-stopping rules as the sidecar evaluates them (pure, no I/O).

A rule `name;value;comparison;startStep` is checked on every report of its metric once that metric
has been reported at least startStep times (Katib checks only at exactly the startStep-th report:
`updateStopRules` in `cmd/metricscollector/v1beta1/file-metricscollector/main.go`). For the
objective metric the best value so far is compared (max when maximizing, min when minimizing); for
other metrics the latest value. `nan`/`inf` and non-numbers never count as a best value and never
satisfy a rule.

Katib stops a trial once every rule is met. `-stop-rule-mode any` (katib-py, for algorithms whose
rules are alternatives, such as `asha`'s one rule per rung) stops it at the first rule met.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

COMPARISONS = ("EQUAL", "LESS", "GREATER")
MODES = ("all", "any")


@dataclass(frozen=True)
class StopRule:
    name: str
    value: float
    comparison: str
    start_step: int


def parse_stop_rule(text: str) -> StopRule:
    """`accuracy;0.6;LESS;2` to a StopRule; ValueError when malformed."""
    parts = text.split(";")
    if len(parts) != 4:
        raise ValueError(f"stop rule {text!r} must be name;value;comparison;startStep")
    name, value, comparison, start = parts
    comparison = comparison.strip().upper()
    if comparison not in COMPARISONS:
        raise ValueError(f"stop rule {text!r}: comparison must be one of {', '.join(COMPARISONS)}")
    return StopRule(name.strip(), float(value), comparison, int(start or 0))


def _finite(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def satisfied(rule: StopRule, value: float) -> bool:
    if rule.comparison == "LESS":
        return value < rule.value
    if rule.comparison == "GREATER":
        return value > rule.value
    return value == rule.value


class EarlyStopper:
    """Feeds on reported metric values; says when every rule (or with `any_rule`, one) is satisfied."""

    def __init__(
        self, rules: Sequence[StopRule], objective: str, maximize: bool, any_rule: bool = False
    ) -> None:
        self.pending = list(rules)
        self.any_rule = any_rule
        self.had_rules = bool(rules)
        self.objective = objective
        self.maximize = maximize
        self.counts: Counter[str] = Counter()
        self.best: float | None = None

    @property
    def stopped(self) -> bool:
        return self.had_rules and not self.pending

    def observe(self, name: str, value: str) -> bool:
        """Record one report; True once all rules are satisfied."""
        if not self.pending:
            return self.stopped
        self.counts[name] += 1
        number = _finite(value)
        if number is None:
            return False
        if name == self.objective:
            if self.best is None:
                self.best = number
            else:
                self.best = max(self.best, number) if self.maximize else min(self.best, number)
            number = self.best
        left = [
            rule
            for rule in self.pending
            if not (rule.name == name and self.counts[name] >= rule.start_step and satisfied(rule, number))
        ]
        self.pending = [] if self.any_rule and len(left) < len(self.pending) else left
        return not self.pending
