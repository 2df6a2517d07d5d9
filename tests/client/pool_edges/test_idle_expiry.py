"""``Limits.keepalive_expiry``: "seconds an idle connection is kept (default 5.0: below the
5-15 s idle timeouts of common servers, so we close first)" (config.py docstring).

(Found by a review of the pool; fixed since.)
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest

import wirekit
from tests.support.pool_peers import Peer, keep_alive, read_head

EXPIRY = 0.3
#: The peer's own idle timeout: ten times the client's expiry.
SERVER_IDLE = 3.0


class _IdlePeer:
    """Answers one request, then waits ``SERVER_IDLE`` seconds for the client to close
    (EOF) or send more; records who ended the idle connection."""

    def __init__(self) -> None:
        self.outcome: list[str] = []
        self.done = threading.Event()

    def __call__(self, sock: socket.socket) -> None:
        try:
            head, _ = read_head(sock)
            if head is None:
                return
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            sock.settimeout(SERVER_IDLE)
            try:
                data = sock.recv(100)
            except TimeoutError:
                self.outcome.append("server idle timeout (the client kept it open)")
            else:
                self.outcome.append("client closed" if not data else "client sent more")
        finally:
            self.done.set()


def test_sync_expired_idle_connection_is_closed_before_the_server_times_it_out() -> None:
    """What the user sees: with ``keepalive_expiry=0.3`` and a server whose idle timeout is
    3 s, the idle connection is still open (``connection_counts()`` says idle 1) ten times
    past its expiry, and it is the server that closes it: the client's socket then sits in
    CLOSE_WAIT for as long as the client makes no request to that origin.

    Reference: the docstring promises the connection is kept ``keepalive_expiry`` seconds
    "so we close first"; aiohttp's connector closes expired idle connections from a timer
    (``keepalive_timeout``). wirekit only drops them when a later request goes through
    ``_acquire``, so a quiet client never closes first.

    Why it matters: the expiry exists so the client, not the server, ends idle connections
    (no CLOSE_WAIT sockets, no file descriptors held by a client that went quiet).
    """
    peer_handler = _IdlePeer()
    with (
        Peer(peer_handler) as peer,
        wirekit.Client(limits=wirekit.Limits(keepalive_expiry=EXPIRY), retry=0) as client,
    ):
        assert client.get(peer.url).status_code == 200
        assert peer_handler.done.wait(SERVER_IDLE + 10)
        counts = client.transport.connection_counts()
    assert peer_handler.outcome == ["client closed"], (peer_handler.outcome, counts)


@pytest.mark.anyio
async def test_async_expired_idle_connection_is_closed_before_the_server_times_it_out() -> None:
    """What the user sees: an ``AsyncClient`` with ``keepalive_expiry=0.3`` keeps its idle
    connection open well past the expiry (idle 1 after 3 s); the server's idle timeout
    closes it and the client's socket stays in CLOSE_WAIT until its next request.

    Reference: aiohttp's ``TCPConnector`` closes idle connections older than its
    ``keepalive_timeout`` in the background; the docstring of ``Limits`` says "so we close
    first".

    Why it matters: a long-lived AsyncClient (a service's shared client) that goes quiet
    holds up to ``max_idle_connections`` dead sockets per pool indefinitely.
    """
    peer_handler = _IdlePeer()
    with Peer(peer_handler) as peer:
        async with wirekit.AsyncClient(
            limits=wirekit.Limits(keepalive_expiry=EXPIRY), retry=0
        ) as client:
            assert (await client.get(peer.url)).status_code == 200
            deadline = time.monotonic() + SERVER_IDLE + 10
            while not peer_handler.done.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            counts = client.transport.connection_counts()
    assert peer_handler.outcome == ["client closed"], (peer_handler.outcome, counts)


def _expiry_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "wirekit-pool-expiry"]


def test_sync_expiry_timer_thread_ends_with_the_client_or_the_last_idle_connection() -> None:
    """The sync pool's expiry alarm is a timer thread that exists only while connections
    are idle: closing the client stops it at once, and once the last idle connection has
    expired it ends by itself (a client left open holds no thread for good)."""
    with Peer(keep_alive()) as peer:
        before = set(_expiry_threads())
        with wirekit.Client(limits=wirekit.Limits(keepalive_expiry=EXPIRY), retry=0) as client:
            client.get(peer.url)
            assert set(_expiry_threads()) - before, "no expiry alarm while a connection is idle"
        for thread in set(_expiry_threads()) - before:
            thread.join(5)
        assert not set(_expiry_threads()) - before, "the alarm outlived the closed client"

        with wirekit.Client(limits=wirekit.Limits(keepalive_expiry=EXPIRY), retry=0) as client:
            client.get(peer.url)
            for thread in set(_expiry_threads()) - before:
                thread.join(5)  # rings after EXPIRY, closes the connection, sets no new one
            counts = client.transport.connection_counts()
            assert not set(_expiry_threads()) - before
    assert counts == {"open": 0, "idle": 0}
