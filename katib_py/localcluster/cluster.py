"""LocalCluster: the whole embedded control plane (API server, controllers, kubelet) in one loop.

`await cluster.start()` / `await cluster.stop()` inside an event loop, or `start_in_thread()` /
`stop_thread()` from synchronous code (tests, CLI helpers). The admin kubeconfig is written to
`DATA_DIR/kubeconfig` (mode 0600); the admin token is kept in `DATA_DIR/token` so that a restart
from the same data dir keeps working kubeconfigs. Pods reach the API server as in a cluster:
`KUBERNETES_SERVICE_HOST/PORT`, the API server's CA and a ServiceAccount token in
/var/run/secrets/kubernetes.io/serviceaccount, and a `kubernetes` Service in `default`.

As root on Linux each Pod has its own network namespace on a bridge of this cluster
(kubelet/netplan.py); the API server then also listens on the bridge's address, which is the
node's address Pods see (KUBERNETES_SERVICE_HOST, the `kubernetes` Service), and its serving
certificate names it. `netns=False` keeps Pods in the host's network (as without root).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import secrets
import tempfile
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from katib_py.kube.client import KubeClient
from katib_py.kube.errors import ApiError
from katib_py.kube.resource import ENDPOINTS, SERVICES

from .apiserver import ApiServer
from .controllers import ControllerManager
from .kubelet import Kubelet
from .kubelet.logs import LogNotFound
from .kubelet.network import BridgePodNetwork
from .kubelet.node import can_isolate

log = logging.getLogger(__name__)


def _load_or_make_token(path: Path) -> str:
    if path.exists():
        token = path.read_text().strip()
        if token:
            return token
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token)
    return token


class _LogProvider:
    """Adapts the kubelet's log reader to the API server's `pods/log` hook."""

    def __init__(self, kubelet: Kubelet) -> None:
        self.kubelet = kubelet

    async def read(
        self, namespace: str, pod: str, container: str, follow: bool, tail_lines: int | None, previous: bool
    ) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.kubelet.read_log(namespace, pod, container, follow, tail_lines, previous):
                yield chunk
        except LogNotFound as exc:
            from katib_py.kube import errors

            raise errors.bad_request(str(exc)) from None


class LocalCluster:
    def __init__(
        self,
        data_dir: Path | str | None = None,
        port: int = 0,
        in_memory: bool = False,
        *,
        job_backoff_base: float = 10.0,
        restart_backoff_base: float = 10.0,
        isolate: bool | None = None,
        kubeconfig: Path | None = None,
        node_resources: dict[str, str] | None = None,
        image_commands: dict[str, tuple[str, ...]] | None = None,
        netns: bool | None = None,
        port_check: float = 0.5,
    ) -> None:
        """`kubeconfig`: where to write the admin kubeconfig (default DATA_DIR/kubeconfig);
        `node_resources`: extended resources the node advertises (kubelet/scheduling.py);
        `image_commands`: image -> entry point for containers without a command (kubelet/images.py);
        `netns`: a network namespace per Pod (default: when isolating, i.e. Linux as root);
        `port_check`: without them, seconds between the kubelet's wildcard-port checks."""
        self.node_resources = dict(node_resources or {})
        self.image_commands = dict(image_commands or {})
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="katib-py-cluster-")
            data_dir = self._tmp.name
            in_memory = True
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.in_memory = in_memory
        self.job_backoff_base = job_backoff_base
        self.restart_backoff_base = restart_backoff_base
        self.isolate = isolate
        self.netns = netns
        self.port_check = port_check
        self.network: BridgePodNetwork | None = None
        self._kubeconfig = kubeconfig
        self.server: ApiServer | None = None
        self.client: KubeClient | None = None
        self.controllers: ControllerManager | None = None
        self.kubelet: Kubelet | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None

    @property
    def kubeconfig(self) -> Path:
        return self._kubeconfig or self.data_dir / "kubeconfig"

    @property
    def url(self) -> str:
        assert self.server is not None, "cluster not started"
        return str(self.server.url)

    @property
    def token(self) -> str:
        assert self.server is not None, "cluster not started"
        return str(self.server.token)

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        token = _load_or_make_token(self.data_dir / "token")
        isolate = can_isolate() if self.isolate is None else self.isolate
        if (isolate if self.netns is None else self.netns) and can_isolate():
            self.network = BridgePodNetwork.for_data_dir(self.data_dir)
        self.server = ApiServer(
            None if self.in_memory else self.data_dir / "store",
            port=self.port,
            token=token,
            extra_hosts=(self.network.node_ip,) if self.network is not None else (),
        )
        if not self.in_memory:
            (self.data_dir / "store").mkdir(exist_ok=True)
        await self.server.start()
        self.port = self.server.port
        self.server.write_kubeconfig(self.kubeconfig)
        self.client = KubeClient(
            self.server.url,
            authorization=f"Bearer {self.server.token}",
            ssl_context=self.server.client_ssl_context(),
            user_agent="katib-py-localcluster",
            request_timeout=None,
        )
        self.controllers = ControllerManager(self.client, job_backoff_base=self.job_backoff_base)
        await self.controllers.start()
        self.kubelet = Kubelet(
            self.client,
            self.data_dir,
            api_host=self.server.host,
            api_port=self.server.port,
            mint_token=self.server.mint_service_account_token,
            ca_pem=self.server.ca_pem or None,
            isolate=self.isolate,
            backoff_base=self.restart_backoff_base,
            node_resources=self.node_resources,
            image_commands=self.image_commands,
            network=self.network,
            port_check_interval=self.port_check,
        )
        await self.kubelet.start()
        self.server.set_log_provider(_LogProvider(self.kubelet))
        await self._publish_api_service()

    async def sandbox_network(self, name: str) -> tuple[str, str] | None:
        """A network namespace on the Pod network for a process run beside the Pods (`katib-py up`'s
        db-manager): (its address, the namespace's path), removed when the cluster stops; None
        without Pod namespaces."""
        if self.network is None or self.kubelet is None:
            return None
        ip = self.kubelet.ip_pool.allocate()
        return ip, await self.network.add(name, ip)

    async def _publish_api_service(self) -> None:
        """The `kubernetes` Service in `default`, whose endpoint is the API server itself."""
        assert self.client is not None and self.server is not None
        svc = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "kubernetes",
                "namespace": "default",
                "labels": {"component": "apiserver", "provider": "kubernetes"},
            },
            "spec": {
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": self.server.port}],
                "type": "ClusterIP",
            },
        }
        endpoints: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "kubernetes", "namespace": "default"},
            "subsets": [
                {
                    "addresses": [{"ip": self.network.node_ip if self.network else self.server.host}],
                    "ports": [{"name": "https", "port": self.server.port, "protocol": "TCP"}],
                }
            ],
        }
        try:
            with contextlib.suppress(ApiError):
                await self.client.create(SERVICES, svc, "default")
            current = await self.client.get_or_none(ENDPOINTS, "kubernetes", "default")
            if current is None:
                await self.client.create(ENDPOINTS, endpoints, "default")
            else:
                endpoints["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
                await self.client.replace(ENDPOINTS, endpoints)
        except ApiError as exc:
            log.warning("cannot publish the kubernetes Service: %s", exc)

    async def stop(self) -> None:
        if self.kubelet is not None:
            await self.kubelet.stop()
        if self.controllers is not None:
            await self.controllers.stop()
        if self.server is not None:
            self.server.set_log_provider(None)
        if self.client is not None:
            await self.client.close()
        if self.server is not None:
            await self.server.stop()
        self.kubelet = None
        self.controllers = None

    # -- synchronous wrapper ------------------------------------------------------------------------
    def start_in_thread(self, timeout: float = 60.0) -> LocalCluster:
        """Run the cluster on its own event loop in a daemon thread; returns once it serves."""
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()

        def runner() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)

            async def main() -> None:
                self._stopped = asyncio.Event()
                try:
                    await self.start()
                except BaseException as exc:
                    ready.set_exception(exc)
                    return
                ready.set_result(None)
                await self._stopped.wait()
                await self.stop()

            try:
                loop.run_until_complete(main())
            finally:
                loop.close()

        self._thread = threading.Thread(target=runner, name="katib-py-localcluster", daemon=True)
        self._thread.start()
        ready.result(timeout)
        return self

    def stop_thread(self, timeout: float = 60.0) -> None:
        if self._loop is not None and self._stopped is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join(timeout)
        self._thread = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def run_coro(self, coro: Any, timeout: float = 60.0) -> Any:
        """Run a coroutine on the cluster's loop (thread mode) and return its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def __enter__(self) -> LocalCluster:
        return self.start_in_thread()

    def __exit__(self, *exc: object) -> None:
        self.stop_thread()
