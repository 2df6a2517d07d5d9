"""A retry's wait can run past the request's total deadline.
(Found by a differential review of retries and redirects; fixed since.)

The driver (``_drive`` in src/wirekit/client/_async/client.py and the generated sync twin)
checks ``deadline.remaining() <= Sleep.seconds`` *before* it discards the retried response
(``_discard`` reads a body of up to 1 MiB), then sleeps the full wait without looking at
the clock again. A 429/503 whose small body arrives slowly (a loaded server, the very case
that sends 429/503) eats the remaining time while it is read, and the client then sleeps
the whole Retry-After on top.

What a user sees: with ``timeout=2.5`` the call takes about 4 s (the 2.0 s body, then a
2 s sleep) and ends in ``DeadlineExceeded`` "ran out during sending the request". With the
default ``Timeout`` (300 s) and ``max_retry_after`` (60 s) the overrun can reach a minute.
docs/client.md: the total deadline covers "redirects and retries"; a Retry-After longer
than what is left must not be slept (the driver's own rule), so the call should end by the
deadline (the 429 returned, or DeadlineExceeded at 2.5 s).
"""

from __future__ import annotations

import socket
import time

import pytest

import wirekit
from tests.client.retry_redirect_edges._server import RawServer, response

DEADLINE = 2.5
BODY_SECONDS = 2.0
SLACK = 0.5


def _slow_429_then_ok():
    calls = {"n": 0}

    def trickle(sock: socket.socket) -> None:
        sock.sendall(b"HTTP/1.1 429 Slow\r\nRetry-After: 2\r\nContent-Length: 10\r\n\r\n")
        for _ in range(10):  # 10 bytes over BODY_SECONDS
            time.sleep(BODY_SECONDS / 10)
            sock.sendall(b"x")

    def handler(seen):
        calls["n"] += 1
        if calls["n"] == 1:
            return trickle
        return response(200, body=b"ok")

    return handler


def test_retry_wait_stays_within_total_deadline() -> None:
    with RawServer(_slow_429_then_ok()) as server:
        started = time.monotonic()
        with wirekit.Client(trust_env=False, timeout=DEADLINE) as client:
            try:
                client.get(server.url + "/")
            except wirekit.DeadlineExceeded:
                pass
        elapsed = time.monotonic() - started
    assert elapsed < DEADLINE + SLACK, f"took {elapsed:.2f} s for a {DEADLINE} s deadline"


@pytest.mark.anyio
async def test_async_retry_wait_stays_within_total_deadline() -> None:
    with RawServer(_slow_429_then_ok()) as server:
        started = time.monotonic()
        async with wirekit.AsyncClient(trust_env=False, timeout=DEADLINE) as client:
            try:
                await client.get(server.url + "/")
            except wirekit.DeadlineExceeded:
                pass
        elapsed = time.monotonic() - started
    assert elapsed < DEADLINE + SLACK, f"took {elapsed:.2f} s for a {DEADLINE} s deadline"
