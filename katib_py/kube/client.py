"""The Kubernetes REST wire: one small async client (aiohttp, plain dicts) for every part of katib-py.

The operator, the webhooks and the embedded cluster's controllers and kubelet talk to an API
server only through this client, as in a real cluster. Every non-2xx answer raises the matching
class of `katib_py.kube.errors`; `watch` raises `Expired` on 410 so the caller relists.

Credentials come from where kubectl and kopf find them (katib_py.kube.credentials). A 401 makes
the client read them again and retry once: exec-plugin and projected service-account tokens
expire while an operator runs, and kopf's own watches re-login the same way.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Literal

import aiohttp

from katib_py.kube.credentials import Credentials, from_environment, from_kubeconfig
from katib_py.kube.errors import AlreadyExists, Conflict, NotFound, from_response
from katib_py.kube.resource import WELL_KNOWN, Resource

log = logging.getLogger(__name__)

Obj = dict[str, Any]
PatchType = Literal["merge", "json", "strategic"]

PATCH_CONTENT_TYPES: dict[str, str] = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
}


async def _error_of(resp: aiohttp.ClientResponse) -> Exception:
    """The error class of a streamed answer's status, with its Status body (or text)."""
    text = await resp.text()
    try:
        payload: Any = json.loads(text)
    except ValueError:
        payload = text
    return from_response(resp.status, payload)


class KubeClient:
    """Async REST client for one API server, over one pooled aiohttp session.

    `request_timeout` bounds each ordinary request (None: no bound); watches are never cut by it.
    `relogin` re-reads the credentials after a 401 (None: a 401 is final).
    """

    def __init__(
        self,
        url: str,
        *,
        authorization: str | None = None,
        ssl_context: ssl.SSLContext | bool | None = None,
        user_agent: str = "katib-py",
        request_timeout: float | None = 60.0,
        relogin: Callable[[], Credentials] | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._headers = {"Accept": "application/json", "User-Agent": user_agent}
        self._authorization = authorization
        self._ssl = ssl_context
        self._timeout = aiohttp.ClientTimeout(total=request_timeout, sock_connect=10)
        self._session: aiohttp.ClientSession | None = None
        self._relogin = relogin
        self._kinds: dict[tuple[str, str], Resource] = {(k.api_version, k.kind): k for k in WELL_KNOWN}

    @classmethod
    def from_credentials(
        cls,
        load: Callable[[], Credentials],
        *,
        user_agent: str = "katib-py",
        request_timeout: float | None = 60.0,
    ) -> KubeClient:
        creds = load()
        return cls(
            creds.url,
            authorization=creds.authorization,
            ssl_context=creds.ssl_context,
            user_agent=user_agent,
            request_timeout=request_timeout,
            relogin=load,
        )

    @classmethod
    def from_environment(cls, *, user_agent: str = "katib-py") -> KubeClient:
        """In-cluster credentials when running in a Pod, else the kubeconfig ($KUBECONFIG)."""
        return cls.from_credentials(from_environment, user_agent=user_agent)

    @classmethod
    def from_kubeconfig(cls, path: str, *, user_agent: str = "katib-py") -> KubeClient:
        return cls.from_credentials(lambda: from_kubeconfig(path), user_agent=user_agent)

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

    def _auth_headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self._authorization:
            headers["Authorization"] = self._authorization
        return headers

    async def _login_again(self) -> bool:
        """Re-read the credentials after a 401; True when they changed (worth one more try)."""
        if self._relogin is None:
            return False
        try:
            creds = await asyncio.to_thread(self._relogin)
        except Exception as exc:  # a broken kubeconfig: the 401 stands
            log.warning("re-reading the Kubernetes credentials failed: %s", exc)
            return False
        if (creds.authorization, creds.ssl_context) == (self._authorization, self._ssl):
            return False
        log.info("credentials refreshed after a 401 from %s", self.url)
        self._authorization = creds.authorization
        if creds.ssl_context is not self._ssl:
            self._ssl = creds.ssl_context
            await self.close()
        return True

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
        status, text = await self._send(method, path, params, data, headers)
        if status == 401 and await self._login_again():
            status, text = await self._send(method, path, params, data, headers)
        try:
            payload: Any = json.loads(text) if text else None
        except ValueError:
            payload = text
        if status >= 400:
            raise from_response(status, payload)
        return payload

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        data: str | None,
        headers: Mapping[str, str] | None,
    ) -> tuple[int, str]:
        async with self.session.request(
            method,
            self.url + path,
            params=params,
            data=data,
            headers=self._auth_headers(headers),
            timeout=self._timeout,
        ) as resp:
            return resp.status, await resp.text()

    async def get(self, res: Resource, name: str, namespace: str | None = None) -> Obj:
        result: Obj = await self.request("GET", res.path(namespace, name))
        return result

    async def get_or_none(self, res: Resource, name: str, namespace: str | None = None) -> Obj | None:
        """The object, or None when it does not exist."""
        try:
            return await self.get(res, name, namespace)
        except NotFound:
            return None

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

        Raises Expired on 410 (as a status or as an ERROR event).
        """
        params = {
            "watch": "true",
            "allowWatchBookmarks": "true",
            "resourceVersion": resource_version,
            "timeoutSeconds": str(timeout_seconds),
        }
        if label_selector:
            params["labelSelector"] = label_selector
        for attempt in (0, 1):
            async with self.session.get(
                self.url + res.path(namespace), params=params, headers=self._auth_headers()
            ) as resp:
                if resp.status == 401 and attempt == 0:
                    await resp.read()
                    if await self._login_again():
                        continue
                if resp.status >= 400:
                    raise await _error_of(resp)
                async for line in resp.content:
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    obj = event.get("object") or {}
                    if event.get("type") == "ERROR":
                        raise from_response(int(obj.get("code") or 500), obj)
                    yield str(event.get("type")), obj
                return

    async def stream_lines(self, path: str, *, params: Mapping[str, str] | None = None) -> AsyncIterator[str]:
        """The lines of a streamed answer as they come (pods/log?follow=true); no request_timeout."""
        async with self.session.get(self.url + path, params=params, headers=self._auth_headers()) as resp:
            if resp.status >= 400:
                raise await _error_of(resp)
            async for line in resp.content:
                yield line.decode("utf-8", "replace").rstrip("\n")

    async def create(self, res: Resource, obj: Obj, namespace: str | None = None) -> Obj:
        ns = namespace or (obj.get("metadata") or {}).get("namespace")
        result: Obj = await self.request("POST", res.path(ns), body=obj)
        return result

    async def create_if_absent(self, res: Resource, obj: Obj, namespace: str | None = None) -> Obj | None:
        """Create; None when it already exists (409)."""
        try:
            return await self.create(res, obj, namespace)
        except AlreadyExists:
            return None

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
        except NotFound:
            return False
        except Conflict:
            if uid:
                return False
            raise
        return True

    # ---------------------------------------------------------------- discovery

    async def kind_for(self, api_version: str, kind: str) -> Resource:
        """The REST path of a kind, by API discovery (cached); NotFound when the server has none."""
        key = (api_version, kind)
        if key in self._kinds:
            return self._kinds[key]
        group, _, version = api_version.rpartition("/")
        path = f"/apis/{api_version}" if group else f"/api/{version}"
        listing = await self.request("GET", path)
        for res in listing.get("resources") or []:
            if res.get("kind") == kind and "/" not in res.get("name", ""):
                found = Resource(group, version, res["name"], kind, bool(res.get("namespaced", True)))
                self._kinds[key] = found
                return found
        raise NotFound(f"the server has no resource of kind {kind} in {api_version}")

    def remember_kind(self, kind: Resource) -> None:
        self._kinds[(kind.api_version, kind.kind)] = kind
