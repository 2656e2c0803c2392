"""The operator: kopf watches feeding a cache and three work queues, plus the admission webhooks.

kopf does the watching (list + watch, resumption, backoff) and serves the webhooks; every watch
event updates the object cache and queues a reconcile of the object it concerns and of its
owner (a Trial wakes its Experiment and Suggestion, a Job its Trial, a Deployment its
Suggestion). The reconcilers run on work queues: one reconcile per object at a time, many
objects at once, level-triggered, so the operator can be killed at any moment and restarted.

Before the queues start, the operator lists Experiments, Suggestions, Trials, Deployments and
the trial job kinds once, so that no decision is ever taken on a half-filled cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import kopf
from prometheus_client import CollectorRegistry, start_http_server

from katib_py.api.resources import EXPERIMENTS, KATIB_KINDS, SUGGESTIONS, TRIALS
from katib_py.controller.cache import EXPERIMENT_LABEL, ObjectCache
from katib_py.controller.context import Context
from katib_py.controller.experiment import reconcile_experiment
from katib_py.controller.leader import DEFAULT_LEASE_NAME, LeaderElector
from katib_py.controller.services import Services
from katib_py.controller.suggestion import reconcile_suggestion
from katib_py.controller.telemetry import COMPONENT, Metrics
from katib_py.controller.trial import job_cache_kind, reconcile_trial
from katib_py.core.infra_failure import pod_infra_failure
from katib_py.core.sharding import Shard
from katib_py.kube.client import KubeClient
from katib_py.kube.errors import ApiError
from katib_py.kube.events import EventRecorder
from katib_py.kube.meta import Key, controller_name, controller_ref, key_of
from katib_py.kube.resource import DEPLOYMENTS, PODS, Resource
from katib_py.kube.workqueue import WorkQueue
from katib_py.settings import KatibConfigSource, Settings

log = logging.getLogger(__name__)

# how long a trial's change waits for others before its experiment is reconciled
TRIAL_BATCH_SECONDS = 0.05


@dataclass
class OperatorOptions:
    metrics_addr: str = ":8080"  # "" disables the metrics endpoint
    health_addr: str = ""  # HOST:PORT of kopf's liveness endpoint /healthz; "" disables it
    webhook: bool = True
    webhook_addr: str = "127.0.0.1"
    webhook_port: int = 8443
    # embedded control plane: plain HTTP and a URL client config
    webhook_insecure: bool = False
    webhook_url: str | None = None
    webhook_service: str = "katib-controller"
    write_webhook_configurations: bool = True
    leader_elect: bool = False
    lease_duration: float = 15.0
    workers: dict[str, int] = field(
        default_factory=lambda: {"experiments": 8, "suggestions": 8, "trials": 32}
    )


def parse_trial_resource(text: str) -> tuple[str, str, str]:
    """`Resource.version.group` (katib-config trialResources) -> (group, version, kind)."""
    kind, _, rest = text.partition(".")
    version, _, group = rest.partition(".")
    return group, version, kind


class Operator:
    def __init__(self, kube: KubeClient, options: OperatorOptions, settings: Settings | None = None) -> None:
        self.kube = kube
        self.options = options
        self.settings = settings or Settings.from_env()
        for kind in KATIB_KINDS:
            kube.remember_kind(kind)
        self.cache = ObjectCache()
        self.registry = CollectorRegistry()
        self.ctx = Context(
            kube=kube,
            settings=self.settings,
            cache=self.cache,
            services=Services(kube, self.settings.db_manager.address),
            events=EventRecorder(kube, COMPONENT, self.settings.shard_instance),
            metrics=Metrics(self.registry, self.cache),
            config=KatibConfigSource(kube, self.settings.core_namespace),
            shard=self.settings.shard,
        )
        self.ctx.services.call_seconds = self.ctx.metrics.service_call_seconds
        self.job_kinds: list[Resource] = []
        self.ready = asyncio.Event()

    def _observe(self, cache_kind: str, event: dict[str, Any]) -> dict[str, Any] | None:
        obj = event.get("object")
        if not isinstance(obj, dict):
            return None
        # another shard's object is neither cached nor reconciled; a deletion is always forgotten
        # (a job's Trial may be gone from the cache already)
        if event.get("type") != "DELETED" and not self.mine(cache_kind, obj):
            return None
        if event.get("type") == "DELETED":
            self.cache.forget(cache_kind, obj)
        else:
            self.cache.observe(cache_kind, obj)
        return obj

    # ---------------------------------------------------------------- shards

    def owner_experiment(self, cache_kind: str, obj: dict[str, Any]) -> str | None:
        """The name of the Experiment an object belongs to (in its namespace), None if unknown."""
        if cache_kind in ("experiments", "suggestions"):
            return str(obj["metadata"]["name"])
        if cache_kind == "trials":
            labels = obj["metadata"].get("labels") or {}
            return labels.get(EXPERIMENT_LABEL) or controller_name(obj, "Experiment")
        if cache_kind == "deployments":
            return controller_name(obj, "Suggestion")
        trial = controller_name(obj, "Trial")  # a trial job: through its (cached, so owned) Trial
        body = self.cache.get("trials", key_of(obj)[0], trial) if trial else None
        return self.owner_experiment("trials", body) if body is not None else None

    def mine(self, cache_kind: str, obj: dict[str, Any]) -> bool:
        """Whether this replica's shard owns the object (always, unless the operator is sharded)."""
        shard = self.ctx.shard
        if not shard.sharded:
            return True
        experiment = self.owner_experiment(cache_kind, obj)
        return experiment is not None and shard.owns(key_of(obj)[0], experiment)

    # ---------------------------------------------------------------- watch events

    def on_experiment(self, event: dict[str, Any], **_: Any) -> None:
        obj = self._observe("experiments", event)
        if obj is not None:
            ns, name = key_of(obj)
            self.ctx.enqueue("experiments", ns, name)
            self.ctx.enqueue("suggestions", ns, name)

    def on_suggestion(self, event: dict[str, Any], **_: Any) -> None:
        obj = self._observe("suggestions", event)
        if obj is not None:
            ns, name = key_of(obj)
            self.ctx.enqueue("suggestions", ns, name)
            self.ctx.enqueue("experiments", ns, name)

    def on_trial(self, event: dict[str, Any], **_: Any) -> None:
        obj = self._observe("trials", event)
        if obj is not None:
            ns, name = key_of(obj)
            self.ctx.enqueue("trials", ns, name)
            experiment = ((obj.get("metadata") or {}).get("labels") or {}).get(EXPERIMENT_LABEL)
            if experiment:
                # the changes of many trials share one reconcile (and status write) of their
                # experiment and suggestion
                self.ctx.enqueue("experiments", ns, experiment, batch=TRIAL_BATCH_SECONDS)
                self.ctx.enqueue("suggestions", ns, experiment, batch=TRIAL_BATCH_SECONDS)

    def on_deployment(self, event: dict[str, Any], **_: Any) -> None:
        obj = event.get("object")
        owner = controller_name(obj, "Suggestion") if isinstance(obj, dict) else None
        if owner and isinstance(obj, dict) and self._observe("deployments", event) is not None:
            self.ctx.enqueue("suggestions", key_of(obj)[0], owner)

    def on_job(self, cache_kind: str, event: dict[str, Any], **_: Any) -> None:
        obj = event.get("object")
        if isinstance(obj, dict) and (owner := controller_name(obj, "Trial")):
            if self._observe(cache_kind, event) is None:
                return
            if event.get("type") == "DELETED":
                self.cache.forget_pods_of(str(obj["metadata"].get("uid") or ""))
            self.ctx.enqueue("trials", key_of(obj)[0], owner)

    def on_pod(self, event: dict[str, Any], **_: Any) -> None:
        """Pods of trial jobs that show an infrastructure failure (katib-py's retries): kept, and
        their trial reconciled."""
        pod = event.get("object")
        ref = controller_ref(pod) if isinstance(pod, dict) else None
        if not isinstance(pod, dict) or ref is None or pod_infra_failure(pod) is None:
            return
        namespace = key_of(pod)[0]
        for kind in self.job_kinds:
            if kind.kind != ref.get("kind") or str(ref.get("apiVersion")) != kind.api_version:
                continue
            job = self.cache.get(job_cache_kind(kind), namespace, str(ref.get("name")))
            trial = controller_name(job, "Trial") if job is not None else None
            if job is not None and trial and job["metadata"].get("uid") == ref.get("uid"):
                self.cache.observe_failed_pod(str(ref.get("uid")), pod)
                self.ctx.enqueue("trials", namespace, trial)

    def register_handlers(self, registry: kopf.OperatorRegistry) -> None:
        def register(kind: Resource, fn: Callable[..., None]) -> None:
            # kopf runs a plain function in a thread pool: the cache and the work queues belong to
            # the event loop (asyncio queues are not thread-safe: a worker could sleep through a
            # key put from another thread), so the handlers run on the loop, as coroutines
            async def on_event(**kwargs: Any) -> None:
                fn(**kwargs)

            kopf.on.event(
                kind.group, kind.version, kind.plural, registry=registry, id=f"katib-{kind.plural}"
            )(on_event)

        register(EXPERIMENTS, self.on_experiment)
        register(SUGGESTIONS, self.on_suggestion)
        register(TRIALS, self.on_trial)
        register(DEPLOYMENTS, self.on_deployment)
        register(PODS, self.on_pod)
        for kind in self.job_kinds:
            cache_kind = job_cache_kind(kind)
            self.ctx.watched_jobs.add(cache_kind)
            register(kind, partial(self.on_job, cache_kind))

    # ---------------------------------------------------------------- start-up

    async def resolve_job_kinds(self) -> None:
        config = await self.ctx.config.get()
        for entry in config.init.controller.trial_resources:
            group, version, kind = parse_trial_resource(entry)
            api_version = f"{group}/{version}" if group else version
            try:
                self.job_kinds.append(await self.kube.kind_for(api_version, kind))
            except ApiError as exc:
                # As in Katib, a trial resource whose CRD is not installed is only logged.
                log.info(
                    "trial resource %s is not served by this cluster (%s): not watched", entry, exc.status
                )

    async def initial_sync(self) -> None:
        """Fill the cache once before any decision is taken."""
        kinds: list[tuple[str, Resource]] = [
            ("experiments", EXPERIMENTS),
            ("suggestions", SUGGESTIONS),
            ("trials", TRIALS),
            ("deployments", DEPLOYMENTS),
        ]
        kinds += [(job_cache_kind(k), k) for k in self.job_kinds]
        for cache_kind, kind in kinds:
            for obj in await self.kube.list(kind):
                if cache_kind == "deployments" and not controller_name(obj, "Suggestion"):
                    continue
                if self.mine(cache_kind, obj):  # trials are listed before their jobs
                    self.cache.observe(cache_kind, obj)
        try:
            for pod in await self.kube.list(PODS):
                self.on_pod({"type": "ADDED", "object": pod})
        except ApiError as exc:  # e.g. a chart from before the Pod rule: no retries, nothing else lost
            log.warning("pods not listed (%s): infrastructure failures are not seen", exc.status)
        for obj in self.cache.all("experiments"):
            self.ctx.enqueue("experiments", *key_of(obj))
        for obj in self.cache.all("suggestions"):
            self.ctx.enqueue("suggestions", *key_of(obj))
        for obj in self.cache.all("trials"):
            self.ctx.enqueue("trials", *key_of(obj))

    def build_queues(self) -> None:
        reconcilers: dict[str, Callable[[Context, Key], Awaitable[float | None]]] = {
            "experiments": reconcile_experiment,
            "suggestions": reconcile_suggestion,
            "trials": reconcile_trial,
        }
        for name, fn in reconcilers.items():
            self.ctx.queues[name] = WorkQueue(name, partial(fn, self.ctx), self.options.workers.get(name, 8))

    def start_metrics(self) -> int | None:
        if not self.options.metrics_addr:
            return None
        host, _, port = self.options.metrics_addr.rpartition(":")
        server, _thread = start_http_server(int(port or 0), addr=host or "0.0.0.0", registry=self.registry)
        bound: int = server.server_port
        log.info("metrics on %s:%d/metrics", host or "0.0.0.0", bound)
        return bound

    async def setup_webhooks(self, settings: kopf.OperatorSettings) -> None:
        from katib_py import webhook

        webhook.configure(kube=self.kube, settings=self.settings)
        opts = self.options
        if opts.webhook_insecure:
            server = webhook.KatibWebhookServer(addr=opts.webhook_addr, port=opts.webhook_port, insecure=True)
            endpoint = webhook.WebhookEndpoint(
                url=opts.webhook_url or f"http://{opts.webhook_addr}:{opts.webhook_port}"
            )
        else:
            from pathlib import Path

            namespace = self.settings.core_namespace
            bundle = await webhook.certs.ensure_certificate(self.kube, namespace)
            certfile, keyfile = bundle.write(Path("/tmp/cert"))
            server = webhook.KatibWebhookServer(
                addr=opts.webhook_addr, port=opts.webhook_port, certfile=str(certfile), pkeyfile=str(keyfile)
            )
            endpoint = webhook.WebhookEndpoint(
                service_name=opts.webhook_service, service_namespace=namespace, ca_bundle=bundle.ca_pem
            )
        webhook.register(settings, server)
        if opts.write_webhook_configurations:
            await webhook.write_configurations(self.kube, endpoint, operator_username=None)
        elif endpoint.ca_bundle:
            # The configurations come from the helm chart; only our self-generated CA is ours to set.
            await webhook.patch_ca_bundle(self.kube, endpoint.ca_bundle)

    async def run(self, stop: asyncio.Event) -> bool:
        """Run until `stop` is set; False when it ended otherwise (leadership lost, kopf stopped)."""
        settings = kopf.OperatorSettings()
        settings.posting.level = logging.WARNING
        settings.watching.server_timeout = 300
        settings.networking.request_timeout = 330
        # Our handlers only record the event and queue a reconcile: no need to batch (kopf waits
        # 0.1 s per event by default, which would be most of the latency of a trial).
        settings.batching.batch_window = 0.001
        registry = kopf.get_default_registry() if self.options.webhook else kopf.OperatorRegistry()
        kopf.on.login(registry=registry, id="katib-login")(kopf.login_via_client)
        if self.options.webhook:
            await self.setup_webhooks(settings)
        await self.resolve_job_kinds()
        self.register_handlers(registry)
        self.build_queues()
        # Watches and webhooks run on every replica; only the leader reconciles.
        kopf_task = asyncio.create_task(
            kopf.operator(
                registry=registry,
                settings=settings,
                clusterwide=True,
                standalone=True,
                stop_flag=stop,
                liveness_endpoint=health_endpoint(self.options.health_addr),
            )
        )
        stop_task = asyncio.create_task(stop.wait())
        keep_task: asyncio.Task[None] | None = None
        lost = False
        try:
            if self.options.leader_elect:
                shard = self.settings.shard
                elector = LeaderElector(
                    self.kube,
                    self.settings.core_namespace,
                    lease_name(shard),
                    duration=self.options.lease_duration,
                )
                acquire_task = asyncio.create_task(elector.acquire())
                await asyncio.wait({acquire_task, stop_task, kopf_task}, return_when=asyncio.FIRST_COMPLETED)
                if not acquire_task.done():
                    acquire_task.cancel()
                    return stop.is_set()
                keep_task = asyncio.create_task(elector.keep())
            await self.initial_sync()
            for queue in self.ctx.queues.values():
                queue.start()
            self.ready.set()
            waits: set[asyncio.Task[Any]] = {stop_task, kopf_task}
            if keep_task is not None:
                waits.add(keep_task)
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            lost = keep_task is not None and keep_task.done()
            crashed = kopf_task.done() and not stop.is_set()
            return not (lost or crashed)
        finally:
            stop.set()
            for queue in self.ctx.queues.values():
                await queue.stop()
            for task in (keep_task, stop_task):
                if task is not None:
                    task.cancel()
            with contextlib.suppress(Exception):
                await kopf_task
            await self.ctx.events.drain()
            await self.ctx.services.close()
            with contextlib.suppress(Exception):
                await self.kube.close()


def lease_name(shard: Shard) -> str:
    """Katib's Lease for one shard (all Experiments); each shard of N > 1 elects its own leader,
    so every shard can have standby replicas."""
    if not shard.sharded:
        return DEFAULT_LEASE_NAME
    return f"{DEFAULT_LEASE_NAME}-shard-{shard.index}-of-{shard.count}"


def health_endpoint(addr: str) -> str | None:
    """kopf's liveness URL for HOST:PORT: it answers from the operator's event loop, so a wedged
    loop fails the probe (the metrics server runs in a thread of its own and would still answer)."""
    if not addr:
        return None
    host, _, port = addr.rpartition(":")
    return f"http://{host or '0.0.0.0'}:{int(port)}/healthz"
