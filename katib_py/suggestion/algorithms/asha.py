"""`asha`: asynchronous successive halving as early stopping on Katib's EarlyStopping contract.

Settings: `min_resource` (>= 1, default 1), `reduction_factor` (eta, >= 2, default 3) and
`max_resource` (required, > min_resource), all counted in reports of the objective metric (one
per epoch for most trainers). Rungs sit at min_resource * eta^k below max_resource.

At each rung the value of a trial is its best objective over its first `rung` reports (what the
collector compares). For a new trial the service returns one rule per rung that earlier trials
have reached: stop if the value at that rung is worse than the top 1/eta of the values recorded
there so far (the (1 - 1/eta) percentile when maximizing, as Ray Tune's ASHA does). The rules are
alternatives: the trial is annotated for the collector's `-stop-rule-mode any`, so it stops at the
first rung it fails. No trial ever waits for another (no barrier); the cut-offs a trial gets are
those known when it is created, so with many trials in parallel they lag a little behind Ray's,
which are read at the moment a trial reaches the rung.

Katib has no ASHA (only synchronous hyperband and medianstop). Logs of finished trials are cached
per experiment; running trials are read again on every call.
"""

from __future__ import annotations

import math

import numpy as np

from katib_py.api.algorithms import asha_problem, asha_rungs
from katib_py.proto import api_pb2
from katib_py.suggestion.algorithm import EarlyStoppingAlgorithm, InvalidArgument, ServiceOptions, table_info
from katib_py.suggestion.dbclient import ObservationLogClient, PerExperiment
from katib_py.suggestion.trialstatus import TrialStatusWriter

_FINISHED = (
    api_pb2.TrialStatus.SUCCEEDED,
    api_pb2.TrialStatus.EARLYSTOPPED,
    api_pb2.TrialStatus.FAILED,
    api_pb2.TrialStatus.KILLED,
    api_pb2.TrialStatus.METRICSUNAVAILABLE,
)


def rung_value(values: list[float], rung: int, maximize: bool) -> float | None:
    """The trial's best over its first `rung` finite reports; None before it reached the rung."""
    if len(values) < rung:
        return None
    finite = [v for v in values[:rung] if math.isfinite(v)]
    if not finite:
        return None
    return max(finite) if maximize else min(finite)


def cutoff(recorded: list[float], eta: int, maximize: bool) -> float:
    """The value a trial must reach at a rung to be in its top 1/eta."""
    quantile = (1 - 1 / eta) * 100 if maximize else 100 / eta
    return float(np.percentile(recorded, quantile))


def asha_rules(
    logs: list[list[float]], rungs: list[int], eta: int, maximize: bool, metric: str
) -> list[api_pb2.EarlyStoppingRule]:
    """One rule per rung that some trial reached (pure: `logs` are the trials' reports in order)."""
    rules = []
    for rung in rungs:
        recorded = [v for log in logs if (v := rung_value(log, rung, maximize)) is not None]
        if not recorded:
            continue
        rules.append(
            api_pb2.EarlyStoppingRule(
                name=metric,
                value=repr(cutoff(recorded, eta, maximize)),
                comparison=api_pb2.LESS if maximize else api_pb2.GREATER,
                start_step=rung,
            )
        )
    return rules


class Asha(EarlyStoppingAlgorithm):
    """Asynchronous successive halving (Li et al. 2020)."""

    name = "asha"
    info = table_info("asha")

    def __init__(self, options: ServiceOptions | None = None) -> None:
        super().__init__(options)
        self.db = ObservationLogClient()
        self.writer = TrialStatusWriter()
        self._finished: PerExperiment[list[float]] = PerExperiment()

    def validate(self, settings: list[tuple[str, str]]) -> None:
        problem = asha_problem(self.parse(settings))
        if problem:
            raise InvalidArgument(problem)

    def rules(
        self, experiment: api_pb2.Experiment, trials: list[api_pb2.Trial], db_manager_address: str
    ) -> list[api_pb2.EarlyStoppingRule]:
        parsed = self.parse([(s.name, s.value) for s in experiment.spec.early_stopping.algorithm_settings])
        problem = asha_problem(parsed)
        if problem:
            raise InvalidArgument(problem)
        metric = experiment.spec.objective.objective_metric_name
        if not metric:
            raise InvalidArgument("objective.objectiveMetricName is not set")
        if trials and not db_manager_address:
            raise InvalidArgument("db_manager_address is empty")
        key = f"{experiment.name}\x1f{metric}"
        finished = self._finished.entry(key)
        logs = []
        for trial in trials:
            values = finished.get(trial.name)
            if values is None:
                try:
                    values = self.db.metric_values(db_manager_address, trial.name, metric)
                except ValueError as exc:
                    raise InvalidArgument(str(exc)) from None
                if trial.status.condition in _FINISHED:
                    finished[trial.name] = values
            logs.append(values)
        maximize = experiment.spec.objective.type == api_pb2.MAXIMIZE
        return asha_rules(logs, asha_rungs(parsed), int(parsed["reduction_factor"]), maximize, metric)

    def set_trial_status(self, trial_name: str) -> None:
        self.writer.mark_early_stopped(trial_name)
