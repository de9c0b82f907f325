"""The guard of tests/unit/conftest.py: a unit test cannot reach the network, even by catching the refusal."""

from __future__ import annotations

import socket

import pytest


def test_an_internet_connection_is_refused(no_network):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe, pytest.raises(RuntimeError, match="network"):
        probe.connect(("192.0.2.1", 443))
    assert no_network == ["connect ('192.0.2.1', 443)"]
    no_network.clear()  # recorded, so the test would fail at teardown; cleared here because it was provoked


def test_a_name_lookup_is_refused(no_network):
    with pytest.raises(RuntimeError, match="network"):
        socket.getaddrinfo("dynamodb.eu-west-3.amazonaws.com", 443)
    assert no_network == ["resolve 'dynamodb.eu-west-3.amazonaws.com'"]
    no_network.clear()


def test_a_local_socket_pair_still_works():
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"ok")
        assert right.recv(2) == b"ok"
