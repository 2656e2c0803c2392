"""The `katib-py` command: one entry point, one module per subcommand.

Each subcommand module exposes `register(subparsers)`, which adds its parser and sets
`func` (taking the parsed namespace, returning an exit status). Modules are imported
lazily-by-name so that `katib-py validate` does not pay for gRPC, kopf or optuna.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from katib_py.signals import remember_sigterm

# subcommand name -> module that registers it
COMMANDS: dict[str, str] = {
    "validate": "katib_py.api.validate_cmd",
    "cluster": "katib_py.localcluster.cli",
    "suggestion": "katib_py.suggestion.cli",
    "db-manager": "katib_py.dbmanager.cli",
    "metrics-collector": "katib_py.metricscollector.cli",
    "operator": "katib_py.controller.cli",
    "up": "katib_py.controller.up",
    "demo": "katib_py.controller.demo",
}


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="katib-py", description="Kubeflow Katib, in Python.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wanted = [a for a in argv if not a.startswith("-")][:1]
    # Import only the module of the command asked for (all of them for --help).
    names = wanted if wanted and wanted[0] in COMMANDS else list(COMMANDS)
    for name in names:
        try:
            module = importlib.import_module(COMMANDS[name])
        except ModuleNotFoundError as exc:
            if not exc.name or not COMMANDS[name].startswith(exc.name):
                raise
            continue  # a subcommand whose module is not part of this build
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["metrics-collector"]:
        remember_sigterm()  # before the heavy imports: a sidecar may be stopped right away
    parser = build_parser(args_list)
    args = parser.parse_args(args_list)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
