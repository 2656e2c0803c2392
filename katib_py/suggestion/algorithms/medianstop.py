"""`medianstop`: stop a trial whose running objective is worse than the median of completed trials.

Settings: `min_trials_required` (> 0, default 3) and `start_step` (>= 1, default 4). For every
succeeded trial the service reads the objective's observation log from the db-manager and
averages its first start_step values; once min_trials_required trials have such an average it
returns one rule {objective, median of the averages, LESS for maximize / GREATER for minimize,
start_step}. Katib returns the mean here; katib-py uses the true median
(Katib: pkg/earlystopping/v1beta1/medianstop/service.py).
Averages are cached per experiment and trial (completed trials' logs do not change).
"""

from __future__ import annotations

import statistics

from katib_py.proto import api_pb2
from katib_py.suggestion.algorithm import EarlyStoppingAlgorithm, InvalidArgument, ServiceOptions, table_info
from katib_py.suggestion.dbclient import ObservationLogClient, PerExperiment
from katib_py.suggestion.trialstatus import TrialStatusWriter


class MedianStop(EarlyStoppingAlgorithm):
    """Median stopping rule (Golovin et al. 2017)."""

    name = "medianstop"
    info = table_info("medianstop")

    def __init__(self, options: ServiceOptions | None = None) -> None:
        super().__init__(options)
        self.db = ObservationLogClient()
        self.writer = TrialStatusWriter()
        self._averages: PerExperiment[float] = PerExperiment()

    def rules(
        self, experiment: api_pb2.Experiment, trials: list[api_pb2.Trial], db_manager_address: str
    ) -> list[api_pb2.EarlyStoppingRule]:
        settings = self.parse([(s.name, s.value) for s in experiment.spec.early_stopping.algorithm_settings])
        start_step = int(settings["start_step"])
        needed = int(settings["min_trials_required"])
        metric = experiment.spec.objective.objective_metric_name
        if not metric:
            raise InvalidArgument("objective.objectiveMetricName is not set")
        key = f"{experiment.name}\x1f{metric}\x1f{start_step}"
        averages = self._averages.entry(key)
        for trial in trials:
            if trial.status.condition != api_pb2.TrialStatus.SUCCEEDED or trial.name in averages:
                continue
            if not db_manager_address:
                raise InvalidArgument("db_manager_address is empty")
            try:
                values = self.db.metric_values(db_manager_address, trial.name, metric)
            except ValueError as exc:
                raise InvalidArgument(str(exc)) from None
            if values:
                averages[trial.name] = statistics.fmean(values[:start_step])
        present = {t.name for t in trials}
        current = [v for name, v in averages.items() if name in present]
        if len(current) < needed:
            return []
        maximize = experiment.spec.objective.type == api_pb2.MAXIMIZE
        return [
            api_pb2.EarlyStoppingRule(
                name=metric,
                value=repr(float(statistics.median(current))),
                comparison=api_pb2.LESS if maximize else api_pb2.GREATER,
                start_step=start_step,
            )
        ]

    def set_trial_status(self, trial_name: str) -> None:
        self.writer.mark_early_stopped(trial_name)
