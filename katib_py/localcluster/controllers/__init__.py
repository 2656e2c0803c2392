"""The built-in controllers of the embedded cluster, run together by `ControllerManager`."""

from __future__ import annotations

import asyncio

from katib_py.kube.client import KubeClient
from katib_py.kube.informer import Informer
from katib_py.kube.resource import DEPLOYMENTS, ENDPOINTS, JOBS, NAMESPACES, PODS, SERVICES
from katib_py.localcluster.controllers.base import Controller

from .deployment import DeploymentController
from .endpoints import EndpointsController
from .garbage_collector import GarbageCollector
from .job import JobController
from .namespace import NamespaceController
from .training import TrainingJobController, install_crds, resource_of
from .training_plan import FRAMEWORKS
from .ttl import TTLAfterFinishedController

__all__ = ["ControllerManager"]


class ControllerManager:
    """kube-controller-manager in miniature: shared informers plus each controller's loop."""

    def __init__(self, client: KubeClient, *, job_backoff_base: float = 10.0) -> None:
        self.client = client
        self.pods = Informer(client, PODS)
        self.jobs = Informer(client, JOBS)
        self.deployments = Informer(client, DEPLOYMENTS)
        self.services = Informer(client, SERVICES)
        self.endpoints = Informer(client, ENDPOINTS)
        self.namespaces = Informer(client, NAMESPACES)
        self.gc = GarbageCollector(client)
        # The Training-Operator add-on (kubeflow.org/v1 PyTorchJob, TFJob, XGBoostJob).
        self.training_jobs = [Informer(client, resource_of(fw)) for fw in FRAMEWORKS]
        self.controllers: list[Controller] = [
            JobController(client, self.jobs, self.pods, backoff_base=job_backoff_base),
            TTLAfterFinishedController(client, self.jobs),
            DeploymentController(client, self.deployments, self.pods),
            EndpointsController(client, self.services, self.pods, self.endpoints),
            NamespaceController(client, self.namespaces, self.gc),
            self.gc,
            *(
                TrainingJobController(client, fw, jobs, self.pods, self.services)
                for fw, jobs in zip(FRAMEWORKS, self.training_jobs, strict=True)
            ),
        ]
        self.informers = [
            self.pods,
            self.jobs,
            self.deployments,
            self.services,
            self.endpoints,
            self.namespaces,
            *self.training_jobs,
        ]

    async def start(self) -> None:
        await install_crds(self.client)
        for inf in self.informers:
            inf.start()
        await asyncio.wait_for(asyncio.gather(*(i.synced.wait() for i in self.informers)), 30)
        for c in self.controllers:
            c.start()

    async def stop(self) -> None:
        for c in self.controllers:
            await c.stop()
        for inf in self.informers:
            await inf.stop()
