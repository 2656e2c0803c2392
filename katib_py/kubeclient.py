"""The Kubernetes REST wire: one small async client (aiohttp, plain dicts) for every part of katib-py.

The operator and the webhooks (katib_py.controller.kube adds credentials from kubeconfig or the
service account, and API discovery) and the embedded cluster's controllers and kubelet
(katib_py.localcluster) talk to an API server only through this client, as in a real cluster.
`ApiError` carries the HTTP status and the `Status` body; `watch` raises `WatchExpired` on 410 so
the caller relists.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

import aiohttp

Obj = dict[str, Any]
PatchType = Literal["merge", "json", "strategic"]

PATCH_CONTENT_TYPES: dict[str, str] = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
}


@dataclass(frozen=True)
class Resource:
    """A kind's place on the REST API (group "" is the core group).

    Equality is the REST path's: `kind` is a label, empty where the caller does not know it.
    """

    group: str
    version: str
    plural: str
    kind: str = field(default="", compare=False)
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None, sub: str | None = None) -> str:
        parts = [f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"]
        if self.namespaced and namespace:
            parts.append(f"namespaces/{quote(namespace, safe='')}")
        parts.append(self.plural)
        if name is not None:
            parts.append(quote(name, safe=""))
        if sub:
            parts.append(sub)
        return "/".join(parts)


PODS = Resource("", "v1", "pods", "Pod")
SERVICES = Resource("", "v1", "services", "Service")
ENDPOINTS = Resource("", "v1", "endpoints", "Endpoints")
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
SECRETS = Resource("", "v1", "secrets", "Secret")
EVENTS = Resource("", "v1", "events", "Event")
SERVICEACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount")
PVCS = Resource("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim")
PVS = Resource("", "v1", "persistentvolumes", "PersistentVolume", namespaced=False)
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
NODES = Resource("", "v1", "nodes", "Node", namespaced=False)
JOBS = Resource("batch", "v1", "jobs", "Job")
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment")
REPLICASETS = Resource("apps", "v1", "replicasets", "ReplicaSet")
ROLES = Resource("rbac.authorization.k8s.io", "v1", "roles", "Role")
ROLEBINDINGS = Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding")
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease")
CRDS = Resource(
    "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", namespaced=False
)


class ApiError(Exception):
    """A non-2xx answer, with its HTTP status and `Status` body."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        message = body.get("message") if isinstance(body, dict) else str(body)
        super().__init__(f"{status}: {message}")

    @property
    def reason(self) -> str:
        return str(self.body.get("reason", "")) if isinstance(self.body, dict) else ""


class WatchExpired(Exception):
    """The resourceVersion a watch asked for is gone (410); the caller must relist."""


class KubeClient:
    """Async REST client for one API server, over one pooled aiohttp session.

    `request_timeout` bounds each ordinary request (None: no bound); watches are never cut by it.
    """

    def __init__(
        self,
        url: str,
        *,
        authorization: str | None = None,
        ssl_context: ssl.SSLContext | bool | None = None,
        user_agent: str = "katib-py",
        request_timeout: float | None = 60.0,
    ) -> None:
        self.url = url.rstrip("/")
        self._headers = {"Accept": "application/json", "User-Agent": user_agent}
        if authorization:
            self._headers["Authorization"] = authorization
        self._ssl = ssl_context
        self._timeout = aiohttp.ClientTimeout(total=request_timeout, sock_connect=10)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=64, ssl=self._ssl if self._ssl is not None else True)
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": content_type} if data is not None else None
        async with self.session.request(
            method, self.url + path, params=params, data=data, headers=headers, timeout=self._timeout
        ) as resp:
            text = await resp.text()
            try:
                payload: Any = json.loads(text) if text else None
            except ValueError:
                payload = text
            if resp.status >= 400:
                raise ApiError(resp.status, payload)
            return payload

    async def get(self, res: Resource, name: str, namespace: str | None = None) -> Obj:
        result: Obj = await self.request("GET", res.path(namespace, name))
        return result

    async def get_or_none(self, res: Resource, name: str, namespace: str | None = None) -> Obj | None:
        """The object, or None when it does not exist."""
        try:
            return await self.get(res, name, namespace)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    async def list_with_version(
        self,
        res: Resource,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[list[Obj], str]:
        """All items (following `continue`) and the list's resourceVersion, the point to watch from."""
        params: dict[str, str] = {"limit": "500"}
        if label_selector:
            params["labelSelector"] = label_selector
        if field_selector:
            params["fieldSelector"] = field_selector
        items: list[Obj] = []
        while True:
            page = await self.request("GET", res.path(namespace), params=params)
            items.extend(page.get("items") or [])
            meta = page.get("metadata") or {}
            token = meta.get("continue")
            if not token:
                return items, str(meta.get("resourceVersion", ""))
            params["continue"] = token

    async def list(
        self,
        res: Resource,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Obj]:
        return (
            await self.list_with_version(
                res, namespace, label_selector=label_selector, field_selector=field_selector
            )
        )[0]

    async def watch(
        self,
        res: Resource,
        namespace: str | None = None,
        *,
        resource_version: str,
        timeout_seconds: int = 300,
        label_selector: str | None = None,
    ) -> AsyncIterator[tuple[str, Obj]]:
        """One watch stream from `resource_version`; yields (type, object), BOOKMARKs included.

        Raises WatchExpired on 410 (as a status or as an ERROR event).
        """
        params = {
            "watch": "true",
            "allowWatchBookmarks": "true",
            "resourceVersion": resource_version,
            "timeoutSeconds": str(timeout_seconds),
        }
        if label_selector:
            params["labelSelector"] = label_selector
        async with self.session.get(self.url + res.path(namespace), params=params) as resp:
            if resp.status == 410:
                raise WatchExpired()
            if resp.status >= 400:
                text = await resp.text()
                try:
                    raise ApiError(resp.status, json.loads(text))
                except ValueError:
                    raise ApiError(resp.status, text) from None
            async for line in resp.content:
                if not line.strip():
                    continue
                event = json.loads(line)
                obj = event.get("object") or {}
                if event.get("type") == "ERROR":
                    if obj.get("code") == 410:
                        raise WatchExpired()
                    raise ApiError(int(obj.get("code") or 500), obj)
                yield str(event.get("type")), obj

    async def create(self, res: Resource, obj: Obj, namespace: str | None = None) -> Obj:
        ns = namespace or (obj.get("metadata") or {}).get("namespace")
        result: Obj = await self.request("POST", res.path(ns), body=obj)
        return result

    async def create_if_absent(self, res: Resource, obj: Obj, namespace: str | None = None) -> Obj | None:
        """Create; None when it already exists (409)."""
        try:
            return await self.create(res, obj, namespace)
        except ApiError as exc:
            if exc.status == 409:
                return None
            raise

    async def replace(self, res: Resource, obj: Obj, sub: str | None = None) -> Obj:
        meta = obj["metadata"]
        result: Obj = await self.request("PUT", res.path(meta.get("namespace"), meta["name"], sub), body=obj)
        return result

    async def patch(
        self,
        res: Resource,
        name: str,
        patch: Any,
        namespace: str | None = None,
        *,
        patch_type: PatchType = "merge",
        sub: str | None = None,
    ) -> Obj:
        result: Obj = await self.request(
            "PATCH", res.path(namespace, name, sub), body=patch, content_type=PATCH_CONTENT_TYPES[patch_type]
        )
        return result

    async def patch_status(
        self,
        res: Resource,
        name: str,
        patch: Any,
        namespace: str | None = None,
        *,
        patch_type: PatchType = "merge",
    ) -> Obj:
        return await self.patch(res, name, patch, namespace, patch_type=patch_type, sub="status")

    async def delete(
        self,
        res: Resource,
        name: str,
        namespace: str | None = None,
        *,
        propagation: str | None = None,
        grace_period_seconds: int | None = None,
        uid: str | None = None,
    ) -> bool:
        """Delete; False when the object is already gone (404) or, given `uid`, was replaced (409)."""
        body: Obj = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation:
            body["propagationPolicy"] = propagation
        if grace_period_seconds is not None:
            body["gracePeriodSeconds"] = grace_period_seconds
        if uid:
            body["preconditions"] = {"uid": uid}
        try:
            await self.request("DELETE", res.path(namespace, name), body=body)
        except ApiError as exc:
            if exc.status == 404 or (exc.status == 409 and uid):
                return False
            raise
        return True
