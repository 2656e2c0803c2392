"""`halton`: a Katib suggestion service written without katib-py, as any Katib custom image is.

It speaks Katib's gRPC API (`api.v1.beta1`, protos/api.proto) with nothing but grpcio, the standard
gRPC health service (grpcio-health-checking) and the stubs generated from api.proto:

    python -m grpc_tools.protoc -I protos --python_out=DIR --grpc_python_out=DIR protos/api.proto

(DIR beside this file, or on PYTHONPATH). It listens on 0.0.0.0:6789, the address every Katib
suggestion service uses: the operator's Service targets port 6789, and its probes ask the health
service for `manager.v1beta1.Suggestion`. docs/custom-algorithms.md shows how katib-config runs it.

The algorithm is the Halton low-discrepancy sequence: point i has coordinate k equal to the
radical inverse of i in the k-th prime base, mapped onto parameter k (linear or logarithmic for
int/double, list position for discrete/categorical). Points cover the space more evenly than random
draws. Trial i of an experiment gets point `start_index + i + 1` (point 0 is the all-zero corner),
where i counts the assignments handed out before, which the operator sends as
total_request_number - current_request_number: the service keeps no state and survives restarts.

Setting: `start_index` (integer >= 0, default 0). normal and logNormal distributions are refused
(a Halton point is uniform in the unit cube).
"""

from __future__ import annotations

import argparse
import logging
import math
import signal
import threading
from concurrent import futures
from types import FrameType
from typing import Any

import api_pb2  # generated from protos/api.proto
import api_pb2_grpc  # generated from protos/api.proto
import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

NAME = "halton"
LISTEN = "0.0.0.0:6789"
HEALTH_SERVICE = "manager.v1beta1.Suggestion"  # what Katib's readiness and liveness probes ask
PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97)

log = logging.getLogger(NAME)


class Invalid(ValueError):
    """An experiment this service cannot serve; becomes INVALID_ARGUMENT."""


def radical_inverse(index: int, base: int) -> float:
    """The digits of `index` in `base`, mirrored around the radix point (van der Corput)."""
    result, scale = 0.0, 1.0 / base
    while index > 0:
        index, digit = divmod(index, base)
        result += digit * scale
        scale /= base
    return result


def start_index(experiment: Any) -> int:
    value = 0
    for setting in experiment.spec.algorithm.algorithm_settings:
        if setting.name == "suggestion_end_reached":
            continue  # katib-py round-trips this reply setting; it is not ours
        if setting.name != "start_index":
            raise Invalid(
                f"unknown setting {setting.name!r} for algorithm {NAME} (known settings: start_index)"
            )
        try:
            value = int(setting.value)
        except ValueError:
            value = -1
        if value < 0:
            raise Invalid(f"setting start_index must be an integer >= 0, got {setting.value!r}")
    return value


def check_parameters(experiment: Any) -> None:
    specs = experiment.spec.parameter_specs.parameters
    if not specs:
        raise Invalid("the experiment has no parameters")
    if len(specs) > len(PRIMES):
        raise Invalid(f"algorithm {NAME} supports at most {len(PRIMES)} parameters, got {len(specs)}")
    for spec in specs:
        fs = spec.feasible_space
        if spec.parameter_type in (api_pb2.INT, api_pb2.DOUBLE):
            if fs.distribution in (api_pb2.NORMAL, api_pb2.LOG_NORMAL):
                raise Invalid(f"parameter {spec.name}: algorithm {NAME} supports uniform and logUniform only")
            try:
                low, high = float(fs.min), float(fs.max)
            except ValueError:
                raise Invalid(f"parameter {spec.name}: min and max must be numbers") from None
            if not low <= high:
                raise Invalid(f"parameter {spec.name}: min {fs.min} is greater than max {fs.max}")
            if fs.distribution == api_pb2.LOG_UNIFORM and low <= 0:
                raise Invalid(f"parameter {spec.name}: logUniform needs min > 0")
        elif spec.parameter_type in (api_pb2.DISCRETE, api_pb2.CATEGORICAL):
            if not fs.list:
                raise Invalid(f"parameter {spec.name}: feasibleSpace.list is empty")
        else:
            raise Invalid(f"parameter {spec.name}: unsupported parameter type {spec.parameter_type}")


def value_at(spec: Any, u: float) -> str:
    """The assignment text of parameter `spec` at unit coordinate u in [0, 1)."""
    fs = spec.feasible_space
    if spec.parameter_type in (api_pb2.DISCRETE, api_pb2.CATEGORICAL):
        return str(fs.list[min(int(u * len(fs.list)), len(fs.list) - 1)])
    is_int = spec.parameter_type == api_pb2.INT
    low, high = float(fs.min), float(fs.max)
    step = float(fs.step) if fs.step else (1.0 if is_int else 0.0)
    if fs.distribution == api_pb2.LOG_UNIFORM:
        x = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
        if step:
            x = low + round((x - low) / step) * step
    elif step:
        count = math.floor((high - low) / step + 1e-9) + 1  # low, low + step, ..., not above high
        x = low + min(int(u * count), count - 1) * step
    else:
        x = low + u * (high - low)
    x = min(max(x, low), high)
    return str(round(x)) if is_int else f"{x:.10g}"


class HaltonSuggestion:
    """The Suggestion service: GetSuggestions and ValidateAlgorithmSettings."""

    def ValidateAlgorithmSettings(self, request: Any, context: grpc.ServicerContext) -> Any:
        experiment = request.experiment
        try:
            if experiment.spec.algorithm.algorithm_name not in ("", NAME):
                raise Invalid(f"this service runs {NAME!r}, not {experiment.spec.algorithm.algorithm_name!r}")
            start_index(experiment)
            check_parameters(experiment)
        except Invalid as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        return api_pb2.ValidateAlgorithmSettingsReply()

    def GetSuggestions(self, request: Any, context: grpc.ServicerContext) -> Any:
        experiment = request.experiment
        try:
            offset = start_index(experiment)
            check_parameters(experiment)
        except Invalid as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        count = max(request.current_request_number, 0)
        # Assignments handed out before this call (Katib: requests - suggestionCount); a client that
        # does not fill total_request_number gets the trials' count.
        before = request.total_request_number - count
        if before < 0:
            before = len(request.trials)
        specs = experiment.spec.parameter_specs.parameters
        reply = api_pb2.GetSuggestionsReply()
        for i in range(before, before + count):
            point = reply.parameter_assignments.add()
            index = offset + i + 1
            for spec, base in zip(specs, PRIMES, strict=False):
                point.assignments.add(name=spec.name, value=value_at(spec, radical_inverse(index, base)))
        log.info("experiment %s: points %d..%d", experiment.name, before + 1, before + count)
        return reply


def serve(listen: str) -> tuple[grpc.Server, health.HealthServicer, int]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    api_pb2_grpc.add_SuggestionServicer_to_server(HaltonSuggestion(), server)
    health_servicer = health.HealthServicer()
    for service in ("", HEALTH_SERVICE):
        health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port(listen)
    server.start()
    return server, health_servicer, port


def main() -> None:
    parser = argparse.ArgumentParser(description="Halton-sequence suggestion service (Katib api.v1.beta1)")
    parser.add_argument("--listen", default=LISTEN, help=f"host:port to serve on (default {LISTEN})")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    server, health_servicer, port = serve(args.listen)
    log.info("serving %s on %s (port %d)", NAME, args.listen, port)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stop.wait()
    health_servicer.enter_graceful_shutdown()
    server.stop(5).wait()


if __name__ == "__main__":
    main()
