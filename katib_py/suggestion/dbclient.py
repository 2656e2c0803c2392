"""A small DBManager client: the observation log of one trial's metric, oldest first."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

import grpc

from katib_py.proto import api_pb2, api_pb2_grpc
from katib_py.proto.serving import MAX_SEND_BYTES

TIMEOUT_SECONDS = 10.0
V = TypeVar("V")


class PerExperiment(Generic[V]):
    """What finished trials' logs gave, by trial name, for the `size` experiments used last: those
    logs no longer change, so an early-stopping service reads each once."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._entries: OrderedDict[str, dict[str, V]] = OrderedDict()

    def entry(self, key: str) -> dict[str, V]:
        entry = self._entries.setdefault(key, {})
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return entry


class ObservationLogClient:
    """Reuses one channel per db-manager address."""

    def __init__(self) -> None:
        self._channels: dict[str, grpc.Channel] = {}
        self._lock = threading.Lock()

    def _stub(self, address: str) -> api_pb2_grpc.DBManagerStub:
        host, sep, port = address.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"db_manager_address must be host:port, got {address!r}")
        with self._lock:
            channel = self._channels.get(address)
            if channel is None:
                # A trial's log may pass gRPC's default 4 MiB; db-manager sends up to MAX_SEND_BYTES.
                channel = grpc.insecure_channel(
                    address, options=[("grpc.max_receive_message_length", MAX_SEND_BYTES)]
                )
                self._channels[address] = channel
        return api_pb2_grpc.DBManagerStub(channel)  # type: ignore[no-untyped-call]  # generated

    def metric_values(self, address: str, trial_name: str, metric: str) -> list[float]:
        """The trial's reported values of `metric`, ordered by time stamp (unparsable values skipped)."""
        try:
            reply = self._stub(address).GetObservationLog(
                api_pb2.GetObservationLogRequest(trial_name=trial_name, metric_name=metric),
                timeout=TIMEOUT_SECONDS,
            )
        except grpc.RpcError as exc:
            raise ConnectionError(f"db-manager at {address}: {exc.code().name}: {exc.details()}") from None
        logs = sorted(reply.observation_log.metric_logs, key=lambda m: m.time_stamp)
        values = []
        for entry in logs:
            if entry.metric.name != metric:
                continue
            try:
                values.append(float(entry.metric.value))
            except ValueError:
                continue
        return values

    def close(self) -> None:
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()
