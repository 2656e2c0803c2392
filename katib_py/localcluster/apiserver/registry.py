"""The kinds this server serves: the built-in ones, plus those registered by CRDs at run time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass
class ResourceInfo:
    """One served resource (group, version, plural) and how the server treats it."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short_names: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    has_status: bool = False
    has_scale: bool = False
    extra_subresources: list[str] = field(default_factory=list)
    singular: str = ""
    builtin: bool = True
    schema: dict[str, Any] | None = None
    printer_columns: list[dict[str, Any]] = field(default_factory=list)
    crd_name: str = ""

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_version(self) -> str:
        return self.group_version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def key(self) -> str:
        """Storage prefix: objects of one group/plural share it across versions."""
        return f"{self.group or 'core'}/{self.plural}"

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()


def _b(group: str, version: str, plural: str, kind: str, **kw: Any) -> ResourceInfo:
    return ResourceInfo(group, version, plural, kind, **kw)


BUILTINS: list[ResourceInfo] = [
    _b(
        "",
        "v1",
        "namespaces",
        "Namespace",
        namespaced=False,
        short_names=["ns"],
        has_status=True,
        extra_subresources=["finalize"],
    ),
    _b(
        "",
        "v1",
        "pods",
        "Pod",
        short_names=["po"],
        categories=["all"],
        has_status=True,
        extra_subresources=["log", "eviction"],
    ),
    _b("", "v1", "services", "Service", short_names=["svc"], categories=["all"], has_status=True),
    _b("", "v1", "endpoints", "Endpoints", short_names=["ep"]),
    _b("", "v1", "configmaps", "ConfigMap", short_names=["cm"]),
    _b("", "v1", "secrets", "Secret"),
    _b("", "v1", "serviceaccounts", "ServiceAccount", short_names=["sa"]),
    _b("", "v1", "events", "Event", short_names=["ev"]),
    _b("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", short_names=["pvc"], has_status=True),
    _b(
        "",
        "v1",
        "persistentvolumes",
        "PersistentVolume",
        namespaced=False,
        short_names=["pv"],
        has_status=True,
    ),
    _b("", "v1", "nodes", "Node", namespaced=False, short_names=["no"], has_status=True),
    _b("", "v1", "resourcequotas", "ResourceQuota", short_names=["quota"], has_status=True),
    _b("", "v1", "limitranges", "LimitRange", short_names=["limits"]),
    _b(
        "apps",
        "v1",
        "deployments",
        "Deployment",
        short_names=["deploy"],
        categories=["all"],
        has_status=True,
        has_scale=True,
    ),
    _b(
        "apps",
        "v1",
        "replicasets",
        "ReplicaSet",
        short_names=["rs"],
        categories=["all"],
        has_status=True,
        has_scale=True,
    ),
    _b("apps", "v1", "statefulsets", "StatefulSet", short_names=["sts"], categories=["all"], has_status=True),
    _b("apps", "v1", "daemonsets", "DaemonSet", short_names=["ds"], categories=["all"], has_status=True),
    _b("batch", "v1", "jobs", "Job", categories=["all"], has_status=True),
    _b("batch", "v1", "cronjobs", "CronJob", short_names=["cj"], categories=["all"], has_status=True),
    _b("coordination.k8s.io", "v1", "leases", "Lease"),
    _b("events.k8s.io", "v1", "events", "Event", short_names=["ev"]),
    # Not stored: a create is answered with the review's decision (kubectl auth can-i).
    _b("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", namespaced=False),
    _b("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    _b("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    _b("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False),
    _b("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", namespaced=False),
    _b(
        "admissionregistration.k8s.io",
        "v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        namespaced=False,
    ),
    _b(
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        namespaced=False,
    ),
    _b(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        namespaced=False,
        short_names=["crd", "crds"],
        has_status=True,
    ),
    _b("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", namespaced=False, short_names=["pc"]),
    _b("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", short_names=["pdb"], has_status=True),
]

# events.k8s.io/v1 Events are the same objects as core/v1 Events: one storage key.
_SHARED_KEYS = {("events.k8s.io", "events"): "core/events"}


def storage_key(info: ResourceInfo) -> str:
    return _SHARED_KEYS.get((info.group, info.plural), info.key)


class Registry:
    """Lookup of served resources by group/version/plural; CRDs add and remove entries."""

    def __init__(self) -> None:
        self._by_gvr: dict[tuple[str, str, str], ResourceInfo] = {}
        self.generation = 0
        for info in BUILTINS:
            self.add(info)

    def add(self, info: ResourceInfo) -> None:
        self._by_gvr[(info.group, info.version, info.plural)] = info
        self.generation += 1

    def remove_crd(self, crd_name: str) -> list[ResourceInfo]:
        gone = [i for i in self._by_gvr.values() if i.crd_name == crd_name]
        for info in gone:
            del self._by_gvr[(info.group, info.version, info.plural)]
        if gone:
            self.generation += 1
        return gone

    def get(self, group: str, version: str, plural: str) -> ResourceInfo | None:
        return self._by_gvr.get((group, version, plural))

    def all(self) -> list[ResourceInfo]:
        return list(self._by_gvr.values())

    def by_kind(self, group: str, version: str, kind: str) -> ResourceInfo | None:
        for info in self._by_gvr.values():
            if info.group == group and info.version == version and info.kind == kind:
                return info
        return None

    def group_versions(self) -> dict[str, list[str]]:
        """group -> served versions, the preferred (first registered) first."""
        out: dict[str, list[str]] = {}
        for info in self._by_gvr.values():
            versions = out.setdefault(info.group, [])
            if info.version not in versions:
                versions.append(info.version)
        return out

    def in_group_version(self, group: str, version: str) -> list[ResourceInfo]:
        return [i for i in self._by_gvr.values() if i.group == group and i.version == version]


def infos_from_crd(crd: dict[str, Any]) -> list[ResourceInfo]:
    """The ResourceInfo per served version of an apiextensions.k8s.io/v1 CRD."""
    spec = crd.get("spec", {})
    names = spec.get("names", {})
    out = []
    versions = sorted(spec.get("versions", []), key=lambda v: not v.get("storage", False))
    for ver in versions:
        if not ver.get("served", True):
            continue
        subs = ver.get("subresources") or {}
        out.append(
            ResourceInfo(
                group=spec.get("group", ""),
                version=ver["name"],
                plural=names.get("plural", ""),
                kind=names.get("kind", ""),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=list(names.get("shortNames") or []),
                categories=list(names.get("categories") or []),
                has_status="status" in subs,
                has_scale="scale" in subs,
                singular=names.get("singular", ""),
                builtin=False,
                schema=(ver.get("schema") or {}).get("openAPIV3Schema"),
                printer_columns=list(ver.get("additionalPrinterColumns") or []),
                crd_name=crd["metadata"]["name"],
            )
        )
    return out
