"""Mark a Trial EarlyStopped through the Kubernetes API, as Katib's medianstop service does.

The early-stopping container runs in the Suggestion's pod with a ServiceAccount allowed to patch
trials/status in its namespace. The namespace is the pod's own (env KATIB_NAMESPACE or
POD_NAMESPACE, else the service-account namespace file, else "default"). Katib appends the
condition (pkg/earlystopping/v1beta1/medianstop/service.py, `SetTrialStatus`).

The gRPC handler that calls it is synchronous, so each call runs the kit's async client on an
event loop of its own: SetTrialStatus is rare (once per stopped trial).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os

import aiohttp

from katib_py.api.resources import TRIALS
from katib_py.kube.client import KubeClient
from katib_py.kube.errors import NotFound
from katib_py.kube.rfc3339 import format_time

NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


def own_namespace() -> str:
    for var in ("KATIB_NAMESPACE", "POD_NAMESPACE"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        with open(NAMESPACE_FILE) as f:
            return f.read().strip() or "default"
    except OSError:
        return "default"


def early_stopped_condition(now: dt.datetime | None = None) -> dict[str, str]:
    stamp = format_time(now or dt.datetime.now(dt.UTC))
    return {
        "type": "EarlyStopped",
        "status": "True",
        "reason": "TrialEarlyStopped",
        "message": "Trial is early stopped",
        "lastUpdateTime": stamp,
        "lastTransitionTime": stamp,
    }


class TrialStatusWriter:
    """Credentials as kubectl finds them (in-cluster, else $KUBECONFIG / ~/.kube/config), read per call."""

    def __init__(self, namespace: str | None = None) -> None:
        self.namespace = namespace

    def mark_early_stopped(self, trial_name: str) -> None:
        """Raises LookupError for a missing trial, ConnectionError when the API is out of reach."""
        asyncio.run(self._mark(trial_name, self.namespace or own_namespace()))

    async def _mark(self, trial_name: str, namespace: str) -> None:
        try:
            client = KubeClient.from_environment(user_agent="katib-py-earlystopping")
        except Exception as exc:  # the kubernetes package's ConfigException, or an unreadable file
            raise ConnectionError(f"no Kubernetes configuration (in-cluster or kubeconfig): {exc}") from None
        try:
            trial = await client.get(TRIALS, trial_name, namespace)
            conditions = list((trial.get("status") or {}).get("conditions") or [])
            if any(c.get("type") == "EarlyStopped" and c.get("status") == "True" for c in conditions):
                return
            conditions.append(early_stopped_condition())
            await client.patch_status(TRIALS, trial_name, {"status": {"conditions": conditions}}, namespace)
        except NotFound:
            raise LookupError(f"trial {namespace}/{trial_name} not found") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise ConnectionError(f"Kubernetes API unreachable: {exc}") from None
        finally:
            await client.close()
