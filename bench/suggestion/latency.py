"""GetSuggestions latency at a given history size: over gRPC, called directly, and the library alone."""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass

import numpy as np

from bench.suggestion.functions import FUNCTIONS
from bench.suggestion.quality import experiment_for
from katib_py.controller.services import method_path
from katib_py.core.proto_convert import join_request
from katib_py.proto import api_pb2, wire_pb2
from katib_py.suggestion import messages as m
from katib_py.suggestion.algorithm import ExperimentView
from katib_py.suggestion.client import LocalService
from katib_py.suggestion.history import TrialConverter
from katib_py.suggestion.server import build_algorithm


@dataclass
class Latency:
    algorithm: str
    history: int
    service_cold: float  # first call of a fresh service: the study is rebuilt from the request
    service_p50: float
    direct_p50: float  # the same algorithm object called in-process, no gRPC
    library_p50: float  # the library alone (Optuna ask+tell / scikit-optimize tell+ask)
    library_name: str


def _history(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    fn = FUNCTIONS["Hartmann6"]
    X = np.random.default_rng(seed).random((n, fn.dims))
    return X, np.array([fn(x) for x in X])


def _trials(X: np.ndarray, y: np.ndarray) -> list[api_pb2.Trial]:
    return [
        m.trial(
            f"t{i}", {f"x{j}": repr(float(v)) for j, v in enumerate(x)}, "Succeeded", {"loss": float(val)}
        )
        for i, (x, val) in enumerate(zip(X, y, strict=True))
    ]


def _paired_calls(
    paths: dict[str, Callable[[list[api_pb2.Trial]], dict[str, str]]], trials: list[api_pb2.Trial], calls: int
) -> dict[str, list[float]]:
    """Time each path's calls, taking turns, so a busy spell on a shared machine hits every path alike.

    Each path keeps its own history: every call adds the trial it proposed, as an experiment would.
    Which path goes first rotates from round to round: the first call of a round was measured 2-5 ms
    slower (multivariate-tpe, 1,000 trials, the same path called twice), and a fixed order charged
    that to the service.
    """
    fn = FUNCTIONS["Hartmann6"]
    histories = {name: list(trials) for name in paths}
    times: dict[str, list[float]] = {name: [] for name in paths}
    names = list(paths)
    for round_number in range(calls):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            call, history = paths[name], histories[name]
            start = time.perf_counter()
            assignment = call(history)
            times[name].append(time.perf_counter() - start)
            y = fn([float(assignment[f"x{j}"]) for j in range(fn.dims)])
            history.append(m.trial(f"t{len(history)}", assignment, "Succeeded", {"loss": y}))
    return times


def measure(algorithm: str, n: int, calls: int) -> Latency:
    fn = FUNCTIONS["Hartmann6"]
    X, y = _history(n, seed=n)
    trials = _trials(X, y)
    experiment = experiment_for(fn, algorithm, f"lat-{algorithm}-{n}", {"random_state": "0"})

    local = LocalService.start(algorithm)
    try:
        # Sent as the operator sends it: each trial's serialised chunk is kept, the request is a join.
        call = local.client.channel.unary_unary(
            method_path("Suggestion", "GetSuggestions"),
            request_serializer=None,
            response_deserializer=api_pb2.GetSuggestionsReply.FromString,
        )
        head = api_pb2.GetSuggestionsRequest(experiment=experiment, current_request_number=1)
        kept: list[bytes] = []

        def via_grpc(history: list[api_pb2.Trial]) -> dict[str, str]:
            kept.extend(
                api_pb2.GetSuggestionsRequest(trials=[t]).SerializeToString() for t in history[len(kept) :]
            )
            reply = call(join_request(head, kept), timeout=600)
            return m.assignments(reply)[0].assignment

        algo = build_algorithm(algorithm)
        view = ExperimentView.from_proto(experiment)
        converter = TrialConverter()  # as the servicer: records of unchanged trials are reused
        serialised: list[bytes] = []

        def direct(history: list[api_pb2.Trial]) -> dict[str, str]:
            # the servicer's work once the request is read with each trial left as bytes
            serialised.extend(t.SerializeToString() for t in history[len(serialised) :])
            records = converter.convert_serialised(view.name, view.metric, serialised)
            return algo.suggest(view, records, 1).trials[0].assignment  # type: ignore[union-attr]

        start = time.perf_counter()
        via_grpc(trials)
        cold = time.perf_counter() - start
        direct(trials)
        times = _paired_calls({"service": via_grpc, "direct": direct}, trials, calls)
    finally:
        local.stop()
    service, direct_times = times["service"], times["direct"]
    library_name, library_times = _library(algorithm, X, y, calls)
    return Latency(
        algorithm,
        n,
        cold,
        statistics.median(service),
        statistics.median(direct_times),
        statistics.median(library_times),
        library_name,
    )


def _library(algorithm: str, X: np.ndarray, y: np.ndarray, calls: int) -> tuple[str, list[float]]:
    fn = FUNCTIONS["Hartmann6"]
    times: list[float] = []
    if algorithm == "bayesianoptimization":
        from skopt import Optimizer

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opt = Optimizer(list(fn.bounds), base_estimator="GP", acq_func="gp_hedge", random_state=0)
            opt.tell([list(map(float, x)) for x in X[:-1]], [float(v) for v in y[:-1]])
            last_x, last_y = list(map(float, X[-1])), float(y[-1])
            for _ in range(min(calls, 3)):  # up to minutes a call; its p50 of 3 is plenty for the ratio
                start = time.perf_counter()
                opt.tell(last_x, last_y)  # Katib's skopt service: tell the new result, then ask
                x = opt.ask()
                times.append(time.perf_counter() - start)
                last_x, last_y = x, fn(x)
        return "scikit-optimize tell+ask", times

    import optuna
    from optuna.distributions import BaseDistribution, FloatDistribution
    from optuna.trial import create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sampler = optuna.samplers.TPESampler(
            seed=0, constant_liar=True, multivariate=algorithm == "multivariate-tpe"
        )
        study = optuna.create_study(sampler=sampler)
        dists: dict[str, BaseDistribution] = {
            f"x{j}": FloatDistribution(lo, hi) for j, (lo, hi) in enumerate(fn.bounds)
        }
        study.add_trials(
            [
                create_trial(
                    params={f"x{j}": float(v) for j, v in enumerate(x)}, distributions=dists, value=float(val)
                )
                for x, val in zip(X, y, strict=True)
            ]
        )
        for _ in range(calls):
            start = time.perf_counter()
            trial = study.ask(dists)
            times.append(time.perf_counter() - start)
            study.tell(trial, fn([trial.params[f"x{j}"] for j in range(fn.dims)]))
    return "Optuna ask", times


@dataclass
class Transport:
    history: int
    request_bytes: int
    encode_p50: float  # the client serialises the whole request
    join_p50: float  # the operator's way: each trial's chunk is kept, the request is a join
    decode_p50: float  # parsing the whole request
    read_p50: float  # our service's way: parse with every trial left as bytes (protos/wire.proto)
    rpc_p50: float  # a loopback gRPC call carrying the request's bytes to a server that drops them


def transport(n: int, repeats: int = 50) -> Transport:
    """What the wire adds per GetSuggestions call, measured without any algorithm work."""

    X, y = _history(n, seed=n)
    experiment = experiment_for(FUNCTIONS["Hartmann6"], "tpe", "wire", {})
    trials = _trials(X, y)
    request = api_pb2.GetSuggestionsRequest(experiment=experiment, trials=trials, current_request_number=1)
    head = api_pb2.GetSuggestionsRequest(experiment=experiment, current_request_number=1)
    chunks = [api_pb2.GetSuggestionsRequest(trials=[t]).SerializeToString() for t in trials]
    data = request.SerializeToString()
    assert api_pb2.GetSuggestionsRequest.FromString(join_request(head, chunks)) == request
    encode, join, decode, read = [], [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        request.SerializeToString()
        encode.append(time.perf_counter() - start)
        start = time.perf_counter()
        join_request(head, chunks)
        join.append(time.perf_counter() - start)
        start = time.perf_counter()
        api_pb2.GetSuggestionsRequest.FromString(data)
        decode.append(time.perf_counter() - start)
        start = time.perf_counter()
        list(wire_pb2.GetSuggestionsRequestTrialBytes.FromString(data).trials)
        read.append(time.perf_counter() - start)
    rpc = _loopback_call_times(data, repeats * 4)
    return Transport(
        n,
        len(data),
        statistics.median(encode),
        statistics.median(join),
        statistics.median(decode),
        statistics.median(read),
        statistics.median(rpc),
    )


def _loopback_call_times(data: bytes, calls: int) -> list[float]:
    """Round trips of `data` to a server on 127.0.0.1 whose handler does nothing: the gRPC part alone."""
    import grpc

    limit = [("grpc.max_receive_message_length", 2**31 - 1), ("grpc.max_send_message_length", 2**31 - 1)]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), options=limit)
    sink = grpc.unary_unary_rpc_method_handler(lambda request, context: b"")
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("bench.Sink", {"Drop": sink}),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}", options=limit) as channel:
            call = channel.unary_unary("/bench.Sink/Drop")
            call(data, timeout=10)  # connect first
            times = []
            for _ in range(calls):
                start = time.perf_counter()
                call(data, timeout=10)
                times.append(time.perf_counter() - start)
            return times
    finally:
        server.stop(0)


@dataclass
class OperatorRequest:
    history: int
    rebuild_p50: float  # every Trial converted and the whole request serialised, each call
    kept_p50: float  # each Trial's chunk kept (until its resourceVersion changes), the request joined


def operator_request(n: int, repeats: int = 5) -> OperatorRequest:
    """The operator's cost to produce one GetSuggestionsRequest from n Trial objects."""
    from katib_py.api.models import Trial
    from katib_py.core.proto_convert import request_chunk, trials_to_proto

    trials = [Trial.load(_trial_body(i)) for i in range(n)]
    experiment = experiment_for(FUNCTIONS["Hartmann6"], "tpe", "op", {})
    head = api_pb2.GetSuggestionsRequest(experiment=experiment, current_request_number=1)
    chunks = [request_chunk(t, api_pb2.GetSuggestionsRequest) for t in trials]
    rebuild, kept = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        api_pb2.GetSuggestionsRequest(
            experiment=experiment, trials=trials_to_proto(trials), current_request_number=1
        ).SerializeToString()
        rebuild.append(time.perf_counter() - start)
        start = time.perf_counter()
        join_request(head, chunks)
        kept.append(time.perf_counter() - start)
    return OperatorRequest(n, statistics.median(rebuild), statistics.median(kept))


def _trial_body(i: int) -> dict[str, object]:
    """A finished Trial as the API server returns it: objective, six assignments, two metrics."""
    return {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Trial",
        "metadata": {"name": f"t{i}", "namespace": "bench", "resourceVersion": str(i + 1)},
        "spec": {
            "objective": {
                "type": "minimize",
                "objectiveMetricName": "loss",
                "additionalMetricNames": ["acc"],
            },
            "parameterAssignments": [{"name": f"x{j}", "value": repr(0.123456789 * j + i)} for j in range(6)],
        },
        "status": {
            "startTime": "2026-01-01T00:00:00Z",
            "completionTime": "2026-01-01T00:01:00Z",
            "conditions": [
                {"type": "Created", "status": "True"},
                {"type": "Running", "status": "False"},
                {"type": "Succeeded", "status": "True"},
            ],
            "observation": {
                "metrics": [
                    {"name": "loss", "min": "0.1", "max": "0.9", "latest": "0.2"},
                    {"name": "acc", "min": "0.1", "max": "0.9", "latest": "0.8"},
                ]
            },
        },
    }
