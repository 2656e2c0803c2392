"""`katib-py operator`: the controllers and the admission webhooks in one process."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
import sys
from typing import Any

from katib_py.controller.operator import Operator, OperatorOptions
from katib_py.core.sharding import parse_shard
from katib_py.settings import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "operator",
        help="run the Experiment, Suggestion and Trial controllers and the admission webhooks",
        description=(
            "Katib's controller manager: reconciles Experiments, Suggestions and Trials and serves the "
            "admission webhooks. Cluster credentials: in-cluster service account, else $KUBECONFIG."
        ),
    )
    parser.add_argument("--metrics-addr", default=":8080", help="Prometheus metrics HOST:PORT ('' disables)")
    parser.add_argument(
        "--health-addr", default="", help="liveness endpoint HOST:PORT, served at /healthz (default: off)"
    )
    parser.add_argument("--no-webhooks", action="store_true", help="run the controllers only")
    parser.add_argument("--webhook-addr", default="0.0.0.0", help="address the webhook server binds")
    parser.add_argument("--webhook-port", type=int, default=8443)
    parser.add_argument(
        "--webhook-insecure",
        action="store_true",
        help="plain-HTTP webhooks; configurations point at --webhook-url (embedded cluster)",
    )
    parser.add_argument(
        "--webhook-url", default=None, help="base URL the API server calls (with --webhook-insecure)"
    )
    parser.add_argument(
        "--webhook-service", default="katib-controller", help="the operator's Service (TLS mode)"
    )
    parser.add_argument(
        "--no-webhook-configurations",
        action="store_true",
        help="do not write the webhook configurations (e.g. the helm chart ships them)",
    )
    parser.add_argument(
        "--leader-elect",
        action="store_true",
        help="only the holder of the Lease reconciles (for more than one replica); "
        "default: katib-config init.controller.enableLeaderElection",
    )
    parser.add_argument(
        "--lease-duration", type=float, default=15.0, help="seconds a leader's Lease is valid"
    )
    parser.add_argument(
        "--shard",
        default=None,
        metavar="I/N",
        help="own only the Experiments of shard I of N (by a hash of namespace/name), with their "
        "Suggestions, Trials and jobs; run one replica per shard (default: $KATIB_OPERATOR_SHARD, else 0/1). "
        "Each shard elects its own leader with --leader-elect",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
        if args.shard is not None:
            settings = dataclasses.replace(settings, shard=parse_shard(args.shard))
    except ValueError as exc:
        print(f"katib-py operator: {exc}", file=sys.stderr)
        return 2
    options = OperatorOptions(
        metrics_addr=args.metrics_addr,
        health_addr=args.health_addr,
        webhook=not args.no_webhooks,
        webhook_addr=args.webhook_addr,
        webhook_port=args.webhook_port,
        webhook_insecure=args.webhook_insecure,
        webhook_url=args.webhook_url,
        webhook_service=args.webhook_service,
        write_webhook_configurations=not args.no_webhook_configurations,
        leader_elect=args.leader_elect,
        lease_duration=args.lease_duration,
    )
    return asyncio.run(_main(options, settings))


def _dump_tasks() -> None:
    """SIGUSR1: log where every asyncio task is waiting (to diagnose a stuck reconcile)."""
    import io

    out = io.StringIO()
    for task in asyncio.all_tasks():
        task.print_stack(limit=12, file=out)
    logging.getLogger(__name__).warning("asyncio tasks:\n%s", out.getvalue())


async def _main(options: OperatorOptions, settings: Settings) -> int:
    from katib_py.kube.client import KubeClient

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, _dump_tasks)
    operator = Operator(KubeClient.from_environment(), options, settings)
    if settings.shard.sharded:
        logging.getLogger(__name__).warning(
            "operator shard %s: owns the Experiments of that shard", settings.shard
        )
    if not options.leader_elect:
        config = await operator.ctx.config.get()
        options.leader_elect = config.init.controller.enable_leader_election
    operator.start_metrics()
    kept = await operator.run(stop)
    return 0 if kept else 1
