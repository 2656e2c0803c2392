"""Where the terminal front ends (`katib-py watch`, `katib-py plot`) read an experiment: the
Kubernetes API, with the kubeconfig or in-cluster credentials kubectl would use."""

from __future__ import annotations

import argparse
from typing import Any

from katib_py.api.resources import EXPERIMENTS, TRIALS
from katib_py.core.suggestion_resources import LABEL_EXPERIMENT
from katib_py.kube.client import KubeClient
from katib_py.kube.errors import NotFound

Obj = dict[str, Any]


class SourceError(Exception):
    """The experiment cannot be read (not found, no credentials, API unreachable): said plainly."""


def add_parser(subparsers: Any, command: str, help: str) -> argparse.ArgumentParser:
    """A terminal front end's parser: the experiment's NAME and `-n NAMESPACE`, quiet logging."""
    parser: argparse.ArgumentParser = subparsers.add_parser(command, help=help)
    parser.add_argument("name", help="the Experiment's name")
    parser.add_argument("-n", "--namespace", default="default", help="its namespace (default: default)")
    parser.set_defaults(log_default="WARNING")
    return parser


def connect() -> KubeClient:
    try:
        return KubeClient.from_environment(user_agent="katib-py-ui")
    except Exception as exc:  # the kubernetes package's loaders raise several kinds
        raise SourceError(f"no Kubernetes credentials (in-cluster or $KUBECONFIG): {exc}") from None


def trial_selector(name: str) -> str:
    """The label selector of an experiment's trials (the label Katib puts on every trial)."""
    return f"{LABEL_EXPERIMENT}={name}"


async def load(client: KubeClient, namespace: str, name: str) -> tuple[Obj, list[Obj]]:
    """The Experiment and its Trials (sorted by name, as the API lists them)."""
    try:
        experiment = await client.get(EXPERIMENTS, name, namespace)
        trials = await client.list(TRIALS, namespace, label_selector=trial_selector(name))
    except NotFound:
        raise SourceError(f"experiment {namespace}/{name} not found") from None
    except OSError as exc:
        raise SourceError(f"cannot reach the Kubernetes API at {client.url}: {exc}") from None
    return experiment, trials
