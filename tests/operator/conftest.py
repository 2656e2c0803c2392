"""The session's `katib-py up` stack (see operator_e2e for the helpers the tests use)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .operator_e2e import Stack, start_stack, stop_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("katib-up"))
    try:
        yield running
    finally:
        stop_stack(running)
