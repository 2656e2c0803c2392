"""`katib-py metrics-collector`: Katib's file / StdOut / TensorFlowEvent sidecar, with Katib's flags.

Flags are Go-style single-dash long names (`-s-db`, `-o-type`, `-stop-rule`, ...), exactly as the
pod webhook passes them; `--name` and `-name=value` work too, as with Go's flag package.
The kind comes from `-format` (TEXT or JSON: a log file); without `-format`, a directory path
means TensorFlowEvent. `-kind` may say it explicitly. `-m` and `-f` are `;`-joined lists as in
Katib, where `\\;` is a `;` inside an item (`katib_py.api.collector_flags.split_flag_list`).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from katib_py.api.collector_flags import split_flag_list
from katib_py.metricscollector.collector import Collector, CollectorConfig
from katib_py.metricscollector.parse import compile_filters
from katib_py.metricscollector.stoprules import MODES, parse_stop_rule

DEFAULT_FILE_PATH = "/var/log/katib/metrics.log"
DEFAULT_TFEVENT_DIR = "/log"

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration_seconds(text: str) -> float:
    """A Go duration (`1s`, `1m30s`, `500ms`) or plain seconds (`1`, `0.5`)."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    total, position = 0.0, 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position != len(text) or not text:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}")
    return total


def _flag(parser: argparse.ArgumentParser, name: str, **kwargs: Any) -> None:
    parser.add_argument(f"-{name}", f"--{name}", **kwargs)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "metrics-collector",
        help="run the metrics collector sidecar",
        description=__doc__,
        allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _flag(parser, "t", dest="trial_name", required=True, help="trial name")
    _flag(
        parser,
        "m",
        dest="metric_names",
        required=True,
        help="metric names separated by ';' (a ';' in a name written '\\;'), objective first",
    )
    _flag(parser, "o-type", dest="objective_type", default="maximize", help="minimize | maximize")
    _flag(
        parser, "s-db", dest="db_manager", default="katib-db-manager.kubeflow:6789", help="db-manager address"
    )
    _flag(parser, "path", dest="path", default=None, help="metrics file, or event file directory")
    _flag(parser, "f", dest="filters", default="", help="TEXT filters (RE2, 2 groups) separated by ';'")
    _flag(parser, "format", dest="format", default=None, help="TEXT | JSON")
    _flag(
        parser, "kind", dest="kind", default=None, help="StdOut | File | TensorFlowEvent (default: inferred)"
    )
    _flag(
        parser, "w", dest="wait_all", default="true", help="wait for all containers' processes (true|false)"
    )
    _flag(
        parser, "stop-rule", dest="stop_rules", action="append", default=[], help="name;value;comparison;step"
    )
    _flag(
        parser,
        "stop-rule-mode",
        dest="stop_rule_mode",
        default="all",
        choices=MODES,
        help="stop when all rules are met (Katib) or at the first one (katib-py, e.g. asha)",
    )
    _flag(parser, "s-earlystop", dest="early_stop", default="", help="early stopping service address")
    _flag(parser, "timeout", dest="timeout", type=duration_seconds, default=0.0, help="wait limit, 0 = none")
    _flag(parser, "p", dest="poll", type=duration_seconds, default=1.0, help="poll/report interval")
    parser.set_defaults(func=run)


def _kind(args: argparse.Namespace) -> str:
    if args.kind:
        kind = args.kind.lower()
        if kind == "tensorflowevent":
            return "TFEVENT"
        if kind == "stdout":
            return "TEXT"
        if kind != "file":
            raise SystemExit(f"unknown -kind {args.kind!r}")
    if args.format:
        fmt = str(args.format).upper()
        if fmt not in ("TEXT", "JSON"):
            raise SystemExit(f"-format must be TEXT or JSON, not {args.format!r}")
        return fmt
    if args.kind is None and (args.path is None or Path(args.path).is_dir()):
        return "TFEVENT" if args.path else "TEXT"
    return "TEXT"


def config_from_args(args: argparse.Namespace) -> CollectorConfig:
    kind = _kind(args)
    default_path = DEFAULT_TFEVENT_DIR if kind == "TFEVENT" else DEFAULT_FILE_PATH
    filters = split_flag_list(args.filters)
    compile_filters(filters)  # fail fast on a bad filter
    names = [n.strip() for n in split_flag_list(args.metric_names) if n.strip()]
    if not names:
        raise SystemExit("-m needs at least the objective metric name")
    return CollectorConfig(
        trial_name=args.trial_name,
        metric_names=names,
        maximize=args.objective_type.lower() == "maximize",
        db_manager_address=args.db_manager,
        kind=kind,
        path=Path(args.path or default_path),
        filters=filters,
        stop_rules=[parse_stop_rule(rule) for rule in args.stop_rules],
        stop_on_any_rule=args.stop_rule_mode == "any",
        early_stop_address=args.early_stop,
        wait_all=args.wait_all.strip().lower() in ("true", "1", "t", "yes"),
        poll_seconds=args.poll,
        timeout_seconds=args.timeout,
    )


def run(args: argparse.Namespace) -> int:
    collector = Collector(config_from_args(args))
    try:
        return collector.run()
    finally:
        collector.reporter.close()
