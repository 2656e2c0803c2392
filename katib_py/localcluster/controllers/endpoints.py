"""The Endpoints controller, and the embedded cluster's stand-in for kube-proxy.

For a Service with a selector it writes the Endpoints object (ready Pods in `addresses`,
others in `notReadyAddresses`, ports resolved by name against each Pod's container ports).
There is no virtual IP here: a Service's `spec.clusterIP` is the address of its first ready
endpoint (each Pod has its own 127.x.y.z), so dialing clusterIP:port reaches a Pod. The current
clusterIP is kept while it stays ready; with no ready endpoint the last one is kept. A
selectorless Service with hand-written Endpoints (a host process at 127.0.0.1, say) gets the
first address of those Endpoints. Headless Services (clusterIP None) keep None.
"""

from __future__ import annotations

import contextlib
from typing import Any

from katib_py.kube.client import KubeClient, Obj
from katib_py.kube.errors import AlreadyExists
from katib_py.kube.informer import Informer
from katib_py.kube.meta import Key, key_of
from katib_py.kube.resource import ENDPOINTS, SERVICES
from katib_py.kube.selectors import label_selector_matches
from katib_py.localcluster.controllers.base import Controller

from .pods import pod_is_ready, pod_is_terminal


def _resolve_port(target: Any, pod: Obj, default: int) -> int | None:
    if target is None:
        return default
    if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
        return int(target)
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == target:
                return int(p["containerPort"])
    return None


def endpoint_subsets(service: Obj, pods: list[Obj]) -> list[Obj]:
    """Endpoints subsets for `service` from candidate `pods`, grouped by resolved port set."""
    spec = service.get("spec") or {}
    selector = spec.get("selector") or {}
    publish = bool(spec.get("publishNotReadyAddresses"))
    groups: dict[tuple[tuple[str, int, str], ...], Obj] = {}
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        labels = pod["metadata"].get("labels") or {}
        if not label_selector_matches({"matchLabels": selector}, labels) or pod_is_terminal(pod):
            continue
        ip = (pod.get("status") or {}).get("podIP")
        if not ip:
            continue
        ports = []
        for sp in spec.get("ports") or []:
            port = _resolve_port(sp.get("targetPort"), pod, int(sp["port"]))
            if port is not None:
                ports.append((sp.get("name") or "", port, sp.get("protocol") or "TCP"))
        key = tuple(ports)
        subset = groups.setdefault(
            key,
            {
                "addresses": [],
                "notReadyAddresses": [],
                "ports": [
                    {"name": n, "port": p, "protocol": pr} if n else {"port": p, "protocol": pr}
                    for n, p, pr in ports
                ],
            },
        )
        address = {
            "ip": ip,
            "nodeName": (pod.get("spec") or {}).get("nodeName") or "local",
            "targetRef": {
                "kind": "Pod",
                "namespace": pod["metadata"].get("namespace"),
                "name": pod["metadata"]["name"],
                "uid": pod["metadata"].get("uid"),
            },
        }
        ready = pod_is_ready(pod) and not pod["metadata"].get("deletionTimestamp")
        subset["addresses" if ready or publish else "notReadyAddresses"].append(address)
    out = []
    for subset in groups.values():
        clean = {k: v for k, v in subset.items() if v}
        if clean.get("addresses") or clean.get("notReadyAddresses"):
            out.append(clean)
    return out


def choose_cluster_ip(current: str, subsets: list[Obj]) -> str:
    ready = [a["ip"] for s in subsets for a in s.get("addresses") or []]
    if current in ready:
        return current
    return ready[0] if ready else current


class EndpointsController(Controller):
    name = "endpoints-controller"

    def __init__(self, client: KubeClient, services: Informer, pods: Informer, endpoints: Informer) -> None:
        super().__init__(client)
        self.services = services
        self.pods = pods
        self.endpoints = endpoints
        services.add_listener(lambda _t, obj, _o: self.enqueue(key_of(obj)))
        endpoints.add_listener(lambda _t, obj, _o: self.enqueue(key_of(obj)))
        pods.add_listener(self._on_pod)

    def _on_pod(self, _kind: str, pod: Obj, old: Obj | None) -> None:
        ns = str(pod["metadata"].get("namespace") or "")
        labels = [pod["metadata"].get("labels") or {}]
        if old is not None:
            labels.append(old["metadata"].get("labels") or {})
        for svc in self.services.items(ns):
            selector = (svc.get("spec") or {}).get("selector")
            if selector and any(label_selector_matches({"matchLabels": selector}, lb) for lb in labels):
                self.enqueue(key_of(svc))

    async def reconcile(self, key: Key) -> None:
        ns, name = key
        svc = self.services.get(ns, name)
        if svc is None or svc["metadata"].get("deletionTimestamp"):
            return
        spec = svc.get("spec") or {}
        if spec.get("type") == "ExternalName":
            return
        current_ip = spec.get("clusterIP") or ""
        ep = self.endpoints.get(ns, name)
        if spec.get("selector"):
            subsets = endpoint_subsets(svc, self.pods.items(ns))
            body: Obj = {
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {
                    "name": name,
                    "namespace": ns,
                    "labels": dict(svc["metadata"].get("labels") or {}),
                },
                "subsets": subsets,
            }
            if ep is None:
                with contextlib.suppress(AlreadyExists):
                    await self.client.create(ENDPOINTS, body, ns)
            elif (ep.get("subsets") or []) != subsets:
                body["metadata"]["resourceVersion"] = ep["metadata"]["resourceVersion"]
                body["metadata"]["labels"] = ep["metadata"].get("labels") or body["metadata"]["labels"]
                await self.client.replace(ENDPOINTS, body)
        else:
            subsets = (ep or {}).get("subsets") or []
        if current_ip == "None":
            return
        wanted = choose_cluster_ip(current_ip, subsets)
        if wanted and wanted != current_ip:
            await self.client.patch(
                SERVICES, name, {"spec": {"clusterIP": wanted, "clusterIPs": [wanted]}}, ns
            )
