"""The metrics collector sidecar's run loop: read while the trial runs, report, stop early, finish.

Unlike Katib, which parses the whole file once the training process is gone, metrics are sent
every poll interval (or every batch of lines) while the trial runs. Lines without a timestamp
are stored at the zero time plus one microsecond per line number, so their order is kept and a
re-sent batch (or a restarted collector reading the file again) names the same rows, which
db-manager then does not store twice.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import grpc

from katib_py.kube import rfc3339
from katib_py.metricscollector.parse import JsonParser, TextParser, normalized, read_lines, time_text
from katib_py.metricscollector.pns import MainProcessWatch, pid_file, terminate_children
from katib_py.metricscollector.reporter import Reporter
from katib_py.metricscollector.stoprules import EarlyStopper, StopRule
from katib_py.metricscollector.tail import LineBlock, LineTail
from katib_py.proto import api_pb2, api_pb2_grpc
from katib_py.signals import EARLY_SIGTERM

log = logging.getLogger(__name__)

UNAVAILABLE = "unavailable"
MAX_PENDING = 50_000
BATCH_LINES = 1_000
EARLY_STOP_EXIT_WAIT = 60.0
FINAL_FLUSH_SECONDS = 300.0


@dataclass
class CollectorConfig:
    trial_name: str
    metric_names: list[str]
    maximize: bool
    db_manager_address: str
    kind: str  # "TEXT", "JSON" or "TFEVENT"
    path: Path
    filters: list[str] = field(default_factory=list)
    stop_rules: list[StopRule] = field(default_factory=list)
    stop_on_any_rule: bool = False  # -stop-rule-mode any
    early_stop_address: str = ""
    wait_all: bool = True
    poll_seconds: float = 1.0
    timeout_seconds: float = 0.0
    echo: bool = True
    watch_processes: bool = True

    @property
    def metrics_dir(self) -> Path:
        return self.path if self.kind == "TFEVENT" else self.path.parent


def metric_log(name: str, value: str, time_text: str) -> api_pb2.MetricLog:
    return api_pb2.MetricLog(time_stamp=time_text, metric=api_pb2.Metric(name=name, value=value))


class LineSource:
    """A TEXT or JSON log file, tailed; echoes every line to stdout like Katib's sidecar.

    TEXT is read a block of lines at a time (`TextParser.read`); JSON line by line.
    """

    def __init__(self, config: CollectorConfig) -> None:
        self.tail = LineTail(config.path)
        self.parser: TextParser | JsonParser = (
            JsonParser(config.metric_names)
            if config.kind == "JSON"
            else TextParser(config.metric_names, config.filters)
        )
        self.echo = config.echo
        self.unreadable = 0
        self.lines = 0
        self.read_any = False

    @property
    def malformed(self) -> int:
        """Lines skipped: unreadable ones, and those too long to hold (LineTail.max_line_bytes)."""
        return self.unreadable + self.tail.overlong

    def _convert(self, blocks: list[LineBlock]) -> list[tuple[str, str, str]]:
        if self.echo and blocks:
            sys.stdout.write("".join(normalized(b.data).decode("utf-8") for b in blocks))
            sys.stdout.flush()
        found: list[tuple[str, str, str]] = []
        for block in blocks:
            if isinstance(self.parser, TextParser):
                block_found, unreadable = self.parser.read(block.data, block.first)
            else:
                block_found, unreadable = read_lines(self.parser, block.lines())
            self.lines += block.data.count(b"\n")
            self.unreadable += unreadable
            found += block_found
        return found

    def poll(self) -> list[tuple[str, str, str]]:
        blocks = self.tail.poll_blocks()
        self.read_any = bool(blocks)
        return self._convert(blocks)

    def drain(self) -> Iterator[list[tuple[str, str, str]]]:
        """Everything left in the file, chunk by chunk, including a last unterminated line."""
        while blocks := self.tail.finish_blocks():
            yield self._convert(blocks)


class EventSource:
    """A directory of TF/tensorboardX event files."""

    def __init__(self, config: CollectorConfig) -> None:
        # imported here: numpy and the event protos are a third of the sidecar's start-up, and only
        # the TensorFlowEvent collector needs them (bench.collector_bench, start-up row)
        from katib_py.metricscollector.tfevents import TFEventDirectory

        self.reader = TFEventDirectory(config.path, config.metric_names)
        self.lines = 0
        self.read_any = False

    @property
    def malformed(self) -> int:
        return self.reader.malformed

    def poll(self) -> list[tuple[str, str, str]]:
        found = [(o.name, o.value, time_text(o.time, 0)) for o in self.reader.poll()]
        self.lines += len(found)
        self.read_any = bool(found)
        return found

    def drain(self) -> Iterator[list[tuple[str, str, str]]]:
        yield self.poll()


class Collector:
    """Reads metrics, reports them, applies the early-stopping rules, and decides when to finish."""

    def __init__(self, config: CollectorConfig, reporter: Reporter | None = None) -> None:
        self.config = config
        self.reporter = reporter or Reporter(config.db_manager_address, config.trial_name)
        self.source: LineSource | EventSource = (
            EventSource(config) if config.kind == "TFEVENT" else LineSource(config)
        )
        self.stopper = EarlyStopper(
            config.stop_rules, config.metric_names[0], config.maximize, config.stop_on_any_rule
        )
        self.watch = MainProcessWatch(config.metrics_dir, config.wait_all)
        self.terminated = threading.Event()
        self.objective_seen = False

    def on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        self.terminated.set()

    def _take(self, found: list[tuple[str, str, str]]) -> bool:
        """Queue observations for reporting; True when the early-stopping rules are all met."""
        objective = self.config.metric_names[0]
        stop = False
        for name, value, stamp in found:
            self.reporter.add([metric_log(name, value, stamp)])
            if name == objective:
                self.objective_seen = True
            if self.stopper.had_rules and not self.stopper.stopped:
                stop = self.stopper.observe(name, value) or stop
        return stop

    def run(self) -> int:
        """Collect until the main process ends, SIGTERM arrives or the rules stop the trial."""
        signal.signal(signal.SIGTERM, self.on_sigterm)
        if EARLY_SIGTERM.is_set():
            self.terminated.set()
        log.info(
            "collecting metrics %s of trial %s from %s (%s)",
            ";".join(self.config.metric_names),
            self.config.trial_name,
            self.config.path,
            self.config.kind,
        )
        started = time.monotonic()
        last_flush = last_check = started - self.config.poll_seconds
        while True:
            found: list[tuple[str, str, str]] = []
            self.source.read_any = False
            if len(self.reporter.pending) < MAX_PENDING:
                found = self.source.poll()
            if self._take(found):
                return self.early_stop()
            now = time.monotonic()
            if now - last_flush >= self.config.poll_seconds or len(self.reporter.pending) >= BATCH_LINES:
                self.reporter.try_flush(now)
                last_flush = now
            if self.terminated.is_set():
                log.info("SIGTERM: reading the rest of the metrics and stopping")
                return self.finish(ok=True)
            if self.config.watch_processes and now - last_check >= min(self.config.poll_seconds, 1.0):
                last_check = now
                state = self.watch.state()
                if state == "completed":
                    return self.finish(ok=True)
                if state == "failed":
                    log.error("training container failed (pid %s)", self.watch.main_pid)
                    return self.finish(ok=False)
            if self.config.timeout_seconds and now - started > self.config.timeout_seconds:
                log.error("timed out after %.0fs waiting for the training container", now - started)
                return self.finish(ok=False)
            if not self.source.read_any:
                self.terminated.wait(min(self.config.poll_seconds, 0.5))

    def _drain(self) -> bool:
        """Read everything left in the source; True when the rules fired meanwhile."""
        stop = False
        for found in self.source.drain():
            stop = self._take(found) or stop
            if len(self.reporter.pending) >= MAX_PENDING:
                self.reporter.flush(self._final_deadline())
        return stop

    def _final_deadline(self) -> float:
        budget = self.config.timeout_seconds or FINAL_FLUSH_SECONDS
        return time.monotonic() + budget

    def finish(self, ok: bool) -> int:
        self._drain()
        if ok and not self.objective_seen:
            stamp = (
                rfc3339.format(datetime.now(UTC)) if self.config.kind == "TFEVENT" else rfc3339.ZERO_TIME_TEXT
            )
            log.info("objective %s never reported: storing %r", self.config.metric_names[0], UNAVAILABLE)
            self.reporter.add([metric_log(self.config.metric_names[0], UNAVAILABLE, stamp)])
        stored = self.reporter.flush(self._final_deadline())
        self._summary()
        if not stored:
            log.error("%d metric logs could not be stored", len(self.reporter.pending))
            return 1
        return 0 if ok else 1

    def _summary(self) -> None:
        log.info(
            "read %d lines/records, reported %d metric logs, skipped %d malformed lines",
            self.source.lines,
            self.reporter.sent,
            self.source.malformed,
        )

    def early_stop(self) -> int:
        """All rules met: mark the pid file, stop training, report, and tell the early-stopping service."""
        main_pid = self.watch.main_pid if self.config.watch_processes and self.watch.discover() else None
        log.info("early-stopping rules met for trial %s", self.config.trial_name)
        if main_pid is not None:
            pid_file(self.config.metrics_dir, main_pid).write_text("early-stopped")
            terminate_children(main_pid)
        self._drain()
        stored = self.reporter.flush(self._final_deadline())
        if main_pid is not None:
            deadline = time.monotonic() + EARLY_STOP_EXIT_WAIT
            while self.watch.state() == "running" and time.monotonic() < deadline:
                time.sleep(0.2)
        self._set_trial_status()
        self._summary()
        return 0 if stored else 1

    def _set_trial_status(self) -> None:
        if not self.config.early_stop_address:
            log.warning("no -s-earlystop address: trial status not set")
            return
        deadline = time.monotonic() + FINAL_FLUSH_SECONDS
        delay = 0.2
        with grpc.insecure_channel(self.config.early_stop_address) as channel:
            stub = api_pb2_grpc.EarlyStoppingStub(channel)
            while True:
                try:
                    stub.SetTrialStatus(
                        api_pb2.SetTrialStatusRequest(trial_name=self.config.trial_name), timeout=30
                    )
                    return
                except grpc.RpcError as exc:
                    if time.monotonic() + delay > deadline:
                        log.error("SetTrialStatus failed: %s", exc)
                        return
                    log.warning("SetTrialStatus failed, retry in %.1fs", delay)
                    time.sleep(delay)
                    delay = min(delay * 2, 5.0)
