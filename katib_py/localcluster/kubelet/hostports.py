"""hostPort: the node's port forwarded to the Pod's containerPort, as the CNI portmap plugin does.

Kubernetes DNATs `hostIP:hostPort` to `podIP:containerPort` with iptables; here a small asyncio
TCP relay listens on the node's addresses instead (127.0.0.1 and, with Pod namespaces, the
bridge's gateway; or the `hostIP` the Pod names), because iptables rules on loopback addresses
would need route_localnet on the host's `lo` and a NAT table the machine may not have. UDP
hostPorts are refused with a clear error (no relay for datagrams here). A port another process
holds fails the Pod, as a kubelet rejects a Pod whose host port is taken.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from katib_py.kube.meta import Obj


class HostPortError(Exception):
    pass


@dataclass(frozen=True)
class HostPort:
    host_ip: str
    host_port: int
    container_port: int
    protocol: str
    container: str


def host_ports(pod: Obj, node_ips: tuple[str, ...]) -> list[HostPort]:
    """The Pod's hostPort mappings, one per node address (a `hostIP` names the only one)."""
    out: list[HostPort] = []
    spec = pod.get("spec") or {}
    for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        for p in c.get("ports") or []:
            host_port = p.get("hostPort")
            if not host_port:
                continue
            protocol = str(p.get("protocol") or "TCP")
            ips = (str(p["hostIP"]),) if p.get("hostIP") else node_ips
            for ip in ips:
                out.append(
                    HostPort(ip, int(host_port), int(p["containerPort"]), protocol, str(c.get("name")))
                )
    return out


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass


class HostPortRelay:
    """Listens on each mapping's host address and relays every connection to the Pod."""

    def __init__(self, pod_ip: str, mappings: list[HostPort]) -> None:
        self.pod_ip = pod_ip
        self.mappings = mappings
        self._servers: list[asyncio.Server] = []
        self._conns: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        for m in self.mappings:
            if m.protocol != "TCP":
                await self.stop()
                raise HostPortError(
                    f"container {m.container}: hostPort {m.host_port}/{m.protocol} is not supported by "
                    f"this node (TCP only)"
                )
            try:
                server = await asyncio.start_server(self._handler(m.container_port), m.host_ip, m.host_port)
            except OSError as exc:
                await self.stop()
                raise HostPortError(
                    f"container {m.container}: host port {m.host_ip}:{m.host_port}/TCP is not free "
                    f"({exc.strerror or exc})"
                ) from exc
            self._servers.append(server)

    def _handler(
        self, port: int
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._conns.add(task)
            try:
                up_reader, up_writer = await asyncio.open_connection(self.pod_ip, port)
            except OSError:
                writer.close()
                self._conns.discard(task)
                return
            try:
                await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
            finally:
                for w in (writer, up_writer):
                    w.close()
                self._conns.discard(task)

        return handle

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._conns):
            task.cancel()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self._servers.clear()
