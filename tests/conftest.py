"""Shared test fixtures: `serve` (algorithm services started for real on 127.0.0.1, stopped after
each test) and the hypothesis profile the fuzz modules share (tests/*/test_fuzz.py).

The fuzz profile is bounded and repeatable: KATIB_PY_FUZZ_EXAMPLES examples a test (120 by
default), the same ones every run (derandomized), no example database written, no per-example
deadline (the servers run on a shared machine; each call has its own gRPC timeout instead).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, settings

from katib_py.suggestion.algorithm import ServiceOptions
from katib_py.suggestion.client import LocalService

FUZZ_EXAMPLES = int(os.environ.get("KATIB_PY_FUZZ_EXAMPLES", "120"))

settings.register_profile(
    "fuzz",
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


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
