"""The UI's figures worker process: a worker that dies or hangs is replaced, and the page gets an answer.

Real spawned worker processes; the work is stdlib functions (a test module's own functions are
not importable by name in a spawned child under --import-mode=importlib).
"""

from __future__ import annotations

import asyncio
import operator
import os
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from katib_py.kube.client import KubeClient
from katib_py.ui import app


@pytest_asyncio.fixture
async def backend() -> AsyncIterator[app.Backend]:
    # nothing is started: only the worker pool is used, the client never connects
    made = app.Backend(KubeClient("https://127.0.0.1:9"), db_manager=None, core_namespace="kubeflow")
    try:
        yield made
    finally:
        if made.pool is not None:
            made.drop_worker(made.pool)
        await made.kube.close()


async def test_a_figure_is_computed_in_the_worker(backend: app.Backend) -> None:
    assert await app._in_process_pool(backend, operator.add, 2, 3) == 5
    assert await app._in_process_pool(backend, os.getpid) != os.getpid()


async def test_a_dead_worker_is_replaced(backend: app.Backend) -> None:
    first = await app._in_process_pool(backend, os.getpid)
    with pytest.raises(RuntimeError, match="the figures worker process died twice"):
        await app._in_process_pool(backend, os._exit, 3)
    assert backend.pool is None
    second = await app._in_process_pool(backend, os.getpid)
    assert second != first
    assert await app._in_process_pool(backend, operator.mul, 6, 7) == 42


async def test_a_hung_worker_is_killed_and_the_next_figure_gets_a_new_one(
    backend: app.Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app, "WORKER_SECONDS", 2.0)
    hung = await app._in_process_pool(backend, os.getpid)
    with pytest.raises(RuntimeError, match=r"took longer than 2 s; its worker was restarted"):
        await app._in_process_pool(backend, time.sleep, 600)
    for _ in range(100):  # the hung process is killed, not left running its sleep
        try:
            os.kill(hung, 0)
        except ProcessLookupError:
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail(f"worker {hung} still alive")
    assert await app._in_process_pool(backend, operator.add, 1, 1) == 2
