"""What kube-apiserver fills in for the built-in kinds on create (the subset our clients look at)."""

from __future__ import annotations

import copy
from typing import Any

from .registry import ResourceInfo

Obj = dict[str, Any]


def _pod_spec(spec: Obj) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    if "serviceAccountName" not in spec:
        spec["serviceAccountName"] = spec.get("serviceAccount", "default")
    for key in ("containers", "initContainers"):
        for c in spec.get(key) or []:
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            c.setdefault("terminationMessagePolicy", "File")
            image = str(c.get("image", ""))
            c.setdefault(
                "imagePullPolicy",
                "Always" if image.endswith(":latest") or ":" not in image else "IfNotPresent",
            )
            c.setdefault("resources", {})
            for port in c.get("ports") or []:
                port.setdefault("protocol", "TCP")


def _job(obj: Obj, uid: str) -> None:
    spec = obj.setdefault("spec", {})
    if "completions" not in spec and "parallelism" not in spec:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    template = spec.setdefault("template", {})
    if not spec.get("manualSelector"):
        labels = template.setdefault("metadata", {}).setdefault("labels", {})
        name = obj["metadata"]["name"]
        labels.update(
            {
                "batch.kubernetes.io/controller-uid": uid,
                "batch.kubernetes.io/job-name": name,
                "controller-uid": uid,
                "job-name": name,
            }
        )
        spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    _pod_spec(template.setdefault("spec", {}))


def _deployment(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    spec.setdefault(
        "strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    )
    _pod_spec(spec.setdefault("template", {}).setdefault("spec", {}))


def _service(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))


def on_create(info: ResourceInfo, obj: Obj, uid: str) -> None:
    """Apply defaults and reset status the way the kind's registry strategy does."""
    if not info.builtin:
        return
    kind = (info.group, info.plural)
    if kind == ("", "namespaces"):
        spec = obj.setdefault("spec", {})
        spec["finalizers"] = ["kubernetes"]
        obj["status"] = {"phase": "Active"}
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    elif kind == ("", "pods"):
        _pod_spec(obj.setdefault("spec", {}))
        obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
    elif kind == ("batch", "jobs"):
        _job(obj, uid)
        obj["status"] = {}
    elif kind == ("apps", "deployments"):
        _deployment(obj)
        obj["status"] = {}
    elif kind == ("apps", "replicasets"):
        spec = obj.setdefault("spec", {})
        spec.setdefault("replicas", 1)
        _pod_spec(spec.setdefault("template", {}).setdefault("spec", {}))
        obj["status"] = {}
    elif kind == ("", "services"):
        _service(obj)
        obj["status"] = {"loadBalancer": {}}
    elif kind == ("", "secrets"):
        if not obj.get("type"):
            obj["type"] = "Opaque"
    elif info.has_status and info.plural not in ("nodes", "persistentvolumes", "persistentvolumeclaims"):
        obj.pop("status", None)


# events.k8s.io/v1 <-> core/v1 Event field names (the two APIs share one storage).
_EVENT_FIELDS = [
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
]


def event_to_core(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    for new, old in _EVENT_FIELDS:
        if new in out:
            out[old] = out.pop(new)
    out["apiVersion"], out["kind"] = "v1", "Event"
    return out


def event_from_core(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    for new, old in _EVENT_FIELDS:
        if old in out:
            out[new] = out.pop(old)
    out["apiVersion"], out["kind"] = "events.k8s.io/v1", "Event"
    return out
