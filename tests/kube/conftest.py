"""A real embedded API server (in memory, on 127.0.0.1) for the kit's client tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from katib_py.localcluster.apiserver import ApiServer


@pytest.fixture
async def apiserver(tmp_path: Path) -> AsyncIterator[ApiServer]:
    server = ApiServer(None, port=0, token="the-admin-token")
    await server.start()
    server.write_kubeconfig(tmp_path / "kubeconfig")
    try:
        yield server
    finally:
        await server.stop()
