"""Discovery documents: /api, /apis, /apis/G and the APIResourceList per group/version."""

from __future__ import annotations

from typing import Any

from .registry import ALL_VERBS, Registry, ResourceInfo

Obj = dict[str, Any]

KUBE_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-katib-py",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def core_versions(address: str) -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
    }


def _group(name: str, versions: list[str]) -> Obj:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def group_list(registry: Registry) -> Obj:
    groups = [_group(g, vs) for g, vs in registry.group_versions().items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry: Registry, name: str) -> Obj | None:
    versions = registry.group_versions().get(name)
    if not versions or not name:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def _entry(info: ResourceInfo) -> Obj:
    entry: Obj = {
        "name": info.plural,
        "singularName": info.singular_name,
        "namespaced": info.namespaced,
        "kind": info.kind,
        "verbs": ALL_VERBS
        if info.plural != "namespaces"
        else [v for v in ALL_VERBS if v != "deletecollection"],
    }
    if info.short_names:
        entry["shortNames"] = info.short_names
    if info.categories:
        entry["categories"] = info.categories
    return entry


def _sub(
    info: ResourceInfo,
    sub: str,
    kind: str,
    verbs: list[str],
    group: str | None = None,
    version: str | None = None,
) -> Obj:
    entry: Obj = {
        "name": f"{info.plural}/{sub}",
        "singularName": "",
        "namespaced": info.namespaced,
        "kind": kind,
        "verbs": verbs,
    }
    if group is not None:
        entry["group"] = group
        entry["version"] = version
    return entry


def resource_list(registry: Registry, group: str, version: str) -> Obj | None:
    infos = registry.in_group_version(group, version)
    if not infos:
        return None
    resources = []
    for info in sorted(infos, key=lambda i: i.plural):
        resources.append(_entry(info))
        if info.has_status:
            resources.append(_sub(info, "status", info.kind, ["get", "patch", "update"]))
        if info.has_scale:
            resources.append(_sub(info, "scale", "Scale", ["get", "patch", "update"], "autoscaling", "v1"))
        if "log" in info.extra_subresources:
            resources.append(_sub(info, "log", "Pod", ["get"]))
        if "eviction" in info.extra_subresources:
            resources.append(_sub(info, "eviction", "Eviction", ["create"], "policy", "v1"))
        if "finalize" in info.extra_subresources:
            resources.append(_sub(info, "finalize", info.kind, ["update"]))
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}
