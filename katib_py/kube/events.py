"""core/v1 Events about objects (what `kubectl describe` shows), posted best-effort.

Both the operator and the embedded cluster's controllers report through this recorder: `emit`
posts in the background so a reconcile never waits for it, `record` awaits the post, and
`drain` waits for what is still in flight (at shutdown).
"""

from __future__ import annotations

import asyncio
import logging

from katib_py.kube.client import KubeClient
from katib_py.kube.meta import Obj, meta_of, random_suffix
from katib_py.kube.resource import EVENTS
from katib_py.kube.rfc3339 import now_time

log = logging.getLogger(__name__)


def event_for(
    obj: Obj, reason: str, message: str, *, component: str, warning: bool = False, instance: str = ""
) -> Obj:
    """The Event about `obj`, named `<object>.<suffix>` in the object's namespace."""
    meta = meta_of(obj)
    namespace = meta.get("namespace") or "default"
    now = now_time()
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta.get('name', 'obj')}.{random_suffix(10)}", "namespace": namespace},
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
        "type": "Warning" if warning else "Normal",
        "source": {"component": component},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "reportingComponent": component,
        "reportingInstance": instance,
    }


class EventRecorder:
    def __init__(self, client: KubeClient, component: str, instance: str = "") -> None:
        self.client = client
        self.component = component
        self.instance = instance  # reportingInstance: which replica of the component reported it
        self._pending: set[asyncio.Task[None]] = set()

    async def record(
        self, obj: Obj, reason: str, message: str, *, warning: bool = False, component: str | None = None
    ) -> None:
        """Post the event now; a failure is logged, never raised (events are best-effort)."""
        event = event_for(
            obj,
            reason,
            message,
            component=component or self.component,
            warning=warning,
            instance=self.instance,
        )
        try:
            await self.client.create(EVENTS, event, event["metadata"]["namespace"])
        except Exception as exc:
            log.debug("event %s on %s not posted: %s", reason, meta_of(obj).get("name"), exc)

    def emit(self, obj: Obj, reason: str, message: str, *, warning: bool = False) -> None:
        """Post the event in the background."""
        task = asyncio.create_task(self.record(obj, reason, message, warning=warning))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
