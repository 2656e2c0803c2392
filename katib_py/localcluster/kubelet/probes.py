"""Container probes (exec, tcpSocket, httpGet, grpc) against the Pod's own address.

`ProbeLoop` applies Kubernetes' timing (initialDelaySeconds, periodSeconds, timeoutSeconds,
successThreshold, failureThreshold) and reports each transition of the probe's verdict.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

Obj = dict[str, Any]
ExecRunner = Callable[[list[str], float], Awaitable[int]]  # (command, timeout) -> exit code

log = logging.getLogger(__name__)


def resolve_port(port: Any, container: Obj) -> int:
    """A probe port: a number, or the name of one of the container's ports."""
    if isinstance(port, int):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return int(p["containerPort"])
    raise ValueError(f"port {port!r} not found in container {container.get('name')}")


async def _tcp(host: str, port: int, timeout: float) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    return True


async def _http(probe: Obj, host: str, port: int, timeout: float) -> bool:
    scheme = (probe.get("scheme") or "HTTP").lower()
    path = probe.get("path") or "/"
    if not path.startswith("/"):
        path = "/" + path
    headers = {h["name"]: h.get("value", "") for h in probe.get("httpHeaders") or []}
    target_host = probe.get("host") or host
    url = f"{scheme}://{target_host}:{port}{path}"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.get(url, headers=headers, ssl=False, allow_redirects=False) as resp,
        ):
            return 200 <= resp.status < 400
    except (aiohttp.ClientError, OSError, TimeoutError):
        return False


def _grpc_check(host: str, port: int, service: str, timeout: float) -> bool:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    try:
        with grpc.insecure_channel(f"{host}:{port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            resp = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
            return bool(resp.status == health_pb2.HealthCheckResponse.SERVING)
    except grpc.RpcError:
        return False


async def _grpc(host: str, port: int, service: str, timeout: float) -> bool:
    # The blocking client in a worker thread: grpc.aio would tie itself to the control plane's loop.
    return await asyncio.to_thread(_grpc_check, host, port, service, timeout)


async def probe_once(probe: Obj, host: str, container: Obj, run_exec: ExecRunner) -> bool:
    timeout = float(probe.get("timeoutSeconds") or 1)
    try:
        if "exec" in probe:
            command = list((probe["exec"] or {}).get("command") or [])
            return await run_exec(command, timeout) == 0
        if "tcpSocket" in probe:
            tcp = probe["tcpSocket"]
            return await _tcp(tcp.get("host") or host, resolve_port(tcp.get("port"), container), timeout)
        if "httpGet" in probe:
            http = probe["httpGet"]
            return await _http(http, host, resolve_port(http.get("port"), container), timeout)
        if "grpc" in probe:
            g = probe["grpc"]
            return await _grpc(host, int(g.get("port")), g.get("service") or "", timeout)
    except ValueError:
        return False
    return True


class ProbeLoop:
    """Runs one probe periodically; calls `on_change(result)` whenever the verdict flips."""

    def __init__(
        self,
        probe: Obj,
        host: str,
        container: Obj,
        run_exec: ExecRunner,
        on_change: Callable[[bool], None],
        *,
        initial: bool = False,
    ) -> None:
        self.probe = probe
        self.host = host
        self.container = container
        self.run_exec = run_exec
        self.on_change = on_change
        self.result = initial
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        p = self.probe
        period = float(p.get("periodSeconds") or 10)
        success_needed = int(p.get("successThreshold") or 1)
        failure_needed = int(p.get("failureThreshold") or 3)
        await asyncio.sleep(float(p.get("initialDelaySeconds") or 0))
        successes = failures = 0
        loop = asyncio.get_running_loop()
        last_counted = -period
        while True:
            ok = await probe_once(p, self.host, self.container, self.run_exec)
            if ok:
                successes, failures = successes + 1, 0
                if not self.result and successes >= success_needed:
                    self.result = True
                    self.on_change(True)
            elif loop.time() - last_counted >= period * 0.99:
                # Failures count once per period, as Kubernetes probes do, even when we poll faster.
                last_counted = loop.time()
                successes, failures = 0, failures + 1
                if failures >= failure_needed and (self.result or failures == failure_needed):
                    self.result = False
                    self.on_change(False)
            # Until the first success, poll faster than the period so readiness is seen early.
            await asyncio.sleep(period if self.result else min(period, 0.2))
