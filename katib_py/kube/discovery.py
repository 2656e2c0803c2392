"""API discovery of every kind, for controllers that act on all of them (garbage collector, namespaces).

One kind at a time: `KubeClient.kind_for`.
"""

from __future__ import annotations

from dataclasses import dataclass

from katib_py.kube.client import KubeClient
from katib_py.kube.errors import ApiError
from katib_py.kube.resource import Resource


@dataclass(frozen=True)
class KindInfo:
    resource: Resource  # with its kind
    verbs: frozenset[str]


async def discover(client: KubeClient) -> list[KindInfo]:
    """Every listable, watchable top-level resource, once per group: at the group's preferred
    version, else at the first version that serves it (client-go's ServerPreferredResources; a
    group such as kubeflow.org serves Katib's v1beta1 kinds beside the Training Operator's v1)."""
    out: list[KindInfo] = []
    docs: list[tuple[str, str, str]] = []  # (group, version, path)
    core = await client.request("GET", "/api")
    for version in core.get("versions") or ["v1"]:
        docs.append(("", version, f"/api/{version}"))
    groups = await client.request("GET", "/apis")
    for group in groups.get("groups") or []:
        preferred = (group.get("preferredVersion") or {}).get("version")
        versions = [str(v.get("version")) for v in group.get("versions") or [] if v.get("version")]
        ordered = ([preferred] if preferred else []) + [v for v in versions if v != preferred]
        docs += [(group["name"], v, f"/apis/{group['name']}/{v}") for v in ordered]
    seen: set[tuple[str, str]] = set()
    for group_name, version, path in docs:
        try:
            doc = await client.request("GET", path)
        except (ApiError, OSError):
            continue
        for r in doc.get("resources") or []:
            name = r.get("name", "")
            verbs = frozenset(r.get("verbs") or [])
            if "/" in name or not {"list", "watch"} <= verbs or (group_name, name) in seen:
                continue
            seen.add((group_name, name))
            res = Resource(group_name, version, name, r.get("kind", ""), bool(r.get("namespaced")))
            out.append(KindInfo(res, verbs))
    return out
