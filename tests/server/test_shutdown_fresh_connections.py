"""Graceful shutdown and connections accepted just before it: their first request is
answered (a worker roll must not lose a request its client will not retry), and a client
that never sends one does not hold the shutdown to shutdown_timeout."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from tests.server.support import WAIT, RunningServer, read_until_closed, running, split_response


def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def _accepted_and_stopping(server: RunningServer) -> socket.socket:
    """A connection the server has accepted, with no request yet, once shutdown has begun."""
    fresh = server.connect()
    # The backlog is first in, first out: once a later connection is answered, the server
    # has accepted ``fresh`` too.
    assert server.get()[0] == 200
    server.server.shutdown()
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:  # shutdown has begun once the port refuses
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=WAIT).close()
        except (ConnectionRefusedError, ConnectionResetError):  # reset: dropped from the backlog
            return fresh
        time.sleep(0.01)
    pytest.fail("the server kept accepting after shutdown()")


@pytest.mark.parametrize("use_uvloop", [False, True])
def test_request_on_connection_accepted_before_shutdown_is_answered(use_uvloop: bool) -> None:
    with running(hello, use_uvloop=use_uvloop) as server:
        fresh = _accepted_and_stopping(server)
        with fresh:
            fresh.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            status, headers, body = split_response(read_until_closed(fresh))
        assert (status, body) == (200, b"hello")
        assert headers["connection"] == "close"  # the last answer of this server


def test_silent_fresh_connection_does_not_hold_shutdown_to_its_timeout() -> None:
    with running(hello, shutdown_timeout=30.0) as server:
        began = time.monotonic()
        fresh = _accepted_and_stopping(server)
        with fresh:
            assert read_until_closed(fresh) == b""  # closed after the grace, unanswered
        server.thread.join(WAIT)
        assert not server.thread.is_alive()
        assert time.monotonic() - began < 10.0, "shutdown waited for shutdown_timeout"
