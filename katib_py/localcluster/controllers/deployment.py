"""The apps/v1 Deployment controller: Deployment -> Pods directly (no ReplicaSet objects).

Why direct: nothing katib-py runs reads ReplicaSets, and one controller level is half the
moving parts. Pods still look like a ReplicaSet made them: named `<deployment>-<hash>-<rand>`,
labelled `pod-template-hash=<hash>`, and the Progressing condition names the "replica set"
`<deployment>-<hash>` as Kubernetes does.

Rollout on a template change: `Recreate` deletes every old Pod first, then creates the new
ones; `RollingUpdate` (the default) is simplified to surge: create all new Pods, then delete the
old ones once the new ones are ready. Pods that ended (e.g. lost in a node restart) are deleted
and replaced. Status: observedGeneration, replicas, updatedReplicas, readyReplicas,
availableReplicas, unavailableReplicas, conditions Available (MinimumReplicasAvailable /
MinimumReplicasUnavailable) and Progressing (NewReplicaSetCreated, ReplicaSetUpdated,
NewReplicaSetAvailable).
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import time
from typing import Any

from katib_py.kube.client import KubeClient, Obj
from katib_py.kube.errors import NotFound
from katib_py.kube.informer import Informer
from katib_py.kube.meta import (
    Condition,
    Key,
    controller_ref,
    key_of,
    owner_reference,
    random_suffix,
    set_condition,
)
from katib_py.kube.resource import DEPLOYMENTS, PODS
from katib_py.kube.rfc3339 import now_time
from katib_py.localcluster.controllers.base import Controller

from .pods import pod_is_ready, pod_is_terminal

_SAFE = "bcdfghjklmnpqrstvwxz2456789"


def template_hash(template: Obj, collision_count: int = 0) -> str:
    """A short stable hash of the Pod template (fnv-1a 32 over canonical JSON, safe-encoded)."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        data += str(collision_count).encode()
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return "".join(_SAFE[ord(ch) % len(_SAFE)] for ch in str(h))


def _max_unavailable(spec: Obj, replicas: int) -> int:
    strategy = spec.get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return 0
    value: Any = (strategy.get("rollingUpdate") or {}).get("maxUnavailable", "25%")
    if isinstance(value, str) and value.endswith("%"):
        return math.floor(replicas * int(value[:-1]) / 100)
    return int(value)


class DeploymentController(Controller):
    name = "deployment-controller"

    def __init__(self, client: KubeClient, deployments: Informer, pods: Informer) -> None:
        super().__init__(client)
        self.deployments = deployments
        self.pods = pods
        self._expect: dict[str, dict[str, float]] = {}
        deployments.add_listener(lambda _t, obj, _o: self.enqueue(key_of(obj)))
        pods.add_listener(self._on_pod)

    def _on_pod(self, _kind: str, pod: Obj, _old: Obj | None) -> None:
        ref = controller_ref(pod)
        if ref and ref.get("kind") == "Deployment":
            self.enqueue((str(pod["metadata"].get("namespace") or ""), str(ref.get("name"))))

    async def reconcile(self, key: Key) -> None:
        ns, name = key
        dep = self.deployments.get(ns, name)
        if dep is None or dep["metadata"].get("deletionTimestamp"):
            return
        meta, spec = dep["metadata"], dep.get("spec") or {}
        uid = meta["uid"]
        replicas = 1 if spec.get("replicas") is None else int(spec["replicas"])
        template = spec.get("template") or {}
        phash = template_hash(template, int((dep.get("status") or {}).get("collisionCount") or 0))
        rs_name = f"{name}-{phash}"
        owned = [
            p for p in self.pods.items(ns) if (ref := controller_ref(p)) is not None and ref["uid"] == uid
        ]
        ended = [p for p in owned if pod_is_terminal(p) and not p["metadata"].get("deletionTimestamp")]
        live = [p for p in owned if not pod_is_terminal(p) and not p["metadata"].get("deletionTimestamp")]
        new = [p for p in live if (p["metadata"].get("labels") or {}).get("pod-template-hash") == phash]
        old = [p for p in live if p not in new]
        expected = self._expect.setdefault(uid, {})
        seen = {p["metadata"]["name"] for p in owned}
        for pname in list(expected):
            if pname in seen or time.monotonic() - expected[pname] > 30:
                expected.pop(pname)

        deletes: list[Obj] = list(ended)
        recreate = (spec.get("strategy") or {}).get("type") == "Recreate"
        creating = 0
        if recreate and old:
            deletes.extend(old)
        else:
            missing = replicas - len(new) - len(expected)
            for _ in range(max(0, missing)):
                pod = self._pod_from_template(dep, phash)
                made = await self.client.create(PODS, pod, ns)
                expected[made["metadata"]["name"]] = time.monotonic()
                creating += 1
            if missing < 0:
                extra = sorted(
                    new, key=lambda p: (pod_is_ready(p), p["metadata"].get("creationTimestamp", ""))
                )
                deletes.extend(extra[:-missing])
            new_ready = sum(1 for p in new if pod_is_ready(p))
            if old and new_ready >= replicas:
                deletes.extend(old)
        if deletes:
            await asyncio.gather(
                *(self.client.delete(PODS, p["metadata"]["name"], ns) for p in deletes),
                return_exceptions=True,
            )
        if creating:
            await self.events.record(
                dep, "ScalingReplicaSet", f"Scaled up replica set {rs_name} to {replicas}"
            )
        await self._update_status(dep, replicas, rs_name, live, new, old, creating)

    async def _update_status(
        self,
        dep: Obj,
        replicas: int,
        rs_name: str,
        live: list[Obj],
        new: list[Obj],
        old: list[Obj],
        creating: int,
    ) -> None:
        spec = dep.get("spec") or {}
        status: Obj = copy.deepcopy(dep.get("status") or {})
        ready = sum(1 for p in live if pod_is_ready(p))
        total = len(live) + creating
        updated = len(new) + creating
        conditions: list[Condition] = status.get("conditions") or []
        min_available = replicas - _max_unavailable(spec, replicas)
        if ready >= min_available:
            conditions = set_condition(
                conditions,
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                stamp="lastUpdateTime",
                now=now_time(),
            )
        else:
            conditions = set_condition(
                conditions,
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                stamp="lastUpdateTime",
                now=now_time(),
            )
        if updated >= replicas and not old and sum(1 for p in new if pod_is_ready(p)) >= replicas:
            conditions = set_condition(
                conditions,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{rs_name}" has successfully progressed.',
                stamp="lastUpdateTime",
                now=now_time(),
            )
        else:
            prev = next((c for c in conditions if c.get("type") == "Progressing"), None)
            if prev is None or (creating and prev.get("reason") == "NewReplicaSetAvailable" and old):
                reason, msg = "NewReplicaSetCreated", f'Created new replica set "{rs_name}"'
            else:
                reason, msg = "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.'
            conditions = set_condition(
                conditions, "Progressing", "True", reason, msg, stamp="lastUpdateTime", now=now_time()
            )
        conditions.sort(key=lambda c: {"Available": 0, "Progressing": 1}.get(c.get("type", ""), 2))
        unavailable = max(0, total - ready) if total else replicas - ready
        new_status: Obj = {
            "observedGeneration": dep["metadata"].get("generation", 1),
            "replicas": total or None,
            "updatedReplicas": updated or None,
            "readyReplicas": ready or None,
            "availableReplicas": ready or None,
            "unavailableReplicas": unavailable or None,
            "conditions": conditions,
        }
        old_status = dep.get("status") or {}
        if any(
            old_status.get(k) != v for k, v in new_status.items() if not (v is None and k not in old_status)
        ):
            try:
                body = {
                    "metadata": {"resourceVersion": dep["metadata"]["resourceVersion"]},
                    "status": new_status,
                }
                fresh = await self.client.patch_status(
                    DEPLOYMENTS, dep["metadata"]["name"], body, dep["metadata"]["namespace"]
                )
                self.deployments.remember(fresh)
            except NotFound:
                pass

    @staticmethod
    def _pod_from_template(dep: Obj, phash: str) -> Obj:
        meta = dep["metadata"]
        template: Any = copy.deepcopy((dep.get("spec") or {}).get("template") or {})
        tmeta = template.get("metadata") or {}
        labels = dict(tmeta.get("labels") or {})
        labels["pod-template-hash"] = phash
        pod_meta: Obj = {
            "name": f"{meta['name']}-{phash}-{random_suffix(5)}",
            "namespace": meta["namespace"],
            "labels": labels,
            "ownerReferences": [owner_reference(dep, "apps/v1", "Deployment")],
        }
        if tmeta.get("annotations"):
            pod_meta["annotations"] = dict(tmeta["annotations"])
        return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": template.get("spec") or {}}
