"""The shape of a built-in controller: a work queue of keys over shared informers.

The queue (katib_py.kube.workqueue) de-duplicates keys, runs one reconcile per key at a time and
retries failures with backoff; a subclass implements `reconcile(key)` and queues keys from its
informers' listeners.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from katib_py.kube.client import KubeClient
from katib_py.kube.events import EventRecorder
from katib_py.kube.informer import Informer
from katib_py.kube.meta import Key
from katib_py.kube.workqueue import Backoff, WorkQueue

# Built-in controllers retry fast: they race only each other and the kubelet on one machine.
RETRY = Backoff(base=0.05, cap=5.0)


class Controller:
    """A reconcile loop over keys; subclasses implement `reconcile(key)`."""

    name = "controller"
    workers = 1

    def __init__(self, client: KubeClient) -> None:
        self.client = client
        self.events = EventRecorder(client, self.name)
        self.queue: WorkQueue[Key] = WorkQueue(self.name, self._run, self.workers, backoff=RETRY)

    async def _run(self, key: Key) -> None:
        await self.reconcile(key)

    def enqueue(self, key: Key) -> None:
        self.queue.add(key)

    def enqueue_after(self, key: Key, delay: float) -> None:
        self.queue.add_after(key, delay)

    def enqueue_all(self, keys: Iterable[Key]) -> None:
        for key in keys:
            self.enqueue(key)

    async def reconcile(self, key: Key) -> None:
        raise TypeError(f"{type(self).__name__} must implement reconcile")

    async def wait_synced(self, informers: Iterable[Informer]) -> None:
        await asyncio.gather(*(i.synced.wait() for i in informers))

    def start(self) -> None:
        self.queue.start()

    async def stop(self) -> None:
        await self.queue.stop()
