"""A blocking client for one algorithm service (used by benchmarks, tests and tools)."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO

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
            api_pb2_grpc.SuggestionStub(channel),  # type: ignore[no-untyped-call]  # generated
            api_pb2_grpc.EarlyStoppingStub(channel),  # type: ignore[no-untyped-call]  # generated
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


@dataclass
class ServiceProcess:
    """A service started as a command (`katib-py suggestion serve ...`, or any other) and a client to it."""

    process: subprocess.Popen[bytes]
    client: AlgorithmClient
    output: IO[bytes]

    @classmethod
    def start(
        cls,
        argv: Sequence[str],
        address: str,
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 60.0,
    ) -> ServiceProcess:
        """Run `argv` and wait until `address` accepts connections (RuntimeError with its output if not)."""
        output = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
        process = subprocess.Popen(list(argv), cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)
        started = cls(process, AlgorithmClient.connect(address), output)
        try:
            grpc.channel_ready_future(started.client.channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            process.kill()
            process.wait()
            text = started.read_output()
            started.stop()
            raise RuntimeError(
                f"{' '.join(argv)} did not serve on {address} within {timeout:g} s:\n{text}"
            ) from None
        return started

    def read_output(self) -> str:
        self.output.seek(0)
        return self.output.read().decode(errors="replace")

    def stop(self, grace: float = 30.0) -> int:
        """SIGTERM (as Kubernetes stops a container), SIGKILL after `grace` seconds; the exit status."""
        self.client.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.output.close()
        return self.process.returncode
