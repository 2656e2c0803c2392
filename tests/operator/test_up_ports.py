"""`katib-py up` port choice: the metrics port must never be the webhook port chosen just before.

The kernel may hand a just-released port out again; the operator then bound its metrics server
there, the webhook server failed with EADDRINUSE, and admission got the metrics server's 405.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from katib_py.local import up


class _OfferedPorts:
    """Stands in for socket.socket: each bind to port 0 gets the next port from `offers`."""

    def __init__(self, offers: list[int]) -> None:
        self.offers = offers

    def __call__(self, *args: Any, **kwargs: Any) -> _OfferedPorts:
        return self

    def __enter__(self) -> _OfferedPorts:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def bind(self, address: tuple[str, int]) -> None:
        self.port = self.offers.pop(0)

    def getsockname(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)


def test_free_port_skips_ports_already_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    offers = _OfferedPorts([48953, 48953, 48954])
    monkeypatch.setattr(socket, "socket", offers)
    assert up.free_port() == 48953
    assert up.free_port(avoid=frozenset({48953})) == 48954
    assert offers.offers == []


def test_free_port_is_bindable() -> None:
    port = up.free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
