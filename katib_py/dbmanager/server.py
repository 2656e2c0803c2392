"""The db-manager process: gRPC server up at once, database reached in the background.

Katib's db-manager exits when the database is not there within --connect-timeout, so its pod
crash-loops while MySQL starts. Here the gRPC server listens immediately, health says
NOT_SERVING, and a start-up thread keeps trying the database with exponential backoff (a log
line per attempt) until it answers; then the schema is created or migrated and RPCs are served.
"""

from __future__ import annotations

import logging
import threading
from concurrent import futures

import grpc
from grpc_health.v1 import health_pb2
from sqlalchemy.exc import SQLAlchemyError

from katib_py.dbmanager import migrate
from katib_py.dbmanager.service import DatabaseHealthServicer, DBManagerServicer, StoreGate
from katib_py.dbmanager.settings import DBSettings
from katib_py.dbmanager.store import ObservationStore, make_engine
from katib_py.proto import api_pb2
from katib_py.proto.serving import MAX_RECEIVE_BYTES, add_servicer, server_options

log = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 30.0


class DBManagerServer:
    """Owns the gRPC server, the engine and the start-up thread."""

    def __init__(
        self,
        settings: DBSettings,
        listen: str = "0.0.0.0:6789",
        connect_timeout: float = 5.0,
        max_receive_bytes: int = MAX_RECEIVE_BYTES,
    ):
        self.settings = settings
        self.connect_timeout = connect_timeout
        self.gate = StoreGate()
        self.ready = threading.Event()
        self._stopping = threading.Event()
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=16), options=server_options(max_receive_bytes)
        )
        add_servicer(
            self.server, api_pb2.DESCRIPTOR.services_by_name["DBManager"], DBManagerServicer(self.gate)
        )
        health = health_pb2.DESCRIPTOR.services_by_name["Health"]
        add_servicer(self.server, health, DatabaseHealthServicer(self.gate))
        self.port = self.server.add_insecure_port(listen)
        if self.port == 0:
            raise OSError(f"cannot listen on {listen}")
        self._startup = threading.Thread(target=self._connect_database, name="db-startup", daemon=True)
        self.engine = make_engine(settings.url, connect_timeout)

    def start(self) -> None:
        self.server.start()
        log.info("db-manager listening on port %d", self.port)
        self._startup.start()

    def _connect_database(self) -> None:
        delay = FIRST_RETRY_SECONDS
        attempt = 0
        while not self._stopping.is_set():
            attempt += 1
            try:
                if self.settings.skip_initialization:
                    migrate.check_table(self.engine)
                else:
                    migrate.upgrade(self.engine)
            except (SQLAlchemyError, OSError) as exc:
                log.warning(
                    "database %s not ready (attempt %d, retry in %.1fs): %s",
                    self.settings.url.render_as_string(hide_password=True),
                    attempt,
                    delay,
                    str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__,
                )
                self._stopping.wait(delay)
                delay = min(delay * 2, MAX_RETRY_SECONDS)
                continue
            self.gate.open(ObservationStore(self.engine))
            self.ready.set()
            log.info("database ready: %s", self.settings.url.render_as_string(hide_password=True))
            return

    def stop(self, grace: float = 5.0) -> None:
        """Finish in-flight RPCs (up to `grace` seconds), then close the pool."""
        self._stopping.set()
        self.server.stop(grace).wait()
        self.engine.dispose()

    def wait(self) -> None:
        self.server.wait_for_termination()
