"""`katib-py validate FILE...`: default and validate Experiments offline, like the admission webhooks.

It applies what Katib's admission webhooks do on a cluster
(`pkg/webhook/v1beta1/experiment/mutate_webhook.go`, then
`pkg/webhook/v1beta1/experiment/validation_webhook.go`), minus the checks that need the cluster.
On success the defaulted objects are printed as YAML (multi-document); on failure every error is
printed as `FILE: path: message` on stderr and the exit status is 1. The algorithm, early-stopping
and collector names are checked against the packaged katib-config unless `--config` names another.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from katib_py.api.config import KatibConfig, KatibConfigError, default_katib_config, load_katib_config
from katib_py.api.defaults import apply_defaults
from katib_py.api.validation import FieldError, load_experiment, validate_experiment


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="apply defaults and validate Experiment YAML files",
        description="Apply Katib's defaults to each Experiment and validate it; print the defaulted YAML.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="YAML file(s), one or more documents each")
    parser.add_argument("--config", metavar="FILE", help="katib-config.yaml to check names against")
    parser.add_argument("-q", "--quiet", action="store_true", help="print 'FILE: valid' instead of the YAML")
    parser.set_defaults(func=run)


def validate_document(raw: Any, config: KatibConfig) -> tuple[dict[str, Any] | None, list[FieldError]]:
    """The defaulted object, or the errors of one YAML document."""
    exp, errors = load_experiment(raw)
    if exp is None:
        return None, errors
    defaulted = apply_defaults(exp)
    errors = validate_experiment(defaulted, config=config)
    return (None, errors) if errors else (defaulted.dump(), [])


def _read_documents(path: str) -> list[Any]:
    """Non-empty YAML documents of `path`; OSError or yaml.YAMLError on failure."""
    text = Path(path).read_text(encoding="utf-8")
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def run(args: argparse.Namespace) -> int:
    try:
        config = load_katib_config(Path(args.config).read_text()) if args.config else default_katib_config()
    except (OSError, KatibConfigError) as exc:
        print(f"{args.config}: cannot use as katib-config: {exc}", file=sys.stderr)
        return 1
    failed = False
    outputs: list[dict[str, Any]] = []
    for path in args.files:
        try:
            docs = _read_documents(path)
        except OSError as exc:
            print(f"{path}: cannot read: {exc.strerror or exc}", file=sys.stderr)
            failed = True
            continue
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            where = getattr(exc, "problem_mark", None)
            at = f" (line {where.line + 1}, column {where.column + 1})" if where is not None else ""
            print(f"{path}: not valid YAML{at}", file=sys.stderr)
            failed = True
            continue
        if not docs:
            print(f"{path}: no YAML documents in file", file=sys.stderr)
            failed = True
            continue
        for index, raw in enumerate(docs):
            where = path if len(docs) == 1 else f"{path}: document {index + 1}"
            defaulted, errors = validate_document(raw, config)
            for err in errors:
                print(f"{where}: {err}", file=sys.stderr)
            if errors:
                failed = True
            elif defaulted is not None:
                outputs.append(defaulted)
                if args.quiet:
                    name = defaulted.get("metadata", {}).get("name", "")
                    print(f"{where}: valid (Experiment {name})")
    if outputs and not args.quiet:
        sys.stdout.write(yaml.safe_dump_all(outputs, sort_keys=False, default_flow_style=False))
    return 1 if failed else 0
