"""The service framework: health, the CLI, medianstop against the real db-manager and Kubernetes API."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2

from katib_py.controller.services import method_path
from katib_py.dbmanager.server import DBManagerServer
from katib_py.dbmanager.settings import load
from katib_py.localcluster.cluster import LocalCluster
from katib_py.proto import api_pb2
from katib_py.suggestion import messages as m
from katib_py.suggestion.client import AlgorithmClient, LocalService, ServiceProcess
from katib_py.suggestion.server import build_algorithm, default_listen

Serve = Callable[..., LocalService]
REPO = Path(__file__).resolve().parents[2]
KATIB_PY = Path(sys.executable).parent / "katib-py"


def rpc_error(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


def test_health_serves_katib_probe_name_and_overall(serve: Serve) -> None:
    service = serve("tpe")
    assert (
        service.client.health_status("manager.v1beta1.Suggestion") == health_pb2.HealthCheckResponse.SERVING
    )
    assert service.client.health_status("") == health_pb2.HealthCheckResponse.SERVING
    error = rpc_error(lambda: service.client.health_status("something.else"))
    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_early_stopping_service_has_health_too(serve: Serve) -> None:
    service = serve("medianstop")
    assert service.client.health_status("") == health_pb2.HealthCheckResponse.SERVING


GOOD_HEAD = api_pb2.GetSuggestionsRequest(
    experiment=m.experiment("ok", "random", [m.parameter("x", "double", min=0, max=1)]),
    current_request_number=1,
).SerializeToString()


MALFORMED = "malformed GetSuggestionsRequest"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"\x12\x05abc",
            "malformed GetSuggestionsRequest: its 5 bytes are not a well-formed protobuf message",
        ),
        (
            b"\x0a\x02\xff\xff",
            "malformed GetSuggestionsRequest: its 4 bytes are not a well-formed protobuf message",
        ),
        (b"\x1b", "malformed GetSuggestionsRequest: its 1 bytes are not a well-formed protobuf message"),
        (GOOD_HEAD + b"\x12\x02\xff\xff", "malformed trial in GetSuggestionsRequest"),
    ],
)
def test_get_suggestions_rejects_malformed_bytes(serve: Serve, data: bytes, message: str) -> None:
    service = serve("random")
    call = service.client.channel.unary_unary(
        method_path("Suggestion", "GetSuggestions"),
        request_serializer=None,
        response_deserializer=api_pb2.GetSuggestionsReply.FromString,
    )
    error = rpc_error(lambda: call(data, timeout=10))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (error.details() or "")
    # the service is unharmed: a good request right after is answered
    exp = m.experiment("ok", "random", [m.parameter("x", "double", min=0, max=1)])
    assert len(m.assignments(service.client.suggest(exp, [], 2))) == 2


@pytest.mark.parametrize("count", [1001, 10**9])
def test_a_runaway_request_number_is_refused_at_once(serve: Serve, count: int) -> None:
    service = serve("random")
    exp = m.experiment("runaway", "random", [m.parameter("x", "double", min=0, max=1)])
    error = rpc_error(lambda: service.client.suggest(exp, [], count))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"current_request_number {count} is more than the 1000 assignments one call may ask for" in (
        error.details() or ""
    )
    other = m.experiment("other", "random", [m.parameter("x", "double", min=0, max=1)])
    assert len(m.assignments(service.client.suggest(other, [], 1000))) == 1000


def test_default_ports() -> None:
    assert default_listen(build_algorithm("tpe")) == "0.0.0.0:6789"
    assert default_listen(build_algorithm("medianstop")) == "0.0.0.0:6788"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.parametrize("algorithm", ["random", "medianstop"])
def test_cli_serve_answers_health_and_stops_on_sigterm(algorithm: str, tmp_path: Path) -> None:
    port = free_port()
    argv = [str(KATIB_PY), "suggestion", "serve", "--algorithm", algorithm]
    served = ServiceProcess.start(
        [*argv, "--listen", f"127.0.0.1:{port}", "--data-dir", str(tmp_path)], f"127.0.0.1:{port}"
    )
    try:
        status = served.client.health_status("manager.v1beta1.Suggestion", timeout=30)
        assert status == health_pb2.HealthCheckResponse.SERVING
    finally:
        assert served.stop() == 0  # SIGTERM: a clean exit


def test_cli_rejects_unknown_algorithm() -> None:
    result = subprocess.run(
        [str(KATIB_PY), "suggestion", "serve", "--algorithm", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "katib-py suggestion serve: unknown algorithm 'nope' (known: asha, bayesianoptimization, " in (
        result.stderr
    )


# ---------------------------------------------------------------- medianstop


@pytest.fixture
def db_manager(tmp_path: Path) -> Iterator[str]:
    """The real db-manager on SQLite; yields its address."""
    server = DBManagerServer(load(env={}, db_url=f"sqlite:///{tmp_path / 'katib.db'}"), "127.0.0.1:0")
    server.start()
    try:
        assert server.ready.wait(60), "db-manager never reached its database"
        yield f"127.0.0.1:{server.port}"
    finally:
        server.stop(grace=0)


def report(address: str, trial: str, metric: str, values: list[float]) -> None:
    client = AlgorithmClient.connect(address)
    from katib_py.proto import api_pb2_grpc

    stub = api_pb2_grpc.DBManagerStub(client.channel)
    logs = [
        api_pb2.MetricLog(
            time_stamp=f"2026-01-01T00:00:{i:02d}Z", metric=api_pb2.Metric(name=metric, value=str(v))
        )
        for i, v in enumerate(values)
    ]
    stub.ReportObservationLog(
        api_pb2.ReportObservationLogRequest(
            trial_name=trial, observation_log=api_pb2.ObservationLog(metric_logs=logs)
        ),
        timeout=30,
    )
    client.close()


def medianstop_experiment(maximize: bool = False, **settings: str) -> api_pb2.Experiment:
    return m.experiment(
        "es",
        "random",
        [m.parameter("x", "double", min=0, max=1)],
        maximize=maximize,
        metric="loss",
        early_stopping="medianstop",
        early_stopping_settings=settings,
    )


def rules(
    service: LocalService, experiment: api_pb2.Experiment, trials: list[api_pb2.Trial], address: str
) -> list:
    reply = service.client.early_stopping.GetEarlyStoppingRules(
        api_pb2.GetEarlyStoppingRulesRequest(
            experiment=experiment, trials=trials, db_manager_address=address
        ),
        timeout=30,
    )
    return list(reply.early_stopping_rules)


def test_medianstop_rule_is_the_median_of_early_averages(serve: Serve, db_manager: str) -> None:
    report(db_manager, "t1", "loss", [1, 2, 3, 4, 5])  # first 2 average 1.5
    report(db_manager, "t2", "loss", [2, 2, 2, 2])  # 2.0
    report(db_manager, "t3", "loss", [10, 0, 5, 5])  # 5.0
    report(db_manager, "t4", "loss", [0, 0])  # running: not counted
    report(db_manager, "t3", "accuracy", [0.1, 0.2])  # another metric: not counted
    trials = [
        m.trial("t1", {"x": "0.1"}, "Succeeded", {"loss": 5}),
        m.trial("t2", {"x": "0.2"}, "Succeeded", {"loss": 2}),
        m.trial("t3", {"x": "0.3"}, "Succeeded", {"loss": 5}),
        m.trial("t4", {"x": "0.4"}, "Running"),
    ]
    service = serve("medianstop")
    got = rules(service, medianstop_experiment(min_trials_required="3", start_step="2"), trials, db_manager)
    assert len(got) == 1
    rule = got[0]
    assert rule.name == "loss" and rule.start_step == 2
    assert float(rule.value) == 2.0  # the median of 1.5, 2.0, 5.0 (the mean would be 2.8333)
    assert rule.comparison == api_pb2.GREATER
    maximize = rules(
        service, medianstop_experiment(True, min_trials_required="3", start_step="2"), trials, db_manager
    )
    assert maximize[0].comparison == api_pb2.LESS
    assert (
        rules(service, medianstop_experiment(min_trials_required="4", start_step="2"), trials, db_manager)
        == []
    )
    defaults = rules(service, medianstop_experiment(), trials, db_manager)  # start_step 4: averages 2.5, 2, 5
    assert float(defaults[0].value) == 2.5 and defaults[0].start_step == 4


def test_medianstop_bad_db_address(serve: Serve) -> None:
    service = serve("medianstop")
    trials = [m.trial("t1", {"x": "0.1"}, "Succeeded", {"loss": 5})]
    error = rpc_error(lambda: rules(service, medianstop_experiment(), trials, "no-port"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "host:port" in (error.details() or "")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"min_trials_required": "0"}, "min_trials_required"),
        ({"start_step": "0"}, "start_step"),
        ({"start_step": "two"}, "start_step"),
        ({"patience": "3"}, "unknown setting 'patience'"),
    ],
)
def test_medianstop_invalid_settings(serve: Serve, settings: dict[str, str], message: str) -> None:
    service = serve("medianstop")
    spec = api_pb2.EarlyStoppingSpec(
        algorithm_name="medianstop",
        algorithm_settings=[api_pb2.EarlyStoppingSetting(name=k, value=v) for k, v in settings.items()],
    )
    error = rpc_error(
        lambda: service.client.early_stopping.ValidateEarlyStoppingSettings(
            api_pb2.ValidateEarlyStoppingSettingsRequest(early_stopping=spec), timeout=30
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (error.details() or "")
    service.client.early_stopping.ValidateEarlyStoppingSettings(
        api_pb2.ValidateEarlyStoppingSettingsRequest(
            early_stopping=api_pb2.EarlyStoppingSpec(algorithm_name="medianstop")
        ),
        timeout=30,
    )


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalCluster]:
    """The embedded Kubernetes API with Katib's Trial CRD; KUBECONFIG points at it."""
    running = LocalCluster(tmp_path / "cluster", port=0)
    running.start_in_thread()
    monkeypatch.setenv("KUBECONFIG", str(running.kubeconfig))
    monkeypatch.setenv("KATIB_NAMESPACE", "default")
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    try:
        subprocess.run(["kubectl", "apply", "-f", str(REPO / "crds" / "trial.yaml")], check=True, timeout=60)
        yield running
    finally:
        running.stop_thread()


def test_set_trial_status_marks_the_trial_early_stopped(serve: Serve, cluster: LocalCluster) -> None:
    trial = {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Trial",
        "metadata": {"name": "trial-a", "namespace": "default"},
        "spec": {
            "objective": {"type": "minimize", "objectiveMetricName": "loss"},
            "parameterAssignments": [{"name": "x", "value": "1"}],
        },
    }
    subprocess.run(
        ["kubectl", "create", "-f", "-"], input=json.dumps(trial), text=True, check=True, timeout=60
    )
    service = serve("medianstop")
    stub = service.client.early_stopping
    stub.SetTrialStatus(api_pb2.SetTrialStatusRequest(trial_name="trial-a"), timeout=30)
    stub.SetTrialStatus(api_pb2.SetTrialStatusRequest(trial_name="trial-a"), timeout=30)  # idempotent
    out = subprocess.run(
        ["kubectl", "get", "trial", "trial-a", "-o", "json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    conditions = json.loads(out.stdout)["status"]["conditions"]
    assert len(conditions) == 1
    condition = conditions[0]
    assert condition["type"] == "EarlyStopped" and condition["status"] == "True"
    assert condition["reason"] == "TrialEarlyStopped" and condition["message"] == "Trial is early stopped"
    assert condition["lastUpdateTime"] and condition["lastTransitionTime"]
    error = rpc_error(
        lambda: stub.SetTrialStatus(api_pb2.SetTrialStatusRequest(trial_name="missing"), timeout=30)
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_set_trial_status_without_a_cluster_is_unavailable(
    serve: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    service = serve("medianstop")
    error = rpc_error(
        lambda: service.client.early_stopping.SetTrialStatus(
            api_pb2.SetTrialStatusRequest(trial_name="t"), timeout=30
        )
    )
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert "no Kubernetes configuration" in (error.details() or "")
    assert os.environ["KUBECONFIG"].endswith("absent")


# ---------------------------------------------------------------- asha


def test_asha_gives_one_rule_per_reached_rung_at_the_top_one_over_eta(serve: Serve, db_manager: str) -> None:
    report(db_manager, "a1", "loss", [5, 4, 3, 2, 1, 0.5, 0.4, 0.3, 0.2])  # reached rungs 1, 3 and 9
    report(db_manager, "a2", "loss", [6, 5, 4])  # rungs 1 and 3
    report(db_manager, "a3", "loss", [4, 3, 8])  # rungs 1 and 3 (best of its first 3: 3)
    trials = [
        m.trial("a1", {"x": "0.1"}, "Succeeded", {"loss": 0.2}),
        m.trial("a2", {"x": "0.2"}, "EarlyStopped", {"loss": 4}),
        m.trial("a3", {"x": "0.3"}, "Running"),
    ]
    experiment = m.experiment(
        "asha",
        "random",
        [m.parameter("x", "double", min=0, max=1)],
        metric="loss",
        early_stopping="asha",
        early_stopping_settings={"min_resource": "1", "reduction_factor": "3", "max_resource": "27"},
    )
    service = serve("asha")
    got = rules(service, experiment, trials, db_manager)
    # minimised: a trial continues when it is among the lowest third at the rung
    assert [(r.name, r.start_step, r.comparison) for r in got] == [
        ("loss", 1, api_pb2.GREATER),
        ("loss", 3, api_pb2.GREATER),
        ("loss", 9, api_pb2.GREATER),
    ]
    assert [float(r.value) for r in got] == pytest.approx([4 + (5 - 4) * (2 / 3), 3 + 0, 0.2])
    assert rules(service, experiment, [], db_manager) == []  # no history: no rule


def test_asha_refuses_max_resource_not_above_min_resource(serve: Serve) -> None:
    service = serve("asha")
    spec = api_pb2.EarlyStoppingSpec(
        algorithm_name="asha",
        algorithm_settings=[
            api_pb2.EarlyStoppingSetting(name="min_resource", value="4"),
            api_pb2.EarlyStoppingSetting(name="max_resource", value="4"),
        ],
    )
    error = rpc_error(
        lambda: service.client.early_stopping.ValidateEarlyStoppingSettings(
            api_pb2.ValidateEarlyStoppingSettingsRequest(early_stopping=spec), timeout=30
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "max_resource (4) must be greater than min_resource (4)" in (error.details() or "")
