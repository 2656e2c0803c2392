"""Start and stop an algorithm service: the gRPC server, its servicer and the standard health service."""

from __future__ import annotations

from concurrent import futures
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2
from threadpoolctl import threadpool_limits

from katib_py.proto import api_pb2
from katib_py.proto.serving import add_servicer, server_options
from katib_py.suggestion.algorithm import EarlyStoppingAlgorithm, ServiceOptions, SuggestionAlgorithm
from katib_py.suggestion.registry import load_algorithm_class
from katib_py.suggestion.servicer import EarlyStoppingServicer, SuggestionServicer

HEALTH_SERVICE_NAME = "manager.v1beta1.Suggestion"  # what Katib's gRPC probes ask for
SUGGESTION_LISTEN = "0.0.0.0:6789"
EARLY_STOPPING_LISTEN = "0.0.0.0:6788"


def default_listen(algorithm: SuggestionAlgorithm | EarlyStoppingAlgorithm) -> str:
    """Katib's fixed addresses: the Suggestion service on 6789, the EarlyStopping service on 6788."""
    return EARLY_STOPPING_LISTEN if isinstance(algorithm, EarlyStoppingAlgorithm) else SUGGESTION_LISTEN


@dataclass
class RunningService:
    """A started server, the port it bound and its health servicer."""

    server: grpc.Server
    port: int
    health: health.HealthServicer
    algorithm: SuggestionAlgorithm | EarlyStoppingAlgorithm

    def stop(self, grace: float | None = 5.0) -> None:
        """Report NOT_SERVING, then stop accepting calls and let running ones finish within `grace`."""
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()


def build_algorithm(
    name: str, options: ServiceOptions | None = None
) -> SuggestionAlgorithm | EarlyStoppingAlgorithm:
    """An instance of the algorithm registered as `name` (registry.RegistryError if there is none)."""
    cls = load_algorithm_class(name)
    algorithm: SuggestionAlgorithm | EarlyStoppingAlgorithm = cls(options or ServiceOptions())
    return algorithm


def start_service(
    algorithm: str | SuggestionAlgorithm | EarlyStoppingAlgorithm,
    listen: str | None = None,
    options: ServiceOptions | None = None,
    max_workers: int = 10,
) -> RunningService:
    """Start serving `algorithm` on `listen` (host:port; port 0 picks a free one)."""
    algo = build_algorithm(algorithm, options) if isinstance(algorithm, str) else algorithm
    # One BLAS thread for the whole process: the algorithms' matrices are small, and extra threads
    # only spin on a busy node (a 3x slowdown of the GP's acquisition search was measured on 2 cores).
    threadpool_limits(limits=1)
    # Requests up to serving.MAX_RECEIVE_BYTES (64 MiB: 20,000 trials are 8-22 MiB); each method
    # parses its request, so a malformed one is INVALID_ARGUMENT.
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers), options=server_options())
    services = api_pb2.DESCRIPTOR.services_by_name
    if isinstance(algo, EarlyStoppingAlgorithm):
        add_servicer(server, services["EarlyStopping"], EarlyStoppingServicer(algo))
    else:
        # GetSuggestions gets the request's bytes: the servicer reads them with every trial left
        # serialised (protos/wire.proto) and parses only the trials it has not seen (Katib resends
        # the whole history on every call).
        servicer = SuggestionServicer(algo)
        add_servicer(
            server, services["Suggestion"], servicer, {"GetSuggestions": servicer.GetSuggestionsSerialised}
        )
    health_servicer = health.HealthServicer()
    for service in ("", HEALTH_SERVICE_NAME):
        health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
    add_servicer(server, health_pb2.DESCRIPTOR.services_by_name["Health"], health_servicer)
    address = listen or default_listen(algo)
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    server.start()
    return RunningService(server, port, health_servicer, algo)
