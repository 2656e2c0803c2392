"""Mark a Trial EarlyStopped through the Kubernetes API, as Katib's medianstop service does.

The early-stopping container runs in the Suggestion's pod with a ServiceAccount allowed to patch
trials/status in its namespace. The namespace is the pod's own (env KATIB_NAMESPACE or
POD_NAMESPACE, else the service-account namespace file, else "default").
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from typing import Any

GROUP, VERSION, PLURAL = "kubeflow.org", "v1beta1", "trials"
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
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "type": "EarlyStopped",
        "status": "True",
        "reason": "TrialEarlyStopped",
        "message": "Trial is early stopped",
        "lastUpdateTime": stamp,
        "lastTransitionTime": stamp,
    }


class TrialStatusWriter:
    """Lazily configured Kubernetes client (in-cluster config, else KUBECONFIG / ~/.kube/config)."""

    def __init__(self, namespace: str | None = None) -> None:
        self.namespace = namespace
        self._api: Any = None
        self._lock = threading.Lock()

    def _client(self) -> Any:
        with self._lock:
            if self._api is None:
                from kubernetes import client, config

                configuration = client.Configuration()
                try:
                    config.load_incluster_config(client_configuration=configuration)
                except config.ConfigException:
                    # Read KUBECONFIG now: the kubernetes package captures it at import time.
                    path = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
                    try:
                        config.load_kube_config(
                            config_file=path.split(os.pathsep)[0], client_configuration=configuration
                        )
                    except (config.ConfigException, OSError) as exc:
                        raise ConnectionError(
                            f"no Kubernetes configuration (in-cluster or kubeconfig): {exc}"
                        ) from None
                self._api = client.CustomObjectsApi(client.ApiClient(configuration))
            return self._api

    def mark_early_stopped(self, trial_name: str) -> None:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        api = self._client()
        namespace = self.namespace or own_namespace()
        try:
            trial = api.get_namespaced_custom_object_status(GROUP, VERSION, namespace, PLURAL, trial_name)
            conditions = list((trial.get("status") or {}).get("conditions") or [])
            if any(c.get("type") == "EarlyStopped" and c.get("status") == "True" for c in conditions):
                return
            conditions.append(early_stopped_condition())
            api.patch_namespaced_custom_object_status(
                GROUP, VERSION, namespace, PLURAL, trial_name, {"status": {"conditions": conditions}}
            )
        except ApiException as exc:
            if exc.status == 404:
                raise LookupError(f"trial {namespace}/{trial_name} not found") from None
            raise
        except HTTPError as exc:
            raise ConnectionError(f"Kubernetes API unreachable: {exc}") from None
