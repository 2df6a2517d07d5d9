"""``wirekit serve`` under many connections: a 1,000-connection slowloris, and the memory
cost of 10,000 idle keep-alive connections (read from /proc, so Linux only).

Both raise RLIMIT_NOFILE in this process (the server subprocess inherits it) and fail with
a clear message when the hard limit is too low.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import time
from pathlib import Path

import pytest

from tests.server.process_support import (
    ServeProcess,
    get,
    open_fd_count,
    raise_open_file_limit,
    resident_bytes,
    wait_until,
)

pytestmark = pytest.mark.slow

#: Slow clients in the slowloris test.
SLOW_CLIENTS = 1_000
#: Connections that never send a byte (dropped at idle_timeout, without an answer).
SILENT_CLIENTS = 100
#: Short timeouts for the slowloris test, so the server drops the slow clients quickly.
#: (Long enough that opening the whole flood on loopback, well under a second, fits in it.)
SLOWLORIS_HEADER_TIMEOUT = 4.0
SLOWLORIS_IDLE_TIMEOUT = 4.0
#: Idle connections in the memory test.
IDLE_CONNECTIONS = 10_000
#: Requests sent before their answers are read (well under max_pending_requests=1,024).
REQUEST_BATCH = 256
#: The design limit this test pins: an idle keep-alive connection costs the server well
#: under 10 KiB (transport, protocol object, parser state; no per-connection buffers).
MAX_BYTES_PER_IDLE_CONNECTION = 10 * 1024
#: Descriptors the server may hold beyond its idle baseline afterwards (the sweep, logging).
FD_SLACK = 10


def test_slowloris_flood_is_dropped_while_a_normal_client_is_served(tmp_path: Path) -> None:
    raise_open_file_limit(SLOW_CLIENTS + SILENT_CLIENTS + 512)
    arguments = [
        "--header-timeout",
        str(SLOWLORIS_HEADER_TIMEOUT),
        "--idle-timeout",
        str(SLOWLORIS_IDLE_TIMEOUT),
    ]
    with ServeProcess("peer_apps:asgi_hello", arguments, log_path=tmp_path / "serve.log") as server:
        port = server.wait_serving()
        assert get(port) == (200, b"hello")
        baseline = open_fd_count(server.pid)

        slow: list[socket.socket] = []
        selector = selectors.DefaultSelector()
        received: dict[socket.socket, bytes] = {}
        try:
            for number in range(SLOW_CLIENTS + SILENT_CLIENTS):
                sock = socket.create_connection(("127.0.0.1", port), timeout=10.0)
                if number < SLOW_CLIENTS:
                    # A request head that never ends: half keep trickling header lines,
                    # half fall silent after the first lines.
                    sock.sendall(b"GET /slow HTTP/1.1\r\nHost: victim\r\n")
                sock.setblocking(False)
                slow.append(sock)
                received[sock] = b""
                selector.register(sock, selectors.EVENT_READ, number)
            # The flood is in and held by the server; a normal client is still answered.
            assert get(port) == (200, b"hello")
            assert open_fd_count(server.pid) >= baseline + len(slow) - FD_SLACK
            assert server.process.poll() is None

            open_slow = set(slow)
            trickling = [sock for index, sock in enumerate(slow[:SLOW_CLIENTS]) if index % 2 == 0]
            # Bounded: header_timeout plus sweeps, many times over; the loop ends as soon as
            # every slow connection was closed by the server.
            deadline = time.monotonic() + SLOWLORIS_HEADER_TIMEOUT * 10 + 10
            while open_slow and time.monotonic() < deadline:
                for sock in trickling:
                    if sock in open_slow:
                        with contextlib.suppress(OSError):
                            sock.send(b"X-a: b\r\n")
                for key, _ in selector.select(timeout=0.25):
                    sock = key.fileobj  # type: ignore[assignment]
                    try:
                        chunk = sock.recv(4096)
                    except BlockingIOError:
                        continue
                    except OSError:
                        chunk = b""
                    received[sock] += chunk
                    if not chunk:
                        open_slow.discard(sock)
                        selector.unregister(sock)
            assert not open_slow, (
                f"{len(open_slow)} of {len(slow)} slow connections still open long after "
                f"header_timeout={SLOWLORIS_HEADER_TIMEOUT}s"
            )
            # Each partial head was told why (408) before being closed, not just cut; a
            # connection that never spoke is closed without an answer (nothing to answer).
            answers = {received[sock].split(b"\r\n", 1)[0] for sock in slow[:SLOW_CLIENTS]}
            assert answers == {b"HTTP/1.1 408 Request Timeout"}, answers
            assert {received[sock] for sock in slow[SLOW_CLIENTS:]} == {b""}
        finally:
            selector.close()
            for sock in slow:
                sock.close()

        # The server let go of every descriptor the flood cost it, and still serves.
        wait_until(
            lambda: open_fd_count(server.pid) <= baseline + FD_SLACK,
            f"server fds back near the baseline of {baseline}",
        )
        assert get(port) == (200, b"hello")


@pytest.mark.parametrize("app", ["peer_apps:asgi_hello", "peer_apps:wsgi_hello"])
def test_ten_thousand_idle_connections_cost_little_memory(tmp_path: Path, app: str) -> None:
    # The limit is per process: this one holds the client ends, the server the other ends.
    raise_open_file_limit(IDLE_CONNECTIONS + 1_024)
    arguments = [
        "--max-connections",
        str(IDLE_CONNECTIONS * 2),
        "--idle-timeout",
        "120",
        "--header-timeout",
        "120",
        "--backlog",
        "4096",
    ]
    with ServeProcess(app, arguments, log_path=tmp_path / "serve.log") as server:
        port = server.wait_serving()
        # Warm up: the first requests import and allocate what every later one reuses.
        for _ in range(20):
            assert get(port) == (200, b"hello")
        before = resident_bytes(server.pid)

        idle: list[socket.socket] = []
        try:
            for _ in range(IDLE_CONNECTIONS):
                idle.append(socket.create_connection(("127.0.0.1", port), timeout=20.0))
            # One keep-alive request each, in batches below max_pending_requests (a burst
            # beyond it is answered 503 by design), so every connection ends up in the
            # between-requests state the server keeps for keep-alive.
            request = b"GET / HTTP/1.1\r\nHost: memory\r\n\r\n"
            for start in range(0, IDLE_CONNECTIONS, REQUEST_BATCH):
                batch = idle[start : start + REQUEST_BATCH]
                for sock in batch:
                    sock.sendall(request)
                for sock in batch:
                    answer = b""
                    for _ in range(100):
                        chunk = sock.recv(4096)
                        answer += chunk
                        if not chunk or answer.endswith(b"hello"):
                            break
                    assert answer.startswith(b"HTTP/1.1 200 "), answer
                    assert answer.endswith(b"hello"), answer
            assert len(idle) == IDLE_CONNECTIONS
            wait_until(
                lambda: open_fd_count(server.pid) >= IDLE_CONNECTIONS,
                f"the server holding {IDLE_CONNECTIONS} connections",
            )
            after = resident_bytes(server.pid)
            growth = after - before
            per_connection = growth / IDLE_CONNECTIONS
            assert per_connection < MAX_BYTES_PER_IDLE_CONNECTION, (
                f"{IDLE_CONNECTIONS} idle connections grew the server by {growth} bytes "
                f"({per_connection:.0f} per connection, limit {MAX_BYTES_PER_IDLE_CONNECTION})"
            )
            # Still answering, on a new connection and on an idle one.
            assert get(port) == (200, b"hello")
            idle[0].sendall(request)
            assert idle[0].recv(4096).endswith(b"hello")
        finally:
            for sock in idle:
                sock.close()
        assert server.process.poll() is None, server.log()
