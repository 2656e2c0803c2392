"""The `katib-py` command: one entry point, one module per subcommand, one logging set-up.

Each subcommand module exposes `register(subparsers)`, which adds its parser and sets
`func` (taking the parsed namespace, returning an exit status). Modules are imported
lazily-by-name so that `katib-py validate` does not pay for gRPC, kopf or optuna.

Every command gets the same logging options here (`--log-level LEVEL`, `-v` for one level more
than the command's default, which a module may set with `set_defaults(log_default="WARNING")`),
and logging is configured once, in one format, before the command runs.
"""

from __future__ import annotations

import sys

from katib_py.signals import die_with_parent, remember_sigterm

if sys.argv[1:2] == ["metrics-collector"]:
    remember_sigterm()  # first thing: a native sidecar may be stopped while Python still imports

import argparse
import importlib
import logging
from collections.abc import Iterator, Sequence

# subcommand name -> module that registers it
COMMANDS: dict[str, str] = {
    "validate": "katib_py.api.validate_cmd",
    "cluster": "katib_py.localcluster.cli",
    "suggestion": "katib_py.suggestion.cli",
    "db-manager": "katib_py.dbmanager.cli",
    "metrics-collector": "katib_py.metricscollector.cli",
    "operator": "katib_py.controller.cli",
    "up": "katib_py.local.up",
    "demo": "katib_py.local.demo",
    "ui": "katib_py.ui.cli",
    "watch": "katib_py.ui.watch",
    "plot": "katib_py.ui.plot",
}

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# Libraries whose INFO lines are noise in a command's log unless DEBUG is asked for.
CHATTY = ("kopf", "aiohttp.access", "alembic", "optuna")


def _leaves(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield parser
        return
    for action in subs:
        for child in dict.fromkeys(action.choices.values()):
            yield from _leaves(child)


def _add_logging_options(parser: argparse.ArgumentParser) -> None:
    if any("--log-level" in a.option_strings for a in parser._actions):
        return
    default = str(parser.get_default("log_default") or "INFO")
    parser.add_argument(
        "--log-level", type=str.upper, choices=LEVELS, default=None, help=f"default {default}"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="one log level more than the default")


def log_level(args: argparse.Namespace) -> str:
    if getattr(args, "log_level", None):
        return str(args.log_level)
    default = str(getattr(args, "log_default", None) or "INFO")
    if getattr(args, "verbose", False):
        return LEVELS[max(0, LEVELS.index(default) - 1)]
    return default


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level, format=LOG_FORMAT, force=True)
    if level != "DEBUG":
        for name in CHATTY:
            logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))


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
    for leaf in _leaves(parser):
        if leaf is not parser:
            _add_logging_options(leaf)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["metrics-collector"]:
        remember_sigterm()  # before the heavy imports: a sidecar may be stopped right away
    die_with_parent()
    parser = build_parser(args_list)
    args = parser.parse_args(args_list)
    setup_logging(log_level(args))
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
