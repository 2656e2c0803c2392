"""`katib-py suggestion serve --algorithm NAME [--listen HOST:PORT]`: run one algorithm service."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType
from typing import Any

from katib_py.suggestion.algorithm import ServiceOptions, known_algorithms
from katib_py.suggestion.server import default_listen, start_service


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("suggestion", help="run a suggestion or early-stopping algorithm service")
    sub = parser.add_subparsers(dest="suggestion_command", metavar="COMMAND", required=True)
    serve = sub.add_parser("serve", help="serve one algorithm over gRPC")
    serve.add_argument("--algorithm", required=True, choices=known_algorithms(), help="Katib algorithmName")
    serve.add_argument(
        "--listen",
        default=None,
        help="host:port (default 0.0.0.0:6789; early-stopping algorithms 0.0.0.0:6788)",
    )
    serve.add_argument(
        "--data-dir",
        default="/opt/katib/data",
        help="where pbt keeps per-trial checkpoint directories (the FromVolume mount)",
    )
    serve.add_argument("--log-level", default="INFO")
    serve.set_defaults(func=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    listen = args.listen or default_listen(args.algorithm)
    service = start_service(args.algorithm, listen, ServiceOptions(data_dir=args.data_dir))
    logging.getLogger(__name__).info("serving %s on %s (port %d)", args.algorithm, listen, service.port)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stop.wait()
    service.stop(grace=10.0)
    return 0
