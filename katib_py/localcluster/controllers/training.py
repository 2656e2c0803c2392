"""The Training-Operator add-on: PyTorchJob, TFJob and XGBoostJob run as Pods on the embedded cluster.

`install_crds` serves the kinds (training_crds.py); one `TrainingJobController` per kind reads its
jobs and the Pods and Services they control, asks `training_plan.plan` what to do and does it:
delete, create the headless Services, create the Pods, write the status (a PUT of the status
subresource, guarded by the resourceVersion decided on), record events
(Training Operator v1.9: pkg/controller.v1/common/job_controller.go ReconcileJobs).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime

from katib_py.kube.client import KubeClient, Obj
from katib_py.kube.errors import AlreadyExists, ApiError, NotFound
from katib_py.kube.informer import Informer
from katib_py.kube.meta import Key, controller_ref, key_of
from katib_py.kube.resource import CRDS, PODS, SERVICES, Resource
from katib_py.localcluster.controllers.base import Controller

from . import training_plan
from .training_crds import build_crd
from .training_plan import API_VERSION, FRAMEWORKS, GROUP, Framework, Plan

log = logging.getLogger(__name__)


def resource_of(fw: Framework) -> Resource:
    return Resource(GROUP, "v1", fw.plural, fw.kind)


async def install_crds(client: KubeClient, timeout: float = 30.0) -> None:
    """Create (or bring up to date) the kinds' CRDs and wait until they are served."""
    for fw in FRAMEWORKS:
        crd = build_crd(fw)
        current = await client.get_or_none(CRDS, crd["metadata"]["name"])
        if current is None:
            with contextlib.suppress(AlreadyExists):
                await client.create(CRDS, crd)
        elif current.get("spec") != crd["spec"]:
            crd["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            await client.replace(CRDS, crd)
    wanted = {fw.plural for fw in FRAMEWORKS}
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(ApiError):
            listing = await client.request("GET", f"/apis/{API_VERSION}")
            if wanted <= {r.get("name") for r in listing.get("resources") or []}:
                return
        if time.monotonic() > deadline:
            raise TimeoutError("the Training-Operator CRDs were not served in time")
        await asyncio.sleep(0.05)


class TrainingJobController(Controller):
    workers = 2

    def __init__(
        self, client: KubeClient, fw: Framework, jobs: Informer, pods: Informer, services: Informer
    ) -> None:
        self.name = f"{fw.kind.lower()}-controller"
        super().__init__(client)
        self.fw = fw
        self.resource = resource_of(fw)
        self.jobs = jobs
        self.pods = pods
        self.services = services
        jobs.add_listener(lambda _t, obj, _o: self.enqueue(key_of(obj)))
        pods.add_listener(self._on_owned)
        services.add_listener(self._on_owned)

    def _on_owned(self, _kind: str, obj: Obj, _old: Obj | None) -> None:
        ref = controller_ref(obj)
        if ref is not None and ref.get("kind") == self.fw.kind and ref.get("apiVersion") == API_VERSION:
            self.enqueue((str(obj["metadata"].get("namespace") or ""), str(ref.get("name"))))

    async def reconcile(self, key: Key) -> None:
        ns, name = key
        job = self.jobs.get(ns, name)
        selector = {training_plan.JOB_NAME_LABEL: name}

        def owned(obj: Obj) -> bool:
            labels = obj["metadata"].get("labels") or {}
            return all(labels.get(k) == v for k, v in selector.items())

        pods = [p for p in self.pods.items(ns) if owned(p)]
        services = [s for s in self.services.items(ns) if owned(s)]
        plan = training_plan.plan(self.fw, job, pods, services, now=datetime.now(UTC))
        if job is not None:
            await self._apply(key, job, plan)

    async def _apply(self, key: Key, job: Obj, plan: Plan) -> None:
        ns = str(job["metadata"].get("namespace") or "default")
        for pod in plan.delete_pods:
            with contextlib.suppress(NotFound):
                await self.client.delete(PODS, pod["metadata"]["name"], ns)
            await self.events.record(job, "SuccessfulDeletePod", f"Deleted pod: {pod['metadata']['name']}")
        for svc in plan.delete_services:
            with contextlib.suppress(NotFound):
                await self.client.delete(SERVICES, svc["metadata"]["name"], ns)
        for svc in plan.create_services:
            await self._create(job, SERVICES, svc, "Service")
        for pod in plan.create_pods:
            await self._create(job, PODS, pod, "Pod")
        if plan.status is not None:
            body = {**job, "status": plan.status}
            fresh = await self.client.replace(self.resource, body, sub="status")
            self.jobs.remember(fresh)
        for event in plan.events:
            await self.events.record(job, event.reason, event.message, warning=event.warning)
        if plan.requeue_after is not None:
            self.enqueue_after(key, plan.requeue_after)

    async def _create(self, job: Obj, res: Resource, obj: Obj, what: str) -> None:
        name = obj["metadata"]["name"]
        try:
            await self.client.create(res, obj, obj["metadata"]["namespace"])
        except AlreadyExists:
            return  # the previous replica is still going away: the next sync creates it
        except ApiError as exc:
            log.warning(
                "%s %s: cannot create %s %s: %s", self.fw.kind, job["metadata"]["name"], what, name, exc
            )
            await self.events.record(job, f"FailedCreate{what}", f"Error creating: {exc}", warning=True)
            raise
        await self.events.record(job, f"SuccessfulCreate{what}", f"Created {what.lower()}: {name}")
