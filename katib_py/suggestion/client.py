"""A blocking client for one algorithm service (used by benchmarks, tests and tools)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from katib_py.proto import api_pb2, api_pb2_grpc
from katib_py.suggestion.algorithm import ServiceOptions
from katib_py.suggestion.server import RunningService, start_service


@dataclass
class AlgorithmClient:
    """Stubs on one channel to a Suggestion or EarlyStopping service."""

    channel: grpc.Channel
    suggestion: api_pb2_grpc.SuggestionStub
    early_stopping: api_pb2_grpc.EarlyStoppingStub
    health: health_pb2_grpc.HealthStub

    @classmethod
    def connect(cls, address: str) -> AlgorithmClient:
        channel = grpc.insecure_channel(
            address,
            options=[
                ("grpc.max_receive_message_length", 2**31 - 1),
                ("grpc.max_send_message_length", 2**31 - 1),
            ],
        )
        return cls(
            channel,
            api_pb2_grpc.SuggestionStub(channel),
            api_pb2_grpc.EarlyStoppingStub(channel),
            health_pb2_grpc.HealthStub(channel),
        )

    def suggest(
        self,
        experiment: api_pb2.Experiment,
        trials: Sequence[api_pb2.Trial],
        count: int,
        total: int = 0,
        timeout: float = 60.0,
    ) -> api_pb2.GetSuggestionsReply:
        request = api_pb2.GetSuggestionsRequest(
            experiment=experiment,
            trials=list(trials),
            current_request_number=count,
            total_request_number=total or len(trials) + count,
        )
        reply: api_pb2.GetSuggestionsReply = self.suggestion.GetSuggestions(request, timeout=timeout)
        return reply

    def validate(self, experiment: api_pb2.Experiment, timeout: float = 30.0) -> None:
        self.suggestion.ValidateAlgorithmSettings(
            api_pb2.ValidateAlgorithmSettingsRequest(experiment=experiment), timeout=timeout
        )

    def health_status(self, service: str = "", timeout: float = 10.0) -> int:
        reply = self.health.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        status: int = reply.status
        return status

    def close(self) -> None:
        self.channel.close()


@dataclass
class LocalService:
    """A service started in this process and a client connected to it."""

    service: RunningService
    client: AlgorithmClient

    @classmethod
    def start(cls, algorithm: str, options: ServiceOptions | None = None) -> LocalService:
        service = start_service(algorithm, "127.0.0.1:0", options)
        return cls(service, AlgorithmClient.connect(f"127.0.0.1:{service.port}"))

    def suggest(
        self, experiment: api_pb2.Experiment, trials: Sequence[api_pb2.Trial], count: int, total: int = 0
    ) -> api_pb2.GetSuggestionsReply:
        return self.client.suggest(experiment, trials, count, total)

    def validate(self, experiment: api_pb2.Experiment) -> None:
        self.client.validate(experiment)

    def stop(self) -> None:
        self.client.close()
        self.service.stop(grace=0)
