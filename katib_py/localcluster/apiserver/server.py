"""ApiServer: the aiohttp application that ties store, registry, watch hub, auth and admission."""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import shutil
import ssl
import tempfile
from pathlib import Path
from typing import Any

from aiohttp import web

from . import openapi, tls
from .admission import AdmissionChain
from .auth import Authenticator, User, new_token
from .authz import Authorizer
from .handlers import Handlers, LogProvider, no_plain_errors
from .kubeconfig import write_kubeconfig
from .limits import MAX_REQUEST_BYTES
from .metrics import RequestMetrics
from .objects import ObjectService, WriteOptions
from .registry import Registry
from .store import Store
from .watch import DEFAULT_HISTORY_BYTES, WatchHub


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class ApiServer:
    """A Kubernetes-compatible API server on 127.0.0.1, storing objects in SQLite.

    `data_dir=None` keeps everything in memory. Every request but /healthz, /livez and
    /readyz needs `Authorization: Bearer <token>`. Protobuf bodies are answered with 415.
    It serves HTTPS (kubectl never sends a bearer token over plain HTTP) with a private CA kept
    in the store: `ca_pem`/`ca_file` for clients, `client_ssl_context()` for aiohttp clients.
    `tls=False` serves plain HTTP (only for clients that send tokens over HTTP).
    """

    def __init__(
        self,
        data_dir: Path | None,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        watch_history: int = 10_000,
        watch_history_bytes: int = DEFAULT_HISTORY_BYTES,
        bookmark_interval: float = 60.0,
        watch_timeout: float = 1800.0,
        extra_hosts: tuple[str, ...] = (),
    ) -> None:
        """`extra_hosts`: more loopback addresses to listen on (the Pod network's gateway), named
        in the serving certificate too."""
        for h in (host, *extra_hosts):
            if not _is_loopback(h):
                raise ValueError(f"the API server listens on loopback addresses only, not {h!r}")
        self.extra_hosts = extra_hosts
        self.data_dir = data_dir
        self.host = host
        self.port = port
        self.token = token or new_token()
        self.watch_history = watch_history
        self.watch_history_bytes = watch_history_bytes
        self.bookmark_interval = bookmark_interval
        self.watch_timeout = watch_timeout
        self.max_request_bytes = MAX_REQUEST_BYTES
        self.log_provider: LogProvider | None = None
        self._runner: web.AppRunner | None = None
        self._openapi_cache: tuple[int, tuple[dict[str, Any], dict[str, Any]]] | None = None
        self._pending_tokens: list[tuple[str, str]] = []
        self.tls = tls
        self.ca_pem: bytes = b""
        self.ca_file: Path | None = None
        self._tls_material: tls.TlsMaterial | None = None
        self._workdir: Path | None = None
        self.metrics = RequestMetrics()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def client_ssl_context(self) -> ssl.SSLContext | None:
        """An SSL context trusting this server's CA (None when serving plain HTTP)."""
        return self._tls_material.client_context() if self._tls_material else None

    def write_kubeconfig(self, path: Path) -> Path:
        return write_kubeconfig(path, self.url, self.token, self.ca_pem or None)

    def _load_tls(self) -> ssl.SSLContext | None:
        self._workdir = Path(tempfile.mkdtemp(prefix="katib-apiserver-"))
        if not self.tls:
            return None
        stored = [self.store.get_meta(k) for k in ("tls_ca", "tls_cert", "tls_key")]
        if all(stored) and tls.names_ips(str(stored[1]).encode(), self.extra_hosts):
            material = tls.TlsMaterial(*(str(v).encode() for v in stored))
        else:  # new, or made before this address was served: a new CA (kubeconfigs are rewritten)
            material = tls.generate(list(self.extra_hosts))
            for k, v in zip(
                ("tls_ca", "tls_cert", "tls_key"),
                (material.ca_pem, material.cert_pem, material.key_pem),
                strict=True,
            ):
                self.store.set_meta(k, v.decode())
        self._tls_material = material
        self.ca_pem = material.ca_pem
        self.ca_file = (self.data_dir or self._workdir) / "ca.crt"
        self.ca_file.write_bytes(material.ca_pem)
        return material.server_context(self._workdir)

    # ---- lifecycle ----

    async def start(self) -> None:
        self.store = Store(self.data_dir)
        key = self.store.get_meta("sa_signing_key")
        if key is None:
            key = secrets.token_hex(32)
            self.store.set_meta("sa_signing_key", key)
        self.auth = Authenticator(self.token, key.encode())
        for token, user in self._pending_tokens:
            self.auth.add_token(token, user)
        self.registry = Registry()
        self.hub = WatchHub(self.watch_history, self.store.rv, self.watch_history_bytes)
        self.admission = AdmissionChain(
            lambda rkey, ns, name: self.store.get(rkey, ns, name), lambda rkey: self.store.list(rkey)
        )
        self.objects = ObjectService(
            self.store, self.registry, self.hub, self.auth, self.admission, self._registry_changed
        )
        self.authorizer = Authorizer(self.store)
        self.admission.rbac_check = lambda req, obj: self.authorizer.check_escalation(
            req.user,
            req.info.plural if req.info.group == "rbac.authorization.k8s.io" else "",
            req.namespace,
            req.name,
            obj,
            req.old,
        )
        self.objects.load_crds()
        for secret in self.store.list("core/secrets"):
            self.auth.note_secret(secret)
        await self._ensure_system_namespaces()
        await self._ensure_bootstrap_policy()
        ssl_ctx = self._load_tls()
        handlers = Handlers(self)
        app = web.Application(
            middlewares=[no_plain_errors, handlers.middleware], client_max_size=self.max_request_bytes + 1024
        )
        app.router.add_route("*", r"/{tail:[\s\S]*}", handlers.dispatch)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=ssl_ctx)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]
        for extra in self.extra_hosts:
            await web.TCPSite(self._runner, extra, self.port, ssl_context=ssl_ctx).start()

    async def stop(self) -> None:
        self.hub.close_all()
        await asyncio.sleep(0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.admission.close()
        self.store.close()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)

    async def _ensure_system_namespaces(self) -> None:
        info = self.registry.get("", "v1", "namespaces")
        assert info is not None
        for name in SYSTEM_NAMESPACES:
            if self.store.get("core/namespaces", "", name) is None:
                await self.objects.create(
                    info, "", {"metadata": {"name": name}}, WriteOptions(user=User("system:apiserver"))
                )

    async def _ensure_bootstrap_policy(self) -> None:
        """The built-in ClusterRoles and ClusterRoleBindings (kube's bootstrap policy), when missing."""
        system = User("system:apiserver", ("system:masters",))
        for plural, obj in self.authorizer.bootstrap_objects():
            info = self.registry.get("rbac.authorization.k8s.io", "v1", plural)
            assert info is not None
            await self.objects.create(info, "", obj, WriteOptions(user=system))

    # ---- hooks for the rest of the control plane ----

    def set_log_provider(self, provider: LogProvider | None) -> None:
        self.log_provider = provider

    def add_token(self, token: str, username: str) -> None:
        if getattr(self, "auth", None) is None:
            self._pending_tokens.append((token, username))
        else:
            self.auth.add_token(token, username)

    def mint_service_account_token(self, namespace: str, name: str) -> str:
        """A bearer token for system:serviceaccount:<namespace>:<name>, valid across restarts."""
        return self.auth.mint(namespace, name)

    def openapi_docs(self) -> tuple[dict[str, Any], dict[str, Any]]:
        gen = self.registry.generation
        if self._openapi_cache is None or self._openapi_cache[0] != gen:
            self._openapi_cache = (gen, openapi.index(self.registry))
        return self._openapi_cache[1]

    def _registry_changed(self) -> None:
        self._openapi_cache = None
