"""`serve`: algorithm services started for real on 127.0.0.1 (free port), stopped after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from katib_py.suggestion.algorithm import ServiceOptions
from katib_py.suggestion.client import LocalService


@pytest.fixture
def serve() -> Iterator[Callable[..., LocalService]]:
    """serve(algorithm, options=None) -> a freshly started service with its client."""
    started: list[LocalService] = []

    def start(algorithm: str, options: ServiceOptions | None = None) -> LocalService:
        local = LocalService.start(algorithm, options)
        started.append(local)
        return local

    try:
        yield start
    finally:
        for local in started:
            local.stop()
