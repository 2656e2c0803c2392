"""The algorithm services read 20,000-trial requests, and answer anything over 64 MiB RESOURCE_EXHAUSTED.

They used to take 2 GiB messages, as Katib's do.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from grpc_health.v1 import health_pb2

from katib_py.proto import api_pb2, api_pb2_grpc
from katib_py.proto.serving import MAX_RECEIVE_BYTES
from katib_py.suggestion import messages as m
from katib_py.suggestion.client import LocalService

Serve = Callable[..., LocalService]
TRIALS = 20_000


def experiment(parameters: int, metrics: int) -> api_pb2.Experiment:
    exp = m.experiment(
        "a-fairly-long-experiment-name-for-sizing",
        "random",
        [m.parameter(f"parameter_number_{i}", "double", min=0.0001, max=1.0) for i in range(parameters)],
        metric="metric-0",
        early_stopping="medianstop",
    )
    exp.spec.objective.additional_metric_names.extend(f"metric-{k}" for k in range(1, metrics))
    return exp


def trials(exp: api_pb2.Experiment, condition: str) -> list[api_pb2.Trial]:
    """Trials as the operator sends them (core/proto_convert.py: objective, assignments, times, metrics)."""
    names = [p.name for p in exp.spec.parameter_specs.parameters]
    metrics = [exp.spec.objective.objective_metric_name, *exp.spec.objective.additional_metric_names]
    out = []
    for i in range(TRIALS):
        trial = m.trial(
            f"{exp.name}-{i:08x}",
            {name: f"{0.123456789012345 * (k + 1):.17g}" for k, name in enumerate(names)},
            condition,
            {metric: 0.987654321012345 for metric in metrics},
            start_time="2024-01-01T00:00:00Z",
            completion_time="2024-01-01T01:00:00Z" if condition == "Succeeded" else "",
        )
        trial.spec.objective.CopyFrom(exp.spec.objective)
        out.append(trial)
    return out


def channel_to(service: LocalService) -> grpc.Channel:
    return grpc.insecure_channel(f"127.0.0.1:{service.service.port}")  # sends any size


@pytest.mark.parametrize(("parameters", "metrics"), [(5, 2), (20, 5)])
def test_twenty_thousand_trials_are_read(serve: Serve, parameters: int, metrics: int) -> None:
    exp = experiment(parameters, metrics)
    request = api_pb2.GetSuggestionsRequest(
        experiment=exp, trials=trials(exp, "Succeeded"), current_request_number=2
    )
    assert 7 << 20 < request.ByteSize() < MAX_RECEIVE_BYTES / 2
    with channel_to(serve("random")) as channel:
        reply = api_pb2_grpc.SuggestionStub(channel).GetSuggestions(request, timeout=120)
    assert len(reply.parameter_assignments) == 2


def test_early_stopping_reads_twenty_thousand_trials(serve: Serve) -> None:
    exp = experiment(20, 5)
    request = api_pb2.GetEarlyStoppingRulesRequest(experiment=exp, trials=trials(exp, "Running"))
    with channel_to(serve("medianstop")) as channel:
        reply = api_pb2_grpc.EarlyStoppingStub(channel).GetEarlyStoppingRules(request, timeout=120)
    assert list(reply.early_stopping_rules) == []


@pytest.mark.parametrize(
    ("algorithm", "path"),
    [
        ("random", "/api.v1.beta1.Suggestion/GetSuggestions"),
        ("random", "/api.v1.beta1.Suggestion/ValidateAlgorithmSettings"),
        ("medianstop", "/api.v1.beta1.EarlyStopping/GetEarlyStoppingRules"),
        ("medianstop", "/grpc.health.v1.Health/Check"),
    ],
)
def test_requests_over_the_limit_are_resource_exhausted(serve: Serve, algorithm: str, path: str) -> None:
    service = serve(algorithm)
    huge = api_pb2.GetSuggestionsRequest(experiment=api_pb2.Experiment(name="x" * (MAX_RECEIVE_BYTES + 1)))
    with channel_to(service) as channel:
        call = channel.unary_unary(path, request_serializer=None, response_deserializer=None)
        with pytest.raises(grpc.RpcError) as err:
            call(huge.SerializeToString(), timeout=120)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, err.value
    assert service.client.health_status("") == health_pb2.HealthCheckResponse.SERVING
