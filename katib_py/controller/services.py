"""gRPC clients of the services the controllers call: suggestion, early stopping, db-manager.

A service is addressed as Katib does (`<name>.<namespace>:<port>`) and resolved to its clusterIP
through the Kubernetes API, so the same code works from a Pod on a real cluster, from a laptop
against a cluster, and against the embedded control plane (where a Service's clusterIP is the
address of its ready endpoint).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TypeVar

import grpc
from grpc import aio
from prometheus_client import Histogram

from katib_py.core.observation import MetricLog
from katib_py.kube.client import KubeClient
from katib_py.kube.resource import SERVICES
from katib_py.proto import api_pb2, api_pb2_grpc

R = TypeVar("R", api_pb2.GetSuggestionsReply, api_pb2.GetEarlyStoppingRulesReply)


# A reply may be larger than gRPC's 4 MiB default: GetObservationLog of one metric with 90,000
# logs already is. Requests go as large as the services receive (katib_py.proto.serving).
CHANNEL_OPTIONS = [("grpc.max_receive_message_length", 1 << 30), ("grpc.max_send_message_length", 1 << 30)]


class ServiceUnavailable(Exception):
    """The service has no address yet (no ready endpoint) or does not answer."""


@dataclass(frozen=True)
class ValidationFailure:
    message: str


class Services:
    """Resolves service addresses and keeps one channel per target."""

    def __init__(self, kube: KubeClient, db_manager_address: str) -> None:
        self.kube = kube
        self.db_manager_address = db_manager_address
        self.call_seconds: Histogram | None = None  # the operator's katib_py_service_call_duration_seconds
        self._channels: dict[str, aio.Channel] = {}

    async def resolve(self, address: str) -> str:
        """`name.namespace:port` (or `ip:port`) to `clusterIP:port`."""
        host, _, port = address.rpartition(":")
        parts = host.split(".")
        if all(p.isdigit() for p in parts) or host in ("localhost",):
            return address
        name, namespace = parts[0], parts[1] if len(parts) > 1 else "default"
        svc = await self.kube.get_or_none(SERVICES, name, namespace)
        ip = ((svc or {}).get("spec") or {}).get("clusterIP")
        if not ip or ip == "None":
            raise ServiceUnavailable(f"service {namespace}/{name} has no address yet")
        return f"{ip}:{port}"

    def channel(self, target: str) -> aio.Channel:
        channel = self._channels.get(target)
        if channel is None:
            channel = aio.insecure_channel(target, options=CHANNEL_OPTIONS)
            self._channels[target] = channel
        return channel

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()

    # ---------------------------------------------------------------- db-manager

    async def _db(self) -> api_pb2_grpc.DBManagerStub:
        return api_pb2_grpc.DBManagerStub(self.channel(await self.resolve(self.db_manager_address)))

    async def observation_logs(self, trial_name: str, metric_names: list[str]) -> list[MetricLog]:
        """GetObservationLog once per metric (objective first), concatenated."""
        stub = await self._db()
        logs: list[MetricLog] = []
        for name in metric_names:
            try:
                reply = await stub.GetObservationLog(
                    api_pb2.GetObservationLogRequest(trial_name=trial_name, metric_name=name), timeout=30
                )
            except aio.AioRpcError as exc:
                raise ServiceUnavailable(f"db-manager: {exc.code().name}: {exc.details()}") from exc
            for entry in reply.observation_log.metric_logs:
                logs.append(MetricLog(entry.time_stamp, entry.metric.name, entry.metric.value))
        return logs

    async def report_unavailable(self, trial_name: str, metric_name: str) -> None:
        """A Push trial that never reported: record the `unavailable` sentinel, as Katib does."""
        stub = await self._db()
        log = api_pb2.ObservationLog(
            metric_logs=[
                api_pb2.MetricLog(
                    time_stamp="0001-01-01T00:00:00Z",
                    metric=api_pb2.Metric(name=metric_name, value="unavailable"),
                )
            ]
        )
        try:
            await stub.ReportObservationLog(
                api_pb2.ReportObservationLogRequest(trial_name=trial_name, observation_log=log), timeout=30
            )
        except aio.AioRpcError as exc:
            raise ServiceUnavailable(f"db-manager: {exc.code().name}: {exc.details()}") from exc

    async def delete_observation_log(self, trial_name: str) -> None:
        stub = await self._db()
        try:
            await stub.DeleteObservationLog(
                api_pb2.DeleteObservationLogRequest(trial_name=trial_name), timeout=30
            )
        except aio.AioRpcError as exc:
            raise ServiceUnavailable(f"db-manager: {exc.code().name}: {exc.details()}") from exc

    # ---------------------------------------------------------------- suggestion and early stopping

    async def validate_algorithm_settings(
        self, address: str, experiment: api_pb2.Experiment
    ) -> ValidationFailure | None:
        stub = api_pb2_grpc.SuggestionStub(self.channel(await self.resolve(address)))
        try:
            await stub.ValidateAlgorithmSettings(
                api_pb2.ValidateAlgorithmSettingsRequest(experiment=experiment),
                timeout=10,
                wait_for_ready=True,
            )
        except aio.AioRpcError as exc:
            return _validation_result(exc)
        return None

    async def validate_early_stopping_settings(
        self, address: str, spec: api_pb2.EarlyStoppingSpec
    ) -> ValidationFailure | None:
        stub = api_pb2_grpc.EarlyStoppingStub(self.channel(await self.resolve(address)))
        try:
            await stub.ValidateEarlyStoppingSettings(
                api_pb2.ValidateEarlyStoppingSettingsRequest(early_stopping=spec),
                timeout=10,
                wait_for_ready=True,
            )
        except aio.AioRpcError as exc:
            return _validation_result(exc)
        return None

    async def get_suggestions(
        self, address: str, request: bytes, timeout: float
    ) -> api_pb2.GetSuggestionsReply:
        """GetSuggestions with an already serialised request (see proto_convert.join_request)."""
        return await self._call_serialised(
            address, "Suggestion", "GetSuggestions", request, api_pb2.GetSuggestionsReply, timeout
        )

    async def get_early_stopping_rules(self, address: str, request: bytes) -> list[api_pb2.EarlyStoppingRule]:
        """GetEarlyStoppingRules with an already serialised request."""
        reply = await self._call_serialised(
            address, "EarlyStopping", "GetEarlyStoppingRules", request, api_pb2.GetEarlyStoppingRulesReply, 60
        )
        return list(reply.early_stopping_rules)

    async def _call_serialised(
        self, address: str, service: str, method: str, request: bytes, reply_type: type[R], timeout: float
    ) -> R:
        """A unary call whose request is already bytes; errors become ServiceUnavailable."""
        call = self.channel(await self.resolve(address)).unary_unary(
            method_path(service, method),
            request_serializer=None,
            response_deserializer=reply_type.FromString,
        )
        started = time.perf_counter()
        try:
            reply: R = await call(request, timeout=timeout, wait_for_ready=True)
        except aio.AioRpcError as exc:
            raise ServiceUnavailable(f"{method}: {exc.code().name}: {exc.details()}") from exc
        if self.call_seconds is not None:
            self.call_seconds.labels(method).observe(time.perf_counter() - started)
        return reply


def method_path(service: str, method: str) -> str:
    """The gRPC path of a method of api.v1.beta1, e.g. /api.v1.beta1.Suggestion/GetSuggestions."""
    return f"/{api_pb2.DESCRIPTOR.services_by_name[service].full_name}/{method}"


def _validation_result(exc: aio.AioRpcError) -> ValidationFailure | None:
    """Katib's rule: InvalidArgument/Unknown fail validation; Unimplemented means valid; else retry."""
    code = exc.code()
    if code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNKNOWN):
        return ValidationFailure(exc.details() or code.name)
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return None
    raise ServiceUnavailable(f"validation: {code.name}: {exc.details()}") from exc
