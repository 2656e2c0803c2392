"""API server latency: create/get/patch/list of 1,000 objects and watch fan-out, against a bare
aiohttp server measured in the same run (same TLS, same client), to show the server's own overhead.

Run: .venv/bin/python -m bench.apiserver_bench [--objects 1000] [--watchers 50] [--events 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from katib_py.localcluster.apiserver import ApiServer, tls


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def timed(n: int, fn: Callable[[int], Awaitable[None]]) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        await fn(i)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def configmap(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"cm-{i:05d}", "labels": {"bench": "yes", "i": str(i % 10)}},
        "data": {"key": "value" * 20, "n": str(i)},
    }


class Baseline:
    """A bare aiohttp app answering fixed JSON bodies and fanning events out to streams."""

    def __init__(self, one: bytes, many: bytes) -> None:
        self.one, self.many = one, many
        self.streams: list[web.StreamResponse] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self, ssl_ctx: Any) -> None:
        app = web.Application()
        app.router.add_route("*", "/one", self.h_one)
        app.router.add_get("/many", self.h_many)
        app.router.add_get("/stream", self.h_stream)
        app.router.add_post("/emit", self.h_emit)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=ssl_ctx)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"https://127.0.0.1:{port}"

    async def h_one(self, request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=self.one, content_type="application/json")

    async def h_many(self, request: web.Request) -> web.Response:
        return web.Response(body=self.many, content_type="application/json")

    async def h_stream(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.content_type = "application/json"
        await resp.prepare(request)
        self.streams.append(resp)
        while resp in self.streams:
            await asyncio.sleep(0.05)
        return resp

    async def h_emit(self, request: web.Request) -> web.Response:
        body = await request.read()
        line = json.dumps({"type": "MODIFIED", "object": json.loads(body)}).encode() + b"\n"
        for s in list(self.streams):
            await s.write(line)
        return web.Response(body=self.one, content_type="application/json")

    async def stop(self) -> None:
        self.streams.clear()
        if self.runner is not None:
            await self.runner.cleanup()


async def fanout(
    session: aiohttp.ClientSession,
    stream_url: str,
    n_watchers: int,
    n_events: int,
    emit: Callable[[int], Awaitable[None]],
) -> list[float]:
    """Per event: time from the write request until the last of N watchers has received it."""
    received: dict[int, list[float]] = {i: [] for i in range(n_events)}
    ready = 0

    async def watcher() -> None:
        nonlocal ready
        async with session.get(stream_url, timeout=aiohttp.ClientTimeout(total=None)) as resp:
            ready += 1
            count = 0
            async for line in resp.content:
                if not line.strip():
                    continue
                ev = json.loads(line)
                if ev["type"] != "MODIFIED":
                    continue
                seq = int(ev["object"]["data"]["seq"])
                received[seq].append(time.perf_counter())
                count += 1
                if count == n_events:
                    return

    tasks = [asyncio.create_task(watcher()) for _ in range(n_watchers)]
    while ready < n_watchers:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    sent: list[float] = []
    for i in range(n_events):
        sent.append(time.perf_counter())
        await emit(i)
        while len(received[i]) < n_watchers:
            await asyncio.sleep(0)
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    return [(max(received[i]) - sent[i]) * 1000 for i in range(n_events)]


async def main(n_objects: int, n_watchers: int, n_events: int) -> None:
    server = ApiServer(None, bookmark_interval=3600)
    await server.start()
    headers = {"Authorization": f"Bearer {server.token}"}
    ssl_client = server.client_ssl_context()
    assert ssl_client is not None
    material = tls.generate()
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    base_ssl = material.server_context(workdir)
    rows: list[tuple[str, list[float], list[float]]] = []
    async with (
        aiohttp.ClientSession(headers=headers) as api,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=material.client_context())) as bare,
    ):
        ns = f"{server.url}/api/v1/namespaces/default/configmaps"

        async def create(i: int) -> None:
            async with api.post(ns, json=configmap(i), ssl=ssl_client) as r:
                assert r.status == 201, await r.text()
                await r.read()

        async def get(i: int) -> None:
            async with api.get(f"{ns}/cm-{i:05d}", ssl=ssl_client) as r:
                assert r.status == 200
                await r.read()

        async def patch(i: int) -> None:
            async with api.patch(
                f"{ns}/cm-{i:05d}",
                data=json.dumps({"data": {"n": f"p{i}"}}),
                headers={"Content-Type": "application/merge-patch+json"},
                ssl=ssl_client,
            ) as r:
                assert r.status == 200
                await r.read()

        list_runs = max(10, n_objects // 50)

        async def list_all(_: int) -> None:
            async with api.get(ns, ssl=ssl_client) as r:
                body = await r.json()
                assert len(body["items"]) == n_objects

        one = json.dumps(
            {
                **configmap(0),
                "metadata": {
                    **configmap(0)["metadata"],
                    "uid": "x" * 36,
                    "resourceVersion": "12345",
                    "creationTimestamp": "2026-01-01T00:00:00Z",
                },
            }
        ).encode()
        created = await timed(n_objects, create)
        async with api.get(ns, ssl=ssl_client) as r:
            many = await r.read()
        baseline = Baseline(one, many)
        await baseline.start(base_ssl)

        async def bare_one(_: int) -> None:
            async with bare.post(f"{baseline.url}/one", data=one) as r:
                await r.read()

        async def bare_get(_: int) -> None:
            async with bare.get(f"{baseline.url}/one") as r:
                await r.read()

        async def bare_many(_: int) -> None:
            async with bare.get(f"{baseline.url}/many") as r:
                await r.json()

        base_write = await timed(n_objects, bare_one)
        base_get = await timed(n_objects, bare_get)
        base_list = await timed(list_runs, bare_many)
        rows.append(("create", created, base_write))
        rows.append(("get", await timed(n_objects, get), base_get))
        rows.append(("patch (merge)", await timed(n_objects, patch), base_write))
        rows.append((f"list {n_objects}", await timed(list_runs, list_all), base_list))

        target = f"{ns}/cm-00000"

        async def emit_api(i: int) -> None:
            async with api.patch(
                target,
                data=json.dumps({"data": {"seq": str(i)}}),
                headers={"Content-Type": "application/merge-patch+json"},
                ssl=ssl_client,
            ) as r:
                await r.read()

        async def emit_bare(i: int) -> None:
            async with bare.post(f"{baseline.url}/emit", data=json.dumps({"data": {"seq": str(i)}})) as r:
                await r.read()

        async with aiohttp.ClientSession(
            headers=headers, connector=aiohttp.TCPConnector(ssl=ssl_client, limit=0)
        ) as watch_session:
            api_fan = await fanout(
                watch_session,
                f"{ns}?watch=true&fieldSelector=metadata.name%3Dcm-00000&resourceVersion={server.store.rv}",
                n_watchers,
                n_events,
                emit_api,
            )
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=material.client_context(), limit=0)
        ) as bare_watch:
            base_fan = await fanout(bare_watch, f"{baseline.url}/stream", n_watchers, n_events, emit_bare)
        rows.append((f"watch fan-out {n_watchers}x{n_events}", api_fan, base_fan))
        await baseline.stop()
    await server.stop()

    print(
        f"\nAPI server latency (ms), {n_objects} objects, HTTPS on 127.0.0.1, one client, sequential requests"
    )
    print("baseline = bare aiohttp handler returning the same JSON (fan-out: bare stream writer), same run\n")
    header = f"{'operation':<28}{'n':>6}{'p50':>9}{'p99':>9}{'base p50':>10}{'base p99':>10}"
    header += f"{'x p50':>8}{'x p99':>8}"
    print(header)
    print("-" * len(header))
    for name, samples, base in rows:
        p50, p99, b50, b99 = pct(samples, 0.5), pct(samples, 0.99), pct(base, 0.5), pct(base, 0.99)
        print(
            f"{name:<28}{len(samples):>6}{p50:>9.2f}{p99:>9.2f}{b50:>10.2f}{b99:>10.2f}"
            f"{p50 / b50:>8.1f}{p99 / b99:>8.1f}"
        )
    total = sum(statistics.fmean(s) for _, s, _ in rows)
    print(f"\n(mean of means {total / len(rows):.2f} ms; 'x' columns = server / baseline)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--watchers", type=int, default=50)
    parser.add_argument("--events", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.objects, args.watchers, args.events))
