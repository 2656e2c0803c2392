"""`katib-py ui`: serve the web UI for the cluster of the kubeconfig (or in-cluster credentials)."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from pathlib import Path
from typing import Any

TOKEN_ENV = "KATIB_PY_UI_TOKEN"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("ui", help="serve the web UI (experiments, trials, plots, logs)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080; 0: a free one)")
    parser.add_argument(
        "--kubeconfig", default=None, help="kubeconfig (default: in-cluster, else $KUBECONFIG)"
    )
    parser.add_argument(
        "--db-manager",
        default=None,
        help="db-manager HOST:PORT (default: the katib-db-manager Service of the core namespace)",
    )
    parser.add_argument("--core-namespace", default=os.environ.get("KATIB_CORE_NAMESPACE", "kubeflow"))
    parser.add_argument(
        "--token-file",
        type=Path,
        default=None,
        help=f"read the access token from this file (else ${TOKEN_ENV}, else a new random one)",
    )
    parser.add_argument("--url-file", type=Path, default=None, help="also write the URL (token inside) here")
    parser.set_defaults(func=run, log_default="WARNING")


def token_from(args: argparse.Namespace) -> str:
    from katib_py.ui.security import new_token

    if args.token_file is not None:
        token = str(args.token_file.read_text()).strip()
    else:
        token = str(os.environ.get(TOKEN_ENV, "")).strip() or new_token()
    if len(token) < 16:
        raise SystemExit("katib-py ui: the token must be at least 16 characters")
    return token


def run(args: argparse.Namespace) -> int:
    from katib_py.kube.client import KubeClient
    from katib_py.ui.app import serve, write_url

    token = token_from(args)

    async def main() -> None:
        kube = (
            KubeClient.from_kubeconfig(args.kubeconfig, user_agent="katib-py-ui")
            if args.kubeconfig
            else KubeClient.from_environment(user_agent="katib-py-ui")
        )
        runner, url = await serve(
            kube,
            host=args.host,
            port=args.port,
            token=token,
            db_manager=args.db_manager,
            core_namespace=args.core_namespace,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if args.url_file is not None:
            write_url(args.url_file, url)
        print(f"katib-py UI: {url}", flush=True)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    asyncio.run(main())
    return 0
