"""Prometheus metrics (and the operator's event source name), with Katib's names
(pkg/controller.v1beta1/experiment/util/prometheus_metrics.go, trial/util/prometheus_metrics.go).

Counters count what this process saw happen; the `*_current` gauges are computed from the object
cache at scrape time, so they are right after a restart too.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from katib_py.controller.cache import ObjectCache

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
        self.trial_retried = counter(
            "katib_trial_retried", "Trials retried after an infrastructure failure (katib-py)"
        )
        self.trial_metrics_unavailable = counter(
            "katib_trial_metrics_unavailable", "Trials whose metrics were unavailable"
        )
        # katib-py: how long the operator waits for the services (GetSuggestions grows with the trials)
        self.service_call_seconds = Histogram(
            "katib_py_service_call_duration_seconds",
            "gRPC calls from the operator to the algorithm services, by method",
            ["method"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
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
