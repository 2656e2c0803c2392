"""Sends metric logs to db-manager in batches, retrying with backoff until they are stored.

Nothing is dropped while db-manager or its database is down: logs wait in `pending` (the
collector stops reading the file when too many wait) and are sent again. A batch that was
stored but whose reply was lost is sent again too; db-manager drops the rows it already holds.

A request holds at most MAX_BATCH logs and MAX_REQUEST_BYTES, well under what db-manager accepts
(64 MiB; Katib's collector sends the whole file in one request). When a server answers
RESOURCE_EXHAUSTED all the same (a smaller limit on the way), the batch is halved; a single log
that still does not fit is dropped with an error. INVALID_ARGUMENT means db-manager refused some
rows and stored the others: the batch is not sent again.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterable
from itertools import islice

import grpc

from katib_py.proto import api_pb2, api_pb2_grpc

log = logging.getLogger(__name__)

MAX_BATCH = 10_000
MAX_REQUEST_BYTES = 4 << 20
FIRST_RETRY_SECONDS = 0.2
MAX_RETRY_SECONDS = 5.0
MAX_MESSAGE_BYTES = 2**31 - 1


class Reporter:
    """Pending metric logs of one trial and the db-manager connection that stores them."""

    def __init__(self, address: str, trial_name: str, rpc_timeout: float = 30.0) -> None:
        self.trial_name = trial_name
        self.rpc_timeout = rpc_timeout
        self.channel = grpc.insecure_channel(
            address,
            options=[
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ],
        )
        self.stub = api_pb2_grpc.DBManagerStub(self.channel)
        self.pending: deque[api_pb2.MetricLog] = deque()
        self.sent = 0
        self.failures = 0
        self._next_try = 0.0
        self._delay = FIRST_RETRY_SECONDS
        self.batch_bytes = MAX_REQUEST_BYTES

    def add(self, logs: Iterable[api_pb2.MetricLog]) -> None:
        self.pending.extend(logs)

    def _next_batch(self) -> list[api_pb2.MetricLog]:
        """The oldest pending logs that fit one request (at least one)."""
        batch: list[api_pb2.MetricLog] = []
        size = 0
        for metric_log in islice(self.pending, MAX_BATCH):
            size += metric_log.ByteSize() + 6  # the field's tag and length
            if batch and size > self.batch_bytes:
                break
            batch.append(metric_log)
        return batch

    def _drop(self, count: int) -> None:
        for _ in range(count):
            self.pending.popleft()

    def try_flush(self, now: float | None = None) -> bool:
        """Send what is pending unless a retry is not due yet; True when nothing is left."""
        now = time.monotonic() if now is None else now
        while self.pending and now >= self._next_try:
            batch = self._next_batch()
            request = api_pb2.ReportObservationLogRequest(
                trial_name=self.trial_name, observation_log=api_pb2.ObservationLog(metric_logs=batch)
            )
            try:
                self.stub.ReportObservationLog(request, timeout=self.rpc_timeout)
            except grpc.RpcError as exc:
                code = exc.code() if isinstance(exc, grpc.Call) else None
                if code == grpc.StatusCode.INVALID_ARGUMENT:
                    log.error("db-manager refused metric logs of a batch of %d: %s", len(batch), exc)
                    self._drop(len(batch))
                    continue
                if code == grpc.StatusCode.RESOURCE_EXHAUSTED and len(batch) > 1:
                    self.batch_bytes = max(1, request.ByteSize() // 2)
                    log.warning("a request of %d bytes was too large: sending halves", request.ByteSize())
                    continue
                if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
                    log.error("a metric log of %d bytes is too large to send: dropped", request.ByteSize())
                    self._drop(1)
                    continue
                self.failures += 1
                log.warning(
                    "report of %d metric logs failed (%s), retry in %.1fs", len(batch), code, self._delay
                )
                self._next_try = time.monotonic() + self._delay
                self._delay = min(self._delay * 2, MAX_RETRY_SECONDS)
                return False
            self._drop(len(batch))
            self.sent += len(batch)
            self._delay = FIRST_RETRY_SECONDS
            self._next_try = 0.0
            now = time.monotonic()
        return not self.pending

    def flush(self, deadline: float) -> bool:
        """Retry until everything is stored or the monotonic `deadline` passes."""
        while not self.try_flush():
            wait = max(0.0, self._next_try - time.monotonic())
            if time.monotonic() + wait > deadline:
                return False
            time.sleep(wait)
        return True

    def close(self) -> None:
        self.channel.close()
