"""tests/unit runs in process and offline: no network, no moto.

Any internet socket or name lookup fails the test, even when the code under test catches the error (a callback
answers every exception in the gateway's format, so a raised error alone could pass unnoticed). Unit tests of the
use cases run on the in-memory stores of `tests/support/fakes.py`; the moto-backed `dynamodb` and `invoice_store` fixtures
of tests/conftest.py belong to tests/integration and are refused here.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

_INTERNET = (socket.AF_INET, socket.AF_INET6)


class NetworkUsed(RuntimeError):
    """A unit test tried to reach the network."""


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Refuse internet sockets and name lookups for the test; fail it if anything tried, caught or not."""
    attempts: list[str] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def refuse(what: str) -> NetworkUsed:
        attempts.append(what)
        return NetworkUsed(f"tests/unit must not use the network ({what})")

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in _INTERNET:
            raise refuse(f"connect {address!r}")
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if self.family in _INTERNET:
            raise refuse(f"connect {address!r}")
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *_: Any, **__: Any) -> Any:
        raise refuse(f"resolve {host!r}")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    assert not attempts, f"the test tried to use the network: {attempts}"


@pytest.fixture
def dynamodb() -> None:
    pytest.fail("tests/unit runs on the in-memory stores (tests/support/fakes.py), not on moto: use tests/integration")


@pytest.fixture
def invoice_store() -> None:
    pytest.fail("tests/unit runs on the in-memory stores (tests/support/fakes.py), not on moto: use tests/integration")


@pytest.fixture
def containers() -> None:
    pytest.fail("tests/unit runs in process, without Lambda containers: use tests/integration")
