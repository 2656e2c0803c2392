"""Kubernetes events and Prometheus metrics, with Katib's names (spec 7.6).

Counters count what this process saw happen; the `*_current` gauges are computed from the object
cache at scrape time, so they are right after a restart too.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import Counter as Tally
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from katib_py.controller.cache import ObjectCache
from katib_py.controller.kube import Kube
from katib_py.core.conditions import now_time
from katib_py.kubeclient import EVENTS

log = logging.getLogger(__name__)
COMPONENT = "katib-py-controller"


class Metrics:
    def __init__(self, registry: CollectorRegistry, cache: ObjectCache) -> None:
        def counter(name: str, doc: str) -> Counter:
            return Counter(name, doc, ["namespace"], registry=registry)

        self.experiment_created = counter("katib_experiment_created", "Experiments created")
        self.experiment_deleted = counter("katib_experiment_deleted", "Experiments deleted")
        self.experiment_succeeded = counter("katib_experiment_succeeded", "Experiments succeeded")
        self.experiment_failed = counter("katib_experiment_failed", "Experiments failed")
        self.trial_created = counter("katib_trial_created", "Trials created")
        self.trial_deleted = counter("katib_trial_deleted", "Trials deleted")
        self.trial_succeeded = counter("katib_trial_succeeded", "Trials succeeded")
        self.trial_failed = counter("katib_trial_failed", "Trials failed")
        self.trial_metrics_unavailable = counter(
            "katib_trial_metrics_unavailable", "Trials whose metrics were unavailable"
        )
        registry.register(_CurrentCollector(cache))


class _CurrentCollector(Collector):
    """katib_experiments_current and katib_trials_current{namespace,status=last condition type}."""

    def __init__(self, cache: ObjectCache) -> None:
        self.cache = cache

    def collect(self) -> Iterator[Metric]:
        for kind, name, doc in (
            ("experiments", "katib_experiments_current", "Current experiments"),
            ("trials", "katib_trials_current", "Current trials"),
        ):
            family = GaugeMetricFamily(name, doc, labels=["namespace", "status"])
            tally: Tally[tuple[str, str]] = Tally()
            for obj in self.cache.all(kind):
                conditions = (obj.get("status") or {}).get("conditions") or []
                status = str(conditions[-1].get("type")) if conditions else "Unknown"
                tally[(str((obj.get("metadata") or {}).get("namespace") or ""), status)] += 1
            for (namespace, status), count in sorted(tally.items()):
                family.add_metric([namespace, status], count)
            yield family


class Events:
    """Posts core/v1 Events about objects without holding up the reconcile that emits them."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self._pending: set[asyncio.Task[None]] = set()

    def emit(self, obj: dict[str, Any], reason: str, message: str, *, warning: bool = False) -> None:
        task = asyncio.create_task(self._post(obj, reason, message, "Warning" if warning else "Normal"))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _post(self, obj: dict[str, Any], reason: str, message: str, type_: str) -> None:
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace") or "default"
        now = now_time()
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{meta.get('name')}.{secrets.token_hex(8)}", "namespace": namespace},
            "involvedObject": {
                "apiVersion": obj.get("apiVersion"),
                "kind": obj.get("kind"),
                "name": meta.get("name"),
                "namespace": namespace,
                "uid": meta.get("uid"),
                "resourceVersion": meta.get("resourceVersion"),
            },
            "reason": reason,
            "message": message,
            "type": type_,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
        }
        try:
            await self.kube.create(EVENTS, event, namespace)
        except Exception as exc:
            log.debug("event %s on %s not posted: %s", reason, meta.get("name"), exc)

    async def drain(self) -> None:
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
