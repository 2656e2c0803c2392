"""Start and stop an algorithm service: the gRPC server, its servicer and the standard health service."""

from __future__ import annotations

from concurrent import futures
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from threadpoolctl import threadpool_limits

from katib_py.proto import api_pb2, api_pb2_grpc
from katib_py.suggestion.algorithm import EarlyStoppingAlgorithm, ServiceOptions, SuggestionAlgorithm
from katib_py.suggestion.registry import load_algorithm_class
from katib_py.suggestion.servicer import EarlyStoppingServicer, SuggestionServicer

HEALTH_SERVICE_NAME = "manager.v1beta1.Suggestion"  # what Katib's gRPC probes ask for
SUGGESTION_LISTEN = "0.0.0.0:6789"
EARLY_STOPPING_LISTEN = "0.0.0.0:6788"
_MAX_MESSAGE = 2**31 - 1


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
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers),
        options=[
            ("grpc.max_receive_message_length", _MAX_MESSAGE),
            ("grpc.max_send_message_length", _MAX_MESSAGE),
        ],
    )
    if isinstance(algo, EarlyStoppingAlgorithm):
        api_pb2_grpc.add_EarlyStoppingServicer_to_server(  # type: ignore[no-untyped-call]  # generated
            EarlyStoppingServicer(algo), server
        )
    else:
        _add_suggestion_servicer(SuggestionServicer(algo), server)
    health_servicer = health.HealthServicer()
    for service in ("", HEALTH_SERVICE_NAME):
        health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    address = listen or default_listen(algo)
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    server.start()
    return RunningService(server, port, health_servicer, algo)


def _add_suggestion_servicer(servicer: SuggestionServicer, server: grpc.Server) -> None:
    """As the generated add_SuggestionServicer_to_server, but GetSuggestions gets the request's bytes.

    The servicer reads them with every trial left serialised (protos/wire.proto) and parses only the
    trials it has not seen (Katib resends the whole history on every call).
    """
    handlers = {
        "GetSuggestions": grpc.unary_unary_rpc_method_handler(
            servicer.GetSuggestionsSerialised,
            request_deserializer=None,
            response_serializer=api_pb2.GetSuggestionsReply.SerializeToString,
        ),
        "ValidateAlgorithmSettings": grpc.unary_unary_rpc_method_handler(
            servicer.ValidateAlgorithmSettings,
            request_deserializer=api_pb2.ValidateAlgorithmSettingsRequest.FromString,
            response_serializer=api_pb2.ValidateAlgorithmSettingsReply.SerializeToString,
        ),
    }
    name = api_pb2.DESCRIPTOR.services_by_name["Suggestion"].full_name
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(name, handlers),))
    server.add_registered_method_handlers(name, handlers)
