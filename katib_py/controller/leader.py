"""Leader election on a coordination.k8s.io/v1 Lease, as controller-runtime does it.

With more than one operator replica, only the holder of the Lease (Katib's leaderElectionID,
`3fbc96e9.katib.kubeflow.org`, in the core namespace) runs the reconcilers; the others keep
their watches and caches warm and serve the admission webhooks. The holder renews the Lease
every `renew` seconds; a replica takes over a Lease not renewed for `duration` seconds. A leader
that cannot renew in time stops leading (the process exits, and its supervisor restarts it as a
standby), so two replicas never reconcile at once for longer than one renew period.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from katib_py.kube.client import KubeClient
from katib_py.kube.errors import ApiError, Conflict
from katib_py.kube.resource import LEASES
from katib_py.kube.rfc3339 import format_micro_time, parse_time

log = logging.getLogger(__name__)

DEFAULT_LEASE_NAME = "3fbc96e9.katib.kubeflow.org"


def lease_expired(lease: dict[str, Any], now: datetime) -> bool:
    spec = lease.get("spec") or {}
    renewed = parse_time(spec.get("renewTime")) or parse_time(spec.get("acquireTime"))
    duration = int(spec.get("leaseDurationSeconds") or 15)
    return renewed is None or renewed + timedelta(seconds=duration) < now


class LeaderElector:
    def __init__(
        self,
        kube: KubeClient,
        namespace: str,
        name: str = DEFAULT_LEASE_NAME,
        *,
        duration: float = 15.0,
        renew: float | None = None,
        identity: str | None = None,
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.name = name
        self.duration = duration
        self.renew = renew if renew is not None else max(duration / 3, 0.5)
        self.identity = identity or f"{socket.gethostname()}_{os.getpid()}_{uuid.uuid4().hex[:8]}"

    def _lease(self, now: datetime, transitions: int, acquired: str | None = None) -> dict[str, Any]:
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": int(self.duration),
                "acquireTime": acquired or format_micro_time(now),
                "renewTime": format_micro_time(now),
                "leaseTransitions": transitions,
            },
        }

    async def try_acquire_or_renew(self) -> bool:
        """One attempt; True when we hold the Lease afterwards."""
        now = datetime.now(UTC)
        current = await self.kube.get_or_none(LEASES, self.name, self.namespace)
        try:
            if current is None:
                await self.kube.create(LEASES, self._lease(now, 0), self.namespace)
                return True
            spec = current.get("spec") or {}
            holder = spec.get("holderIdentity")
            if holder != self.identity and not lease_expired(current, now):
                return False
            transitions = int(spec.get("leaseTransitions") or 0) + (0 if holder == self.identity else 1)
            acquired = spec.get("acquireTime") if holder == self.identity else None
            body = self._lease(now, transitions, acquired)
            body["metadata"]["resourceVersion"] = current["metadata"].get("resourceVersion")
            await self.kube.request("PUT", LEASES.path(self.namespace, self.name), body=body)
            return True
        except Conflict:
            return False  # another replica wrote first

    async def acquire(self) -> None:
        """Wait until this replica leads."""
        logged = False
        while True:
            try:
                if await self.try_acquire_or_renew():
                    log.info(
                        "leader election: %s leads (lease %s/%s)", self.identity, self.namespace, self.name
                    )
                    return
            except (ApiError, OSError) as exc:
                log.warning("leader election: %s", exc)
            if not logged:
                log.info("leader election: waiting for lease %s/%s", self.namespace, self.name)
                logged = True
            await asyncio.sleep(self.renew)

    async def keep(self) -> None:
        """Renew until renewal fails for `duration`; then return (leadership is lost)."""
        last_ok = asyncio.get_running_loop().time()
        while True:
            await asyncio.sleep(self.renew)
            try:
                if await self.try_acquire_or_renew():
                    last_ok = asyncio.get_running_loop().time()
                    continue
                log.error("leader election: lease %s/%s taken by another replica", self.namespace, self.name)
                return
            except (ApiError, OSError) as exc:
                log.warning("leader election: renew failed: %s", exc)
            if asyncio.get_running_loop().time() - last_ok > self.duration - self.renew:
                log.error("leader election: could not renew lease %s/%s in time", self.namespace, self.name)
                return
