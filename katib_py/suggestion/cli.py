"""`katib-py suggestion serve --algorithm NAME [--listen HOST:PORT]`: run one algorithm service.

NAME is any algorithm registered in the `katib_py.algorithms` entry-point group (built-in or from an
installed plug-in, see katib_py.suggestion.registry); `katib-py suggestion list` shows them.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType
from typing import Any

from katib_py.suggestion.algorithm import ServiceOptions


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("suggestion", help="run a suggestion or early-stopping algorithm service")
    sub = parser.add_subparsers(dest="suggestion_command", metavar="COMMAND", required=True)
    serve = sub.add_parser("serve", help="serve one algorithm over gRPC")
    serve.add_argument(
        "--algorithm",
        required=True,
        help="Katib algorithmName, as registered in the katib_py.algorithms entry-point group "
        "(see `katib-py suggestion list`)",
    )
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
    serve.set_defaults(func=serve_command)
    listing = sub.add_parser("list", help="the registered algorithms (name, entry point, package)")
    listing.add_argument(
        "--check", action="store_true", help="also import each one and report its kind or why it is broken"
    )
    listing.set_defaults(func=list_command)


def serve_command(args: argparse.Namespace) -> int:
    # Imported here: `katib-py suggestion list` needs neither gRPC nor the algorithm's library.
    from katib_py.suggestion.registry import RegistryError
    from katib_py.suggestion.server import build_algorithm, default_listen, start_service

    try:
        algorithm = build_algorithm(args.algorithm, ServiceOptions(data_dir=args.data_dir))
    except RegistryError as exc:
        print(f"katib-py suggestion serve: {exc}", file=sys.stderr)
        return 2
    listen = args.listen or default_listen(algorithm)
    service = start_service(algorithm, listen)
    logging.getLogger(__name__).info("serving %s on %s (port %d)", args.algorithm, listen, service.port)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stop.wait()
    service.stop(grace=10.0)
    return 0


def list_command(args: argparse.Namespace) -> int:
    from katib_py.suggestion.registry import (
        RegistryError,
        is_early_stopping,
        load_algorithm_class,
        registrations,
    )

    status = 0
    for name, regs in sorted(registrations().items()):
        line = "\t".join([name, *(f"{r.target} ({r.distribution})" for r in regs)])
        if args.check:
            try:
                kind = "early stopping" if is_early_stopping(load_algorithm_class(name)) else "suggestion"
            except RegistryError as exc:
                kind, status = f"BROKEN: {exc}", 1
            line += f"\t{kind}"
        print(line)
    return status
