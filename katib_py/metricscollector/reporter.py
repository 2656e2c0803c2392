"""Sends metric logs to db-manager in batches, retrying with backoff until they are stored.

Nothing is dropped while db-manager or its database is down: logs wait in `pending` (the
collector stops reading the file when too many wait) and are sent again. A batch that was
stored but whose reply was lost is sent again too; db-manager drops the rows it already holds.
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

    def add(self, logs: Iterable[api_pb2.MetricLog]) -> None:
        self.pending.extend(logs)

    def try_flush(self, now: float | None = None) -> bool:
        """Send what is pending unless a retry is not due yet; True when nothing is left."""
        now = time.monotonic() if now is None else now
        while self.pending and now >= self._next_try:
            batch = list(islice(self.pending, MAX_BATCH))
            request = api_pb2.ReportObservationLogRequest(
                trial_name=self.trial_name, observation_log=api_pb2.ObservationLog(metric_logs=batch)
            )
            try:
                self.stub.ReportObservationLog(request, timeout=self.rpc_timeout)
            except grpc.RpcError as exc:
                code = exc.code() if isinstance(exc, grpc.Call) else None
                if code == grpc.StatusCode.INVALID_ARGUMENT:
                    log.error("db-manager rejected %d metric logs: %s", len(batch), exc)
                    for _ in batch:
                        self.pending.popleft()
                    continue
                self.failures += 1
                log.warning(
                    "report of %d metric logs failed (%s), retry in %.1fs", len(batch), code, self._delay
                )
                self._next_try = time.monotonic() + self._delay
                self._delay = min(self._delay * 2, MAX_RETRY_SECONDS)
                return False
            for _ in batch:
                self.pending.popleft()
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
