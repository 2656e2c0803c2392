"""Fuzzing the algorithm services over gRPC on 127.0.0.1 (bounded in count and time).

Random and hostile Experiments and Trials (unknown enum values, numbers that are not numbers,
duplicate and unicode names, NaN, huge counts and strings), raw garbage bytes on every method
path, and requests over the size limit. Each call is answered OK, INVALID_ARGUMENT with a
message, or RESOURCE_EXHAUSTED for size; the service still answers its health check afterwards.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from katib_py.dbmanager.server import DBManagerServer
from katib_py.dbmanager.settings import load
from katib_py.proto import api_pb2, api_pb2_grpc
from katib_py.proto.serving import MAX_RECEIVE_BYTES
from katib_py.suggestion.algorithm import ServiceOptions
from katib_py.suggestion.client import LocalService, ServiceProcess

Serve = Callable[..., LocalService]
EXAMPLES = settings.get_profile("fuzz").max_examples


def fuzz(examples: int) -> settings:
    """The shared profile (tests/conftest.py) with `examples` examples."""
    return settings(settings.get_profile("fuzz"), max_examples=examples)


# ---------------------------------------------------------------- strategies

names = st.one_of(
    st.sampled_from(["x", "y", "lr", "num-layers", "loss", "accuracy", ""]),
    st.text(max_size=12),
    st.just("n" * 300),
)
numbers = st.one_of(
    st.sampled_from(
        ["0", "1", "-1", "0.5", "1e-3", "1e308", "-1e400", "nan", "inf", "-inf", "", "abc", " 3 "]
    ),
    st.floats().map(repr),
    st.integers(-(2**70), 2**70).map(str),
    st.text(max_size=8),
)
enum_values = st.integers(-3, 12)
parameters = st.builds(
    api_pb2.ParameterSpec,
    name=names,
    parameter_type=enum_values,
    feasible_space=st.builds(
        api_pb2.FeasibleSpace,
        min=numbers,
        max=numbers,
        step=numbers,
        list=st.lists(st.one_of(numbers, names), max_size=6),
        distribution=enum_values,
    ),
)
setting_names = st.one_of(
    st.sampled_from(
        [
            "random_state", "n_startup_trials", "n_ei_candidates", "sigma", "eta", "r_l", "resource_name",
            "base_estimator", "n_initial_points", "acq_func", "acq_optimizer", "restart_strategy",
            "suggestion_trial_dir", "n_population", "truncation_threshold", "suggestion_end_reached",
        ]
    ),
    names,
)  # fmt: skip
settings_list = st.lists(st.builds(api_pb2.AlgorithmSetting, name=setting_names, value=numbers), max_size=4)


def experiment(algorithm: str) -> st.SearchStrategy[api_pb2.Experiment]:
    spec = st.builds(
        api_pb2.ExperimentSpec,
        parameter_specs=st.builds(
            api_pb2.ExperimentSpec.ParameterSpecs, parameters=st.lists(parameters, max_size=5)
        ),
        objective=st.builds(
            api_pb2.ObjectiveSpec,
            type=enum_values,
            goal=st.floats(),
            objective_metric_name=names,
            additional_metric_names=st.lists(names, max_size=3),
        ),
        algorithm=st.builds(
            api_pb2.AlgorithmSpec,
            algorithm_name=st.sampled_from([algorithm, algorithm, "", "other"]),
            algorithm_settings=settings_list,
        ),
        parallel_trial_count=st.integers(-(2**31), 2**31 - 1),
        max_trial_count=st.integers(-(2**31), 2**31 - 1),
    )
    return st.builds(api_pb2.Experiment, name=names, spec=spec)


trial = st.builds(
    api_pb2.Trial,
    name=names,
    spec=st.builds(
        api_pb2.TrialSpec,
        parameter_assignments=st.builds(
            api_pb2.TrialSpec.ParameterAssignments,
            assignments=st.lists(
                st.builds(api_pb2.ParameterAssignment, name=names, value=numbers), max_size=5
            ),
        ),
        labels=st.dictionaries(names, names, max_size=2),
    ),
    status=st.builds(
        api_pb2.TrialStatus,
        start_time=st.sampled_from(["", "2024-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "soon"]),
        condition=enum_values,
        observation=st.builds(
            api_pb2.Observation,
            metrics=st.lists(st.builds(api_pb2.Metric, name=names, value=numbers), max_size=3),
        ),
    ),
)


@st.composite
def valid_experiment(draw: st.DrawFn, algorithm: str) -> api_pb2.Experiment:
    """A well-formed search space, so that the algorithm itself (not only validation) meets the trials."""
    specs = []
    for name in draw(
        st.lists(st.sampled_from(["x", "y", "lr", "opt", "n"]), min_size=1, max_size=4, unique=True)
    ):
        kind = draw(st.sampled_from([api_pb2.DOUBLE, api_pb2.INT, api_pb2.CATEGORICAL, api_pb2.DISCRETE]))
        space = api_pb2.FeasibleSpace()
        if kind == api_pb2.DOUBLE:
            low = draw(st.floats(-1e6, 1e6))
            space.min, space.max = repr(low), repr(low + draw(st.floats(1e-3, 1e6)))
            space.step = draw(st.sampled_from(["", repr((float(space.max) - low) / 7)]))
        elif kind == api_pb2.INT:
            low = draw(st.integers(-1000, 1000))
            space.min, space.max = str(low), str(low + draw(st.integers(1, 50)))
        elif kind == api_pb2.CATEGORICAL:
            space.list.extend(
                draw(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=4, unique=True))
            )
        else:
            space.list.extend(
                repr(v) for v in draw(st.lists(st.integers(-100, 100), min_size=1, max_size=4, unique=True))
            )
        specs.append(api_pb2.ParameterSpec(name=name, parameter_type=kind, feasible_space=space))
    return api_pb2.Experiment(
        name=draw(names),
        spec=api_pb2.ExperimentSpec(
            parameter_specs=api_pb2.ExperimentSpec.ParameterSpecs(parameters=specs),
            objective=api_pb2.ObjectiveSpec(
                type=draw(st.sampled_from([api_pb2.MINIMIZE, api_pb2.MAXIMIZE])), objective_metric_name="loss"
            ),
            algorithm=api_pb2.AlgorithmSpec(
                algorithm_name=algorithm, algorithm_settings=draw(st.one_of(st.just([]), settings_list))
            ),
            parallel_trial_count=draw(st.integers(0, 20)),
            max_trial_count=draw(st.integers(0, 100)),
        ),
    )


@st.composite
def trials_for(draw: st.DrawFn, exp: api_pb2.Experiment) -> list[api_pb2.Trial]:
    """Trials of `exp` with assignments in range or hostile, and objective values that may be no number."""
    out = []
    for index in range(draw(st.integers(0, 12))):
        message = api_pb2.Trial(name=draw(st.one_of(st.just(f"{exp.name}-{index}"), names)))
        for spec in exp.spec.parameter_specs.parameters:
            space = spec.feasible_space
            if space.list:
                good = st.sampled_from(list(space.list))
            elif spec.parameter_type == api_pb2.INT:
                good = st.integers(int(space.min), int(space.max)).map(str)
            else:
                good = st.floats(float(space.min), float(space.max)).map(repr)
            if draw(st.integers(0, 9)):
                message.spec.parameter_assignments.assignments.add(
                    name=spec.name, value=draw(good | good | numbers)
                )
        message.status.condition = draw(st.sampled_from([2, 2, 2, 1, 0, 3, 4, 5, 6, 7, 42]))
        objective = draw(st.one_of(st.floats().map(repr), st.floats(-10, 10).map(repr), numbers))
        message.status.observation.metrics.add(
            name=draw(st.sampled_from(["loss", "loss", "other"])), value=objective
        )
        out.append(message)
    return out


def expect_answered(call: Callable[[], object], *also: grpc.StatusCode) -> None:
    """OK, or INVALID_ARGUMENT (or one of `also`) with a message."""
    try:
        call()
    except grpc.RpcError as exc:
        assert exc.code() in (grpc.StatusCode.INVALID_ARGUMENT, *also), exc
        assert exc.details(), exc


def serving(service: LocalService) -> bool:
    return service.client.health_status("") == health_pb2.HealthCheckResponse.SERVING


@pytest.fixture
def channel_to() -> Iterator[Callable[[LocalService], grpc.Channel]]:
    opened: list[grpc.Channel] = []

    def open_channel(service: LocalService) -> grpc.Channel:
        opened.append(grpc.insecure_channel(f"127.0.0.1:{service.service.port}"))
        return opened[-1]

    yield open_channel
    for channel in opened:
        channel.close()


# ---------------------------------------------------------------- suggestion services

ALGORITHMS = [
    ("random", EXAMPLES),
    ("grid", EXAMPLES),
    ("sobol", EXAMPLES),
    ("hyperband", EXAMPLES),
    ("pbt", EXAMPLES // 2),
    ("cmaes", EXAMPLES // 4),
    ("tpe", EXAMPLES // 4),
    ("multivariate-tpe", EXAMPLES // 4),
    ("bayesianoptimization", EXAMPLES // 4),
]


@pytest.mark.parametrize(("algorithm", "examples"), ALGORITHMS)
def test_random_suggestion_requests_are_answered(
    serve: Serve,
    channel_to: Callable[[LocalService], grpc.Channel],
    tmp_path: Path,
    algorithm: str,
    examples: int,
) -> None:
    service = serve(algorithm, ServiceOptions(data_dir=str(tmp_path)))
    stub = api_pb2_grpc.SuggestionStub(channel_to(service))

    @fuzz(examples)
    @given(data=st.data(), count=st.integers(-5, 8))
    def one(data: st.DataObject, count: int) -> None:
        if data.draw(st.booleans()):
            exp = data.draw(valid_experiment(algorithm))
            trials = data.draw(trials_for(exp))
        else:
            exp, trials = data.draw(experiment(algorithm)), data.draw(st.lists(trial, max_size=6))
        validate = api_pb2.ValidateAlgorithmSettingsRequest(experiment=exp)
        expect_answered(lambda: stub.ValidateAlgorithmSettings(validate, timeout=120))
        request = api_pb2.GetSuggestionsRequest(experiment=exp, trials=trials, current_request_number=count)
        expect_answered(lambda: stub.GetSuggestions(request, timeout=120))

    one()
    assert serving(service)


@pytest.mark.parametrize("algorithm", ["random", "grid"])
def test_a_huge_request_number_gets_a_bounded_answer(
    serve: Serve, channel_to: Callable[[LocalService], grpc.Channel], algorithm: str
) -> None:
    service = serve(algorithm)
    space = api_pb2.ExperimentSpec.ParameterSpecs(
        parameters=[
            api_pb2.ParameterSpec(
                name="x",
                parameter_type=api_pb2.DOUBLE,
                feasible_space=api_pb2.FeasibleSpace(min="0", max="1", step="0.00001"),
            )
        ]
    )
    exp = api_pb2.Experiment(
        name="huge",
        spec=api_pb2.ExperimentSpec(
            parameter_specs=space,
            objective=api_pb2.ObjectiveSpec(type=api_pb2.MAXIMIZE, objective_metric_name="loss"),
            algorithm=api_pb2.AlgorithmSpec(algorithm_name=algorithm),
        ),
    )
    request = api_pb2.GetSuggestionsRequest(experiment=exp, current_request_number=2**31 - 1)
    with pytest.raises(grpc.RpcError) as refused:
        api_pb2_grpc.SuggestionStub(channel_to(service)).GetSuggestions(request, timeout=120)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "is more than the 1000 assignments one call may ask for" in (refused.value.details() or "")
    assert serving(service)


SUGGESTION_PATHS = [
    "/api.v1.beta1.Suggestion/GetSuggestions",
    "/api.v1.beta1.Suggestion/ValidateAlgorithmSettings",
    "/grpc.health.v1.Health/Check",
]
EARLY_STOPPING_PATHS = [
    "/api.v1.beta1.EarlyStopping/GetEarlyStoppingRules",
    "/api.v1.beta1.EarlyStopping/SetTrialStatus",
    "/api.v1.beta1.EarlyStopping/ValidateEarlyStoppingSettings",
    "/grpc.health.v1.Health/Check",
]


@pytest.mark.parametrize(
    ("algorithm", "paths"), [("random", SUGGESTION_PATHS), ("medianstop", EARLY_STOPPING_PATHS)]
)
def test_garbage_bytes_on_every_method_path(
    serve: Serve,
    channel_to: Callable[[LocalService], grpc.Channel],
    no_kubernetes: None,
    algorithm: str,
    paths: list[str],
) -> None:
    service = serve(algorithm)
    channel = channel_to(service)

    @fuzz(EXAMPLES)
    @given(path=st.sampled_from(paths), data=st.binary(max_size=3000))
    def one(path: str, data: bytes) -> None:
        call = channel.unary_unary(path, request_serializer=None, response_deserializer=None)
        also = [grpc.StatusCode.NOT_FOUND] if path.startswith("/grpc.health") else []
        if path.endswith("SetTrialStatus") or path.endswith("GetEarlyStoppingRules"):
            also += [grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAVAILABLE]  # no Kubernetes, no db-manager
        expect_answered(lambda: call(data, timeout=60), *also)

    one()
    assert serving(service)


@pytest.mark.parametrize("path", [*SUGGESTION_PATHS[:2], EARLY_STOPPING_PATHS[0]])
def test_huge_requests_are_resource_exhausted_and_cost_no_memory(tmp_path: Path, path: str) -> None:
    """The service as its own process (`katib-py suggestion serve`), so that its peak RSS is its own."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"
    algorithm = "medianstop" if "EarlyStopping" in path else "random"
    katib_py = str(Path(sys.executable).with_name("katib-py"))
    served = ServiceProcess.start(
        [
            katib_py,
            "suggestion",
            "serve",
            "--algorithm",
            algorithm,
            "--listen",
            address,
            "--data-dir",
            str(tmp_path),
        ],
        address,
    )
    try:
        before = peak_rss_kib(served.process.pid)
        call = served.client.channel.unary_unary(path, request_serializer=None, response_deserializer=None)
        for size in (MAX_RECEIVE_BYTES, 4 * MAX_RECEIVE_BYTES):
            with pytest.raises(grpc.RpcError) as err:
                call(b"\x0a" + b"\xff" * size, timeout=120)
            assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and err.value.details()
        assert served.client.health_status("", timeout=30) == health_pb2.HealthCheckResponse.SERVING
        grown = peak_rss_kib(served.process.pid) - before
        assert grown < 32 * 1024, f"peak RSS grew by {grown} KiB"
    finally:
        served.stop()


def peak_rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0])


# ---------------------------------------------------------------- early stopping


@pytest.fixture
def no_kubernetes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SetTrialStatus reaches for the Kubernetes API: point it at a closed port on 127.0.0.1."""
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u, namespace: default}}]\n"
    )
    monkeypatch.setenv("KUBECONFIG", str(config))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)


@pytest.fixture
def db_manager(tmp_path: Path) -> Iterator[DBManagerServer]:
    server = DBManagerServer(load(env={}, db_url=f"sqlite:///{tmp_path / 'katib.db'}"), "127.0.0.1:0")
    server.start()
    assert server.ready.wait(30)
    yield server
    server.stop(grace=1)


def test_random_early_stopping_requests_are_answered(
    serve: Serve,
    channel_to: Callable[[LocalService], grpc.Channel],
    db_manager: DBManagerServer,
    no_kubernetes: None,
) -> None:
    service = serve("medianstop")
    stub = api_pb2_grpc.EarlyStoppingStub(channel_to(service))
    addresses = st.sampled_from(["", f"127.0.0.1:{db_manager.port}"])
    early = st.builds(api_pb2.EarlyStoppingSpec, algorithm_name=st.sampled_from(["medianstop", ""]) | names)

    @fuzz(EXAMPLES)
    @given(
        exp=experiment("random"),
        spec=early,
        es_settings=settings_list,
        trials=st.lists(trial, max_size=6),
        address=addresses,
        trial_name=names,
    )
    def one(
        exp: api_pb2.Experiment,
        spec: api_pb2.EarlyStoppingSpec,
        es_settings: list[api_pb2.AlgorithmSetting],
        trials: list[api_pb2.Trial],
        address: str,
        trial_name: str,
    ) -> None:
        for setting in es_settings:
            spec.algorithm_settings.add(name=setting.name, value=setting.value)
        exp.spec.early_stopping.CopyFrom(spec)
        validate = api_pb2.ValidateEarlyStoppingSettingsRequest(early_stopping=spec)
        expect_answered(lambda: stub.ValidateEarlyStoppingSettings(validate, timeout=60))
        rules = api_pb2.GetEarlyStoppingRulesRequest(
            experiment=exp, trials=trials, db_manager_address=address
        )
        expect_answered(lambda: stub.GetEarlyStoppingRules(rules, timeout=60))
        status = api_pb2.SetTrialStatusRequest(trial_name=trial_name)
        expect_answered(
            lambda: stub.SetTrialStatus(status, timeout=60),
            grpc.StatusCode.UNAVAILABLE,
            grpc.StatusCode.NOT_FOUND,
        )

    one()
    assert serving(service)
