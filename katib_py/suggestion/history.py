"""The trials of a GetSuggestions request, in the shape algorithms reason about.

The operator sends every trial (Katib: ConvertTrials in
pkg/controller.v1beta1/suggestion/suggestionclient/suggestionclient.go). Each becomes a TrialRecord
whose `state` says what an algorithm may do with it: `completed` trials (SUCCEEDED or EARLYSTOPPED
with a finite objective value) are history, `live` trials (CREATED, RUNNING, UNKNOWN) hold
assignments that must not be proposed again, and `failed` trials (FAILED, KILLED,
METRICSUNAVAILABLE, or finished without a usable objective) are left to each algorithm to ignore or
retry."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from katib_py.proto import api_pb2

COMPLETED = "completed"
LIVE = "live"
FAILED = "failed"

_C = api_pb2.TrialStatus
_LIVE_CONDITIONS = {_C.CREATED, _C.RUNNING, _C.UNKNOWN}
_DONE_CONDITIONS = {_C.SUCCEEDED, _C.EARLYSTOPPED}


@dataclass(frozen=True)
class TrialRecord:
    """One Katib trial: its assignment texts, state, objective value and metadata."""

    name: str
    assignment: dict[str, str]
    state: str
    condition: int
    value: float | None = None
    # katib-py: the additional objectives' values (all finite when completed), in their order
    values: tuple[float, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    start_time: str = ""
    completion_time: str = ""
    _keys: dict[tuple[str, ...], str] = field(default_factory=dict, compare=False, repr=False)

    def key(self, names: tuple[str, ...]) -> str:
        """SearchSpace.key of the assignment, remembered: the same records serve many requests."""
        key = self._keys.get(names)
        if key is None:
            key = self._keys[names] = "\x1f".join(f"{n}={self.assignment.get(n, '')}" for n in names)
        return key

    @property
    def completed(self) -> bool:
        return self.state == COMPLETED

    @property
    def live(self) -> bool:
        return self.state == LIVE


def objective_value(trial: api_pb2.Trial, metric: str) -> float | None:
    """The trial's finite objective value, if it reported one."""
    for m in trial.status.observation.metrics:
        if m.name == metric:
            try:
                value = float(m.value)
            except ValueError:
                return None
            return value if math.isfinite(value) else None
    return None


def convert_trial(trial: api_pb2.Trial, metric: str, extra_metrics: Sequence[str] = ()) -> TrialRecord:
    """`extra_metrics` are the additional objectives': a trial missing any of them is not completed."""
    condition = trial.status.condition
    value = objective_value(trial, metric)
    extras = [objective_value(trial, name) for name in extra_metrics]
    values = tuple(v for v in extras if v is not None)
    if condition in _LIVE_CONDITIONS:
        state = LIVE
    elif condition in _DONE_CONDITIONS and value is not None and len(values) == len(extras):
        state = COMPLETED
    else:
        state = FAILED
    return TrialRecord(
        name=trial.name,
        assignment={a.name: a.value for a in trial.spec.parameter_assignments.assignments},
        state=state,
        condition=condition,
        value=value if state == COMPLETED else None,
        values=values if state == COMPLETED else (),
        labels=dict(trial.spec.labels),
        start_time=trial.status.start_time,
        completion_time=trial.status.completion_time,
    )


def convert_trials(
    trials: Iterable[api_pb2.Trial], metric: str, extra_metrics: Sequence[str] = ()
) -> list[TrialRecord]:
    return [convert_trial(t, metric, extra_metrics) for t in trials]


class TrialConverter:
    """convert_trials that reuses the records of trials unchanged since the experiment's last request.

    Katib resends every trial on every call; converting 5,000 of them field by field costs about 100 ms
    of Python. Trials are looked up by their serialised bytes, which the servicer takes straight from
    the request (protos/wire.proto), so an unchanged trial is not even parsed. Only the
    last request's trials are kept per experiment, for the EXPERIMENTS most recent experiments.
    """

    EXPERIMENTS = 16

    def __init__(self) -> None:
        self._memo: OrderedDict[tuple[str, str, tuple[str, ...]], dict[bytes, TrialRecord]] = OrderedDict()

    def convert(
        self,
        experiment: str,
        metric: str,
        trials: Sequence[api_pb2.Trial],
        extra_metrics: Sequence[str] = (),
    ) -> list[TrialRecord]:
        return self.convert_serialised(
            experiment, metric, [t.SerializeToString(deterministic=True) for t in trials], extra_metrics
        )

    def convert_serialised(
        self, experiment: str, metric: str, trials: Sequence[bytes], extra_metrics: Sequence[str] = ()
    ) -> list[TrialRecord]:
        """Records for serialised Trial messages; raises protobuf's DecodeError for a malformed one."""
        key = (experiment, metric, tuple(extra_metrics))
        old = self._memo.pop(key, {})
        new: dict[bytes, TrialRecord] = {}
        out: list[TrialRecord] = []
        for raw in trials:
            record = old.get(raw)
            if record is None:
                record = convert_trial(api_pb2.Trial.FromString(raw), metric, extra_metrics)
            new[raw] = record
            out.append(record)
        self._memo[key] = new
        while len(self._memo) > self.EXPERIMENTS:
            self._memo.popitem(last=False)
        return out
