"""The objects a Suggestion owns, built from the katib-config.

Katib's composer (`pkg/controller.v1beta1/suggestion/composer/composer.go`), called by
`ReconcileSuggestion` in `pkg/controller.v1beta1/suggestion/suggestion_controller.go`.

Deployment and Service `<suggestion>-<algorithm>` run the algorithm service (and the early-stopping
service as a second container when asked); a ServiceAccount, Role and RoleBinding of the same name
let the early-stopping service patch trial status; FromVolume adds a PVC (and a PV when the config
carries a persistentVolumeSpec) so that the algorithm's state survives a restart.
"""

from __future__ import annotations

import copy
from typing import Any

from katib_py.api.config import DEFAULT_VOLUME_MOUNT_PATH, EarlyStoppingConfig, KatibConfig, SuggestionConfig
from katib_py.api.models import API_VERSION, Suggestion
from katib_py.kube import meta as kmeta
from katib_py.kube.meta import ObjectMeta, OwnerReference

SUGGESTION_PORT = 6789
SUGGESTION_PORT_NAME = "suggestion-api"
EARLY_STOPPING_PORT = 6788
EARLY_STOPPING_PORT_NAME = "earlystop-api"
SUGGESTION_CONTAINER = "suggestion"
EARLY_STOPPING_CONTAINER = "early-stopping"
VOLUME_NAME = "suggestion-volume"
GRPC_HEALTH_SERVICE = "manager.v1beta1.Suggestion"

LABEL_DEPLOYMENT = "katib.kubeflow.org/deployment"
LABEL_EXPERIMENT = "katib.kubeflow.org/experiment"
LABEL_SUGGESTION = "katib.kubeflow.org/suggestion"

Obj = dict[str, Any]


class ComposeError(ValueError):
    """The katib-config cannot run this suggestion (missing entry, conflicting port)."""


def _name(s: Suggestion) -> str:
    return (s.metadata.name if s.metadata else None) or ""


def _namespace(s: Suggestion) -> str:
    return (s.metadata.namespace if s.metadata else None) or "default"


def algorithm_name(s: Suggestion) -> str:
    return (s.spec.algorithm.algorithm_name if s.spec and s.spec.algorithm else None) or ""


def resource_name(s: Suggestion) -> str:
    """`<suggestion>-<algorithm>`: Deployment, Service, PVC, ServiceAccount, Role and RoleBinding."""
    return f"{_name(s)}-{algorithm_name(s)}"


def volume_name(s: Suggestion) -> str:
    """The cluster-scoped PV: `<suggestion>-<algorithm>-<namespace>`."""
    return f"{resource_name(s)}-{_namespace(s)}"


def suggestion_labels(s: Suggestion) -> dict[str, str]:
    """The Deployment's selector."""
    return {LABEL_DEPLOYMENT: resource_name(s), LABEL_EXPERIMENT: _name(s), LABEL_SUGGESTION: _name(s)}


def owner_reference(s: Suggestion) -> OwnerReference:
    uid = (s.metadata.uid if s.metadata else None) or ""
    return kmeta.owner_reference({"metadata": {"name": _name(s), "uid": uid}}, API_VERSION, "Suggestion")


def _meta(s: Suggestion, name: str, *, with_labels: bool = True) -> ObjectMeta:
    labels = dict((s.metadata.labels if s.metadata else None) or {})
    labels.update(suggestion_labels(s))
    meta: ObjectMeta = {"name": name, "namespace": _namespace(s), "ownerReferences": [owner_reference(s)]}
    if with_labels:
        meta["labels"] = labels
    return meta


def has_early_stopping(s: Suggestion) -> bool:
    return bool(s.spec and s.spec.early_stopping and s.spec.early_stopping.algorithm_name)


def _suggestion_config(s: Suggestion, config: KatibConfig) -> SuggestionConfig:
    entry = config.suggestion(algorithm_name(s))
    if entry is None:
        raise ComposeError(f"katib-config has no suggestion entry with an image for {algorithm_name(s)!r}")
    return entry


def _early_stopping_config(s: Suggestion, config: KatibConfig) -> EarlyStoppingConfig:
    name = (s.spec.early_stopping.algorithm_name if s.spec and s.spec.early_stopping else None) or ""
    entry = config.early_stopping(name)
    if entry is None:
        raise ComposeError(f"katib-config has no early stopping entry with an image for {name!r}")
    return entry


def service_account_name(s: Suggestion, config: KatibConfig) -> str | None:
    """The configured service account; with early stopping and none configured, our own."""
    configured = _suggestion_config(s, config).service_account_name
    if configured:
        return configured
    return resource_name(s) if has_early_stopping(s) else None


def _grpc_probe(initial: int, period: int, failure: int | None = None) -> Obj:
    probe: Obj = {
        "grpc": {"port": SUGGESTION_PORT, "service": GRPC_HEALTH_SERVICE},
        "initialDelaySeconds": initial,
        "periodSeconds": period,
    }
    if failure is not None:
        probe["failureThreshold"] = failure
    return probe


def _suggestion_container(s: Suggestion, config: KatibConfig) -> Obj:
    container = _suggestion_config(s, config).container(SUGGESTION_CONTAINER)
    ports = list(container.get("ports") or [])
    for port in ports:
        if port.get("containerPort") == SUGGESTION_PORT or port.get("name") == SUGGESTION_PORT_NAME:
            raise ComposeError(
                f"katib-config suggestion {algorithm_name(s)!r} must not declare port {SUGGESTION_PORT} "
                f"or a port named {SUGGESTION_PORT_NAME!r}"
            )
    ports.append({"name": SUGGESTION_PORT_NAME, "containerPort": SUGGESTION_PORT})
    container["ports"] = ports
    if config.init.controller.enable_grpc_probe_in_suggestion:
        # Katib waits a fixed 10 s before the first readiness probe (initialDelaySeconds 10), which
        # is most of the time to the first trial. A startup probe every second (for up to 2
        # minutes) says when the service serves; the kubelet runs the readiness probe as soon as
        # the startup probe passes, and readiness and liveness keep Katib's periods after that.
        # Each can still be set per algorithm in katib-config (the entry is a corev1.Container).
        container.setdefault("startupProbe", _grpc_probe(0, 1, 120))
        container.setdefault("readinessProbe", _grpc_probe(0, 10))
        container.setdefault("livenessProbe", _grpc_probe(0, 120, 12))
    if s.spec and s.spec.resume_policy == "FromVolume":
        path = _suggestion_config(s, config).volume_mount_path or DEFAULT_VOLUME_MOUNT_PATH
        mounts = list(container.get("volumeMounts") or [])
        mounts.append({"name": VOLUME_NAME, "mountPath": path})
        container["volumeMounts"] = mounts
    return container


def _early_stopping_container(s: Suggestion, config: KatibConfig) -> Obj:
    entry = _early_stopping_config(s, config)
    container: Obj = {
        "name": EARLY_STOPPING_CONTAINER,
        "image": entry.image,
        "imagePullPolicy": entry.image_pull_policy,
        "resources": copy.deepcopy(entry.resources),
        "ports": [{"name": EARLY_STOPPING_PORT_NAME, "containerPort": EARLY_STOPPING_PORT}],
    }
    if entry.command:
        container["command"] = list(entry.command)
    if entry.args:
        container["args"] = list(entry.args)
    if entry.env:
        container["env"] = copy.deepcopy(entry.env)
    return container


def deployment(s: Suggestion, config: KatibConfig) -> Obj:
    """The algorithm service's Deployment (created once, never updated, as in Katib)."""
    selector = suggestion_labels(s)
    pod_labels = {**((s.metadata.labels if s.metadata else None) or {}), **selector}
    containers = [_suggestion_container(s, config)]
    if has_early_stopping(s):
        containers.append(_early_stopping_container(s, config))
    pod_spec: Obj = {"containers": containers}
    sa = service_account_name(s, config)
    if sa:
        pod_spec["serviceAccountName"] = sa
    if s.spec and s.spec.resume_policy == "FromVolume":
        pod_spec["volumes"] = [
            {"name": VOLUME_NAME, "persistentVolumeClaim": {"claimName": resource_name(s)}}
        ]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(s, resource_name(s)),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": pod_labels, "annotations": {"sidecar.istio.io/inject": "false"}},
                "spec": pod_spec,
            },
        },
    }


def service(s: Suggestion) -> Obj:
    ports = [{"name": SUGGESTION_PORT_NAME, "port": SUGGESTION_PORT, "targetPort": SUGGESTION_PORT}]
    if has_early_stopping(s):
        ports.append(
            {"name": EARLY_STOPPING_PORT_NAME, "port": EARLY_STOPPING_PORT, "targetPort": EARLY_STOPPING_PORT}
        )
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(s, resource_name(s)),
        "spec": {"type": "ClusterIP", "selector": suggestion_labels(s), "ports": ports},
    }


def service_account(s: Suggestion) -> Obj:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(s, resource_name(s))}


def role(s: Suggestion) -> Obj:
    """What the early-stopping service does: get a Trial, then patch its status (Katib's medianstop
    service.py and katib_py.suggestion.trialstatus do just that).

    Katib's composer grants `*` on trials and trials/status, which its controller may only because
    its ClusterRole holds `*` too. RBAC refuses a Role granting more than its creator holds
    (pkg/registry/rbac/escalation_check.go), so this Role grants no more than the chart's operator
    ClusterRole (manifests/helm/katib-py/templates/rbac.yaml) holds, and only what is used.
    """
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": _meta(s, resource_name(s)),
        "rules": [
            {"apiGroups": ["kubeflow.org"], "resources": ["trials"], "verbs": ["get"]},
            {
                "apiGroups": ["kubeflow.org"],
                "resources": ["trials/status"],
                "verbs": ["get", "patch", "update"],
            },
        ],
    }


def role_binding(s: Suggestion) -> Obj:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _meta(s, resource_name(s)),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": resource_name(s)},
        "subjects": [{"kind": "ServiceAccount", "name": resource_name(s), "namespace": _namespace(s)}],
    }


def persistent_volume_claim(s: Suggestion, config: KatibConfig) -> Obj:
    entry = _suggestion_config(s, config)
    spec = copy.deepcopy(entry.persistent_volume_claim_spec)
    if entry.persistent_volume_spec:
        spec.setdefault("volumeName", volume_name(s))
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _meta(s, resource_name(s)),
        "spec": spec,
    }


def persistent_volume(s: Suggestion, config: KatibConfig) -> Obj | None:
    """The PV when the config asks for one; cluster scoped, no owner, reclaimPolicy Delete."""
    entry = _suggestion_config(s, config)
    if not entry.persistent_volume_spec:
        return None
    spec = copy.deepcopy(entry.persistent_volume_spec)
    spec["persistentVolumeReclaimPolicy"] = "Delete"
    meta: Obj = {"name": volume_name(s)}
    if entry.persistent_volume_labels:
        meta["labels"] = dict(entry.persistent_volume_labels)
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": meta, "spec": spec}
