"""Early stopping on multi-fidelity Hartmann6 (fidelity = epochs): best final value against epochs spent.

Four ways to spend the same epoch budget, all through our services over gRPC:
- none: random search, every trial trains MAX_EPOCHS epochs;
- medianstop: random search, with the medianstop service's rule (read from the real db-manager,
  which holds every finished trial's per-epoch log) applied by the collector's own EarlyStopper;
- asha: the same with the asha service's rules (rungs at 1, 3 and 9 epochs, eta 3) in the
  collector's any-rule mode;
- hyperband: our hyperband service (r_l = MAX_EPOCHS, eta = 3), a trial trains `epochs` epochs.
Only trials trained to MAX_EPOCHS count for "best value" (a shorter run's value is not comparable).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass

import numpy as np

from bench.suggestion.functions import hartmann6_curve
from katib_py.dbmanager.server import DBManagerServer
from katib_py.dbmanager.settings import load
from katib_py.metricscollector.stoprules import EarlyStopper, StopRule
from katib_py.proto import api_pb2, api_pb2_grpc
from katib_py.suggestion import messages as m
from katib_py.suggestion.algorithm import END_REACHED_SETTING
from katib_py.suggestion.client import LocalService

MAX_EPOCHS = 27


@dataclass
class Run:
    """(epochs spent so far, best full-fidelity value so far) after each trial."""

    points: list[tuple[int, float]]
    full: int = 0  # trials trained to MAX_EPOCHS

    def best_at(self, budget: int) -> float:
        best = float("inf")
        for spent, value in self.points:
            if spent > budget:
                break
            best = value
        return best


def _params(epochs_param: bool) -> list[api_pb2.ParameterSpec]:
    params = [m.parameter(f"x{i}", "double", min=0, max=1) for i in range(6)]
    if epochs_param:
        params.append(m.parameter("epochs", "int", min=1, max=MAX_EPOCHS))
    return params


def _x(assignment: dict[str, str]) -> np.ndarray:
    return np.array([float(assignment[f"x{i}"]) for i in range(6)])


class Services:
    """The random, medianstop and hyperband services plus a db-manager, for one benchmark session."""

    def __init__(self) -> None:
        self.folder = tempfile.TemporaryDirectory()
        self.db = DBManagerServer(
            load(env={}, db_url=f"sqlite:///{self.folder.name}/katib.db"), "127.0.0.1:0"
        )
        self.db.start()
        if not self.db.ready.wait(60):
            raise RuntimeError("db-manager did not start")
        self.db_address = f"127.0.0.1:{self.db.port}"
        self.random = LocalService.start("random")
        self.median = LocalService.start("medianstop")
        self.asha = LocalService.start("asha")
        self.hyperband = LocalService.start("hyperband")
        import grpc

        self._db_channel = grpc.insecure_channel(self.db_address)
        self.db_stub = api_pb2_grpc.DBManagerStub(self._db_channel)

    def report(self, trial: str, values: list[float]) -> None:
        logs = [
            api_pb2.MetricLog(
                time_stamp=f"2026-01-01T{e // 3600:02d}:{e // 60 % 60:02d}:{e % 60:02d}Z",
                metric=api_pb2.Metric(name="loss", value=repr(v)),
            )
            for e, v in enumerate(values)
        ]
        self.db_stub.ReportObservationLog(
            api_pb2.ReportObservationLogRequest(
                trial_name=trial, observation_log=api_pb2.ObservationLog(metric_logs=logs)
            )
        )

    def close(self) -> None:
        self._db_channel.close()
        for service in (self.random, self.median, self.asha, self.hyperband):
            service.stop()
        self.db.stop(grace=0)
        self.folder.cleanup()


ASHA_SETTINGS = {"min_resource": "1", "reduction_factor": "3", "max_resource": str(MAX_EPOCHS)}


def run_random(services: Services, seed: int, budget: int, method: str, settings: dict[str, str]) -> Run:
    """Random search with early stopping `method`: none, medianstop (with `settings`) or asha."""
    name = f"es-{method}-{seed}"
    experiment = m.experiment(
        name,
        "random",
        _params(False),
        settings={"random_state": str(seed)},
        early_stopping="" if method == "none" else method,
        early_stopping_settings=ASHA_SETTINGS if method == "asha" else settings,
    )
    service = {"medianstop": services.median, "asha": services.asha}.get(method)
    trials: list[api_pb2.Trial] = []
    spent, best, points, full = 0, float("inf"), [], 0
    while spent < budget:
        assignment = m.assignments(services.random.suggest(experiment, trials, 1))[0].assignment
        rules: list[StopRule] = []
        if service is not None:
            reply = service.client.early_stopping.GetEarlyStoppingRules(
                api_pb2.GetEarlyStoppingRulesRequest(
                    experiment=experiment, trials=trials, db_manager_address=services.db_address
                )
            )
            comparison = {api_pb2.LESS: "LESS", api_pb2.GREATER: "GREATER", api_pb2.EQUAL: "EQUAL"}
            rules = [
                StopRule(r.name, float(r.value), comparison[r.comparison], r.start_step)
                for r in reply.early_stopping_rules
            ]
        stopper = EarlyStopper(rules, "loss", maximize=False, any_rule=method == "asha")
        x = _x(assignment)
        values: list[float] = []
        stopped = False
        for epoch in range(1, MAX_EPOCHS + 1):
            value = hartmann6_curve(x, epoch, seed)
            values.append(value)
            spent += 1
            if rules and stopper.observe("loss", repr(value)):
                stopped = True
                break
        trial_name = f"{name}-{len(trials)}"
        services.report(f"{trial_name}", values)
        condition = "EarlyStopped" if stopped else "Succeeded"
        trials.append(m.trial(trial_name, assignment, condition, {"loss": values[-1]}))
        if not stopped:
            best = min(best, values[-1])
            full += 1
        points.append((spent, best))
    return Run(points, full)


def run_hyperband(services: Services, seed: int, budget: int) -> Run:
    spent, best, points, full = 0, float("inf"), [], 0
    round_no = 0
    while spent < budget:
        experiment = m.experiment(
            f"es-hb-{seed}-{round_no}",
            "hyperband",
            _params(True),
            settings={"r_l": str(MAX_EPOCHS), "resource_name": "epochs", "eta": "3"},
        )
        stored: dict[str, str] = {}
        trials: list[api_pb2.Trial] = []
        while spent < budget:
            exp = api_pb2.Experiment()
            exp.CopyFrom(experiment)
            merged = {s.name: s.value for s in exp.spec.algorithm.algorithm_settings} | stored
            del exp.spec.algorithm.algorithm_settings[:]
            for k, v in merged.items():  # what the operator sends: spec settings overridden by status
                exp.spec.algorithm.algorithm_settings.add(name=k, value=v)
            reply = services.hyperband.suggest(exp, trials, 1)
            stored.update(m.reply_settings(reply))
            given = m.assignments(reply)
            if not given:
                break  # finished: hyperband completes each trial before asking, so it never waits here
            a = given[0]
            epochs = int(a.assignment["epochs"])
            value = hartmann6_curve(_x(a.assignment), epochs, seed)
            spent += epochs
            trials.append(
                m.trial(
                    a.trial_name, a.assignment, "Succeeded", {"loss": value}, start_time=f"{len(trials):06d}"
                )
            )
            if epochs == MAX_EPOCHS:
                best = min(best, value)
                full += 1
            points.append((spent, best))
        if stored.get(END_REACHED_SETTING) != "true":
            break
        round_no += 1
    return Run(points, full)
