"""`katib-py db-manager`: Katib's DBManager gRPC service on MySQL/MariaDB, PostgreSQL or SQLite."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType
from typing import Any

from katib_py.dbmanager import settings as db_settings
from katib_py.dbmanager.server import DBManagerServer
from katib_py.proto.serving import MAX_RECEIVE_BYTES


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "db-manager",
        help="run the DBManager gRPC service",
        description=(
            "Katib's db-manager. Database: --db-url, else KATIB_DB_URL, else DB_NAME=mysql|postgres with "
            "Katib's KATIB_MYSQL_* / KATIB_POSTGRESQL_* variables, else sqlite:///katib.db."
        ),
    )
    parser.add_argument("--listen", "--listen-address", default="0.0.0.0:6789", help="HOST:PORT to serve on")
    parser.add_argument("--db-url", default=None, help="SQLAlchemy URL, e.g. sqlite:///path/katib.db")
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=5.0,
        help="seconds one connection attempt may take (start-up retries forever with backoff)",
    )
    parser.add_argument(
        "--max-receive-bytes",
        type=int,
        default=MAX_RECEIVE_BYTES,
        help="largest request accepted; larger ones are RESOURCE_EXHAUSTED (Katib: 2 GiB, default 64 MiB)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = db_settings.load(db_url=args.db_url)
    server = DBManagerServer(settings, args.listen, args.connect_timeout, args.max_receive_bytes)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    while not stop.wait(3600):
        pass
    logging.getLogger(__name__).info("stopping db-manager")
    server.stop(grace=5.0)
    return 0
