"""The TLS accept path (wirekit.server.tls_accept) at its edges, found by a review: each
test failed before its fix. Clients are raw sockets / ``ssl`` on 127.0.0.1; both loops."""

from __future__ import annotations

import gc
import logging
import socket
import struct
import threading
import time
import warnings
from pathlib import Path

import pytest

from tests.server.apps import asgi_hello as hello
from tests.server.support import WAIT, running
from tests.server.tls_support import Certs

LOOPS = pytest.mark.parametrize("use_uvloop", [True, False], ids=["uvloop", "asyncio"])

#: SO_LINGER on, 0 s: close() sends a reset.
_RESET = struct.pack("ii", 1, 0)


@pytest.fixture
def certs(tmp_path: Path) -> Certs:
    return Certs(tmp_path)


def _send_then_reset(port: int, data: bytes) -> None:
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    try:
        if data:
            sock.sendall(data)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
    finally:
        sock.close()


# -- 1. A client resetting mid-handshake logs an ERROR with tracebacks under uvloop ---------


@pytest.mark.parametrize("sent", ["client_hello", "half_client_hello"])
def test_client_resetting_mid_handshake_logs_no_error(
    certs: Certs, caplog: pytest.LogCaptureFixture, sent: str
) -> None:
    """A port scanner, a browser tab closed mid-handshake (and, racily, plain HTTP sent to
    the TLS port by a client that then resets): the handshake fails with the peer gone, and
    ``_log_failed_handshake`` asks the already aborted transport for its peername. uvloop's
    transport raises AttributeError there, so the task dies with it: asyncio logs "Task
    exception was never retrieved" at ERROR with two tracebacks, per connection, and the
    info line ("failed: HTTP_REQUEST") is never written. (asyncio's transport answers
    after abort: that loop is fine, so this runs under uvloop, the default.)"""
    caplog.set_level(logging.DEBUG)
    hello_bytes = certs.client_hello()
    data = {
        "client_hello": hello_bytes,
        "half_client_hello": hello_bytes[:60],
    }[sent]
    with running(
        hello, ssl_certfile=certs.certfile, ssl_keyfile=certs.keyfile, use_uvloop=True
    ) as srv:
        for _ in range(10):
            _send_then_reset(srv.port, data)
        state = srv.server.state
        assert state is not None
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and state.handshakes:
            time.sleep(0.05)
        time.sleep(0.2)
        gc.collect()  # a failed task's exception is reported when the task is collected
    bad = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not bad, [f"{r.name} {r.levelname} {r.getMessage()} {r.exc_info!r}" for r in bad]


# -- 2. Graceful shutdown leaves connections accepted just before it open -------------------


# The leaked transports are reported by uvloop/asyncio as ResourceWarnings when collected
# (in the server's thread): the assertions below are what this test checks.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@LOOPS
def test_shutdown_closes_every_connection_still_before_its_handshake(
    certs: Certs, use_uvloop: bool
) -> None:
    """Connections keep arriving while the server shuts down (a rolling restart under
    load). ``_graceful_shutdown`` calls ``TLSAcceptor.abort()``, which only cancels the
    handshake task: a task cancelled before its first step never runs ``_handshake``, so
    its ``transport.abort()`` and ``handshakes.discard`` never happen. The socket stays
    open (the client hangs: no FIN, no reset) and stays in ``state.handshakes`` after the
    server has stopped: a descriptor leak for a server embedded with ``serve()``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for _attempt in range(3):
            _connect_during_shutdown(certs, use_uvloop)
        gc.collect()
    # asyncio's own loop fails to attach a connection accepted just before its Server
    # closes (an AssertionError it swallows) and leaves it to garbage collection.
    unclosed = [str(w.message) for w in caught if "unclosed transport" in str(w.message)]
    assert not unclosed, f"{len(unclosed)} accepted connections left to the garbage collector"


def _connect_during_shutdown(certs: Certs, use_uvloop: bool) -> None:
    clients: list[socket.socket] = []
    stop = threading.Event()
    with running(
        hello,
        ssl_certfile=certs.certfile,
        ssl_keyfile=certs.keyfile,
        use_uvloop=use_uvloop,
        header_timeout=30,
    ) as srv:
        port = srv.port

        def connect(
            port: int = port,
            stop: threading.Event = stop,
            clients: list[socket.socket] = clients,
        ) -> None:
            for _ in range(150):
                if stop.is_set():
                    return
                try:
                    clients.append(socket.create_connection(("127.0.0.1", port), timeout=2))
                except OSError:
                    return

        threads = [threading.Thread(target=connect) for _ in range(4)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(0.03)
            srv.shutdown()  # graceful shutdown while connections arrive
        finally:
            stop.set()
            for thread in threads:
                thread.join(WAIT)
        assert srv.server.state is not None
        left = list(srv.server.state.handshakes)
        still_open = [h for h in left if h.transport is not None and not h.transport.is_closing()]
        for sock in clients:
            sock.close()
    assert not still_open, (
        f"{len(still_open)} accepted connections never closed by graceful shutdown"
    )
    assert not left, f"{len(left)} connections left in state.handshakes after shutdown"
