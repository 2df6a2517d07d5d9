"""The conftest socket guard must refuse anything beyond loopback."""

import socket

import pytest


def test_guard_refuses_non_loopback() -> None:
    with socket.socket() as sock, pytest.raises(AssertionError, match="outside loopback"):
        sock.connect(("192.0.2.1", 9))


def test_guard_allows_loopback() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.socket() as client:
            client.connect(server.getsockname())
