"""The controllers' Kubernetes REST client: async (aiohttp), plain dicts, any cluster.

Credentials come from the same places kubectl and kopf use (in-cluster service account, or the
kubeconfig named by $KUBECONFIG), read by the `kubernetes` package's config loaders; requests go
over one pooled aiohttp session. Kinds that are not known in advance (a trial's job, from
`runSpec`) are resolved to their REST path through API discovery.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import aiohttp

Obj = dict[str, Any]
PatchType = Literal["merge", "json", "strategic"]

_CONTENT_TYPES = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
}


@dataclass(frozen=True)
class Kind:
    """A kind's place on the REST API (group "" is the core group)."""

    group: str
    version: str
    plural: str
    kind: str
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


EXPERIMENTS = Kind("kubeflow.org", "v1beta1", "experiments", "Experiment")
SUGGESTIONS = Kind("kubeflow.org", "v1beta1", "suggestions", "Suggestion")
TRIALS = Kind("kubeflow.org", "v1beta1", "trials", "Trial")
DEPLOYMENTS = Kind("apps", "v1", "deployments", "Deployment")
SERVICES = Kind("", "v1", "services", "Service")
CONFIGMAPS = Kind("", "v1", "configmaps", "ConfigMap")
EVENTS = Kind("", "v1", "events", "Event")
SERVICEACCOUNTS = Kind("", "v1", "serviceaccounts", "ServiceAccount")
PVCS = Kind("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim")
PVS = Kind("", "v1", "persistentvolumes", "PersistentVolume", namespaced=False)
NAMESPACES = Kind("", "v1", "namespaces", "Namespace", namespaced=False)
ROLES = Kind("rbac.authorization.k8s.io", "v1", "roles", "Role")
ROLEBINDINGS = Kind("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding")
JOBS = Kind("batch", "v1", "jobs", "Job")
ENDPOINTS = Kind("", "v1", "endpoints", "Endpoints")
CRDS = Kind(
    "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", namespaced=False
)

_KNOWN = {(k.api_version, k.kind): k for k in (EXPERIMENTS, SUGGESTIONS, TRIALS, DEPLOYMENTS, SERVICES, JOBS)}


class ApiError(Exception):
    """A non-2xx answer, with its HTTP status and `Status` body."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        message = body.get("message") if isinstance(body, dict) else str(body)
        super().__init__(f"{status}: {message}")


def is_status(exc: BaseException, *codes: int) -> bool:
    return isinstance(exc, ApiError) and exc.status in codes


class Kube:
    """Async REST client for one API server."""

    def __init__(
        self,
        host: str,
        *,
        authorization: str | None = None,
        ssl_context: ssl.SSLContext | bool | None = None,
        user_agent: str = "katib-py-controller",
    ) -> None:
        self.host = host.rstrip("/")
        self._headers = {"Accept": "application/json", "User-Agent": user_agent}
        if authorization:
            self._headers["Authorization"] = authorization
        self._ssl = ssl_context
        self._session: aiohttp.ClientSession | None = None
        self._kinds: dict[tuple[str, str], Kind] = dict(_KNOWN)

    @classmethod
    def from_environment(cls) -> Kube:
        """In-cluster credentials when running in a Pod, else the kubeconfig ($KUBECONFIG)."""
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        cfg = client.Configuration()
        try:
            config.load_incluster_config(client_configuration=cfg)
        except ConfigException:
            config.load_kube_config(client_configuration=cfg)
        return cls._from_configuration(cfg)

    @classmethod
    def from_kubeconfig(cls, path: str) -> Kube:
        from kubernetes import client, config

        cfg = client.Configuration()
        config.load_kube_config(config_file=path, client_configuration=cfg)
        return cls._from_configuration(cfg)

    @classmethod
    def _from_configuration(cls, cfg: Any) -> Kube:
        context: ssl.SSLContext | bool | None = None
        if cfg.host.startswith("https"):
            if not cfg.verify_ssl:
                context = False
            else:
                context = ssl.create_default_context(cafile=cfg.ssl_ca_cert or None)
                if cfg.cert_file:
                    context.load_cert_chain(cfg.cert_file, cfg.key_file)
        auth = (cfg.api_key or {}).get("authorization") or (cfg.api_key or {}).get("BearerToken")
        return cls(cfg.host, authorization=auth, ssl_context=context)

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=64, ssl=self._ssl if self._ssl is not None else True)
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=60, sock_connect=10),
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
            method, self.host + path, params=params, data=data, headers=headers
        ) as resp:
            text = await resp.text()
            try:
                payload: Any = json.loads(text) if text else None
            except ValueError:
                payload = text
            if resp.status >= 400:
                raise ApiError(resp.status, payload)
            return payload

    async def get(self, kind: Kind, name: str, namespace: str | None = None) -> Obj | None:
        """The object, or None when it does not exist."""
        try:
            result: Obj = await self.request("GET", kind.path(namespace, name))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return result

    async def list(
        self, kind: Kind, namespace: str | None = None, *, label_selector: str | None = None
    ) -> list[Obj]:
        params: dict[str, str] = {"limit": "500"}
        if label_selector:
            params["labelSelector"] = label_selector
        items: list[Obj] = []
        while True:
            page = await self.request("GET", kind.path(namespace), params=params)
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items
            params["continue"] = token

    async def create(self, kind: Kind, obj: Obj, namespace: str | None = None) -> Obj:
        ns = namespace or (obj.get("metadata") or {}).get("namespace")
        result: Obj = await self.request("POST", kind.path(ns), body=obj)
        return result

    async def create_if_absent(self, kind: Kind, obj: Obj, namespace: str | None = None) -> Obj | None:
        """Create; None when it already exists (409)."""
        try:
            return await self.create(kind, obj, namespace)
        except ApiError as exc:
            if exc.status == 409:
                return None
            raise

    async def patch(
        self,
        kind: Kind,
        name: str,
        patch: Any,
        namespace: str | None = None,
        *,
        patch_type: PatchType = "merge",
        sub: str | None = None,
    ) -> Obj:
        result: Obj = await self.request(
            "PATCH", kind.path(namespace, name, sub), body=patch, content_type=_CONTENT_TYPES[patch_type]
        )
        return result

    async def delete(
        self, kind: Kind, name: str, namespace: str | None = None, *, propagation: str | None = None
    ) -> bool:
        """Delete; False when it was already gone."""
        body: Obj = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation:
            body["propagationPolicy"] = propagation
        try:
            await self.request("DELETE", kind.path(namespace, name), body=body)
        except ApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    async def kind_for(self, api_version: str, kind: str) -> Kind:
        """The REST path of a kind, by API discovery (cached)."""
        key = (api_version, kind)
        if key in self._kinds:
            return self._kinds[key]
        group, _, version = api_version.rpartition("/")
        path = f"/apis/{api_version}" if group else f"/api/{version}"
        listing = await self.request("GET", path)
        for res in listing.get("resources") or []:
            if res.get("kind") == kind and "/" not in res.get("name", ""):
                found = Kind(group, version, res["name"], kind, bool(res.get("namespaced", True)))
                self._kinds[key] = found
                return found
        raise ApiError(404, {"message": f"the server has no resource of kind {kind} in {api_version}"})

    def remember_kind(self, kind: Kind) -> None:
        self._kinds[(kind.api_version, kind.kind)] = kind
