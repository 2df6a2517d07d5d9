"""WebSocket edges (RFC 6455 / ASGI websocket) found by a review: each test failed before
its fix, on a bug a client can trigger. 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
import tracemalloc
from typing import Any

import pytest

from tests.server.support import WAIT, WS_HANDSHAKE, running, ws_close_code, ws_frames


def _frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """One masked client frame (all-zero mask, so the payload stays as is)."""
    n = len(payload)
    first = (0x80 if fin else 0) | opcode
    if n < 126:
        head = bytes([first, 0x80 | n])
    elif n < 65536:
        head = bytes([first, 0x80 | 126]) + struct.pack("!H", n)
    else:
        head = bytes([first, 0x80 | 127]) + struct.pack("!Q", n)
    return head + b"\0\0\0\0" + payload


def _open(server: Any, *, rcvbuf: int = 0) -> tuple[socket.socket, bytes]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:  # before connect, so the window stays small
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(WAIT)
    sock.connect(("127.0.0.1", server.port))
    sock.sendall(WS_HANDSHAKE)
    data = b""
    for _ in range(100):
        if b"\r\n\r\n" in data:
            break
        data += sock.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock, rest


async def _echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.accept"})
    for _ in range(10_000):
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        await send(
            {"type": "websocket.send", "bytes": message.get("bytes"), "text": message.get("text")}
        )


def test_ping_flood_from_a_client_that_never_reads_is_not_buffered_without_bound() -> None:
    """Each Ping is answered with a Pong written whatever the transport's backlog: a client
    that sends pings and never reads makes the server buffer pongs at its upload rate until
    write_timeout (60 s). Reading should stop while writing is paused (write_high_water)."""
    with running(_echo) as server:
        sock, _ = _open(server, rcvbuf=4096)
        pings = _frame(9, b"p" * 125) * 512
        sock.setblocking(False)
        sent, pending = 0, b""
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline and sent < 64 << 20:
            if not pending:
                pending = pings
            try:
                taken = sock.send(pending)
            except BlockingIOError:
                time.sleep(0.01)
                continue
            except OSError:
                break
            pending, sent = pending[taken:], sent + taken
        time.sleep(0.3)
        buffered = [
            c.transport.get_write_buffer_size()
            for c in list(server.server.state.connections)
            if c.transport is not None
        ]
        sock.close()
    assert max(buffered, default=0) < 4 << 20, (
        f"{max(buffered) / 2**20:.1f} MiB of pongs queued in the server "
        f"(client pushed {sent / 2**20:.1f} MiB of pings, write_high_water is 64 KiB)"
    )


def test_server_close_waits_for_the_clients_close_instead_of_resetting() -> None:
    """The app closes (4001) while the client's earlier frames are still unread: the server
    closes the socket right after its Close frame, the kernel answers with a TCP RST, and the
    client's reply Close / pending send fail with ECONNRESET (the websockets client then
    reports 1006 with no close frame instead of 4001). RFC 6455 §7.1.1/§5.5.1: after sending
    Close, keep reading (discarding data) until the peer's Close, then close."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()
        await send({"type": "websocket.accept"})
        await receive()
        await asyncio.sleep(0.5)  # the client keeps streaming meanwhile
        await send({"type": "websocket.close", "code": 4001, "reason": "go"})

    with running(app) as server:
        sock, data = _open(server)
        sock.sendall(_frame(2, b"x" * 16384) * 32)  # 512 KiB: fits the kernel buffers
        received = bytearray(data)
        deadline = time.monotonic() + 3
        while ws_close_code(bytes(received)) is None and time.monotonic() < deadline:
            sock.settimeout(3)
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        assert ws_close_code(bytes(received)) == 4001
        reset = False
        try:
            sock.sendall(_frame(8, struct.pack("!H", 4001)))  # our Close reply
            sock.settimeout(3)
            for _ in range(1000):
                if not sock.recv(65536):
                    break
        except ConnectionResetError:
            reset = True
        sock.close()
    assert not reset, "server reset the connection instead of completing the close handshake"


def test_accept_after_the_client_reset_is_not_an_asgi_protocol_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A client that drops (RST) while the app is still deciding: the app's later
    websocket.accept raises RuntimeError('ASGI protocol error: websocket.accept sent twice or
    after close') and the server logs two errors with a traceback. ASGI: send() on a closed
    connection raises an OSError subclass (ClientDisconnected), which is not an app bug."""
    seen: dict[str, BaseException] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()
        await asyncio.sleep(0.5)  # e.g. an auth lookup
        try:
            await send({"type": "websocket.accept"})
        except BaseException as exc:
            seen["exc"] = exc
            raise

    with caplog.at_level(logging.INFO, logger="wirekit"):
        with running(app) as server:
            sock = server.connect()
            sock.sendall(WS_HANDSHAKE)
            time.sleep(0.1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()  # RST
            deadline = time.monotonic() + 3
            while "exc" not in seen and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.2)
    exc = seen.get("exc")
    assert exc is None or isinstance(exc, OSError), repr(exc)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors


def _until_pong(sock: socket.socket, payload: bytes) -> None:
    """Read until the Pong for `payload` arrives: the server answers a Ping in order, so by
    then it has parsed every frame sent before it (bounded by the socket timeout)."""
    data = b""
    while (10, payload) not in ws_frames(data):
        chunk = sock.recv(65536)
        assert chunk, "server closed before answering the Ping"
        data += chunk


def test_message_in_tiny_fragments_does_not_cost_many_times_its_size() -> None:
    """Fragments are kept as a list of small objects until the message ends: 2-byte
    fragments cost ~40 bytes each, so ws_max_message_bytes (16 MiB by default) lets one
    connection hold hundreds of MiB. Accumulating into one bytearray/StringIO bounds it.

    Measured once the server has parsed every fragment (a Ping sent after them is answered),
    after a warm-up message, so only what the open message holds is counted."""
    fragments = 20_000  # 40 KB of payload, well under the 1 MiB limit
    with running(_echo, ws_max_message_bytes=1 << 20) as server:
        sock, _ = _open(server)
        # Warm-up: a fragmented message echoed back and a Ping answered, so first-use
        # imports and caches on these paths are not counted below.
        sock.sendall(_frame(2, b"ab", fin=False) + _frame(0, b"cd") + _frame(9, b"warm"))
        _until_pong(sock, b"warm")
        # Parsing 20,000 frames under tracemalloc takes seconds on a loaded machine.
        sock.settimeout(WAIT * 6)
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            sock.sendall(
                _frame(2, b"ab", fin=False)
                + _frame(0, b"ab", fin=False) * (fragments - 1)
                + _frame(9, b"sync")
            )
            _until_pong(sock, b"sync")
            growth = tracemalloc.get_traced_memory()[0] - base
        finally:
            tracemalloc.stop()
        sock.close()
    assert growth < 256 * 1024, f"{growth / 2**20:.1f} MiB held for a 40 KB partial message"


def _until_close(server: Any) -> bytes:
    """Open a WebSocket and read until the server's Close frame (bounded by WAIT)."""
    sock, data = _open(server)
    deadline = time.monotonic() + WAIT
    while ws_close_code(data) is None and time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    return data


def _error_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR and r.name == "wirekit.server"]


def test_websocket_protocol_error_is_one_error_record(caplog: pytest.LogCaptureFixture) -> None:
    """A protocol mistake was logged when raised and again, with a traceback, when it ended
    the app: two alerts for one mistake (as for HTTP apps before)."""

    async def bogus(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.bogus"})

    caplog.set_level(logging.INFO)
    with running(bogus) as server:
        data = _until_close(server)
    assert ws_close_code(data) == 1011
    assert len(_error_records(caplog)) == 1, [r.getMessage() for r in _error_records(caplog)]


def test_websocket_app_failing_with_its_own_cancelled_error_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An app that awaited a future someone else cancelled ended with CancelledError: the
    server re-raised it as if it had cancelled the task itself, logged nothing and left the
    client without a Close until the connection dropped."""

    async def cancelled(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()
        await send({"type": "websocket.accept"})
        shared = asyncio.get_running_loop().create_future()
        shared.cancel()  # a shared cache fill, cancelled by its owner
        await shared

    caplog.set_level(logging.INFO)
    with running(cancelled) as server:
        data = _until_close(server)
    assert ws_close_code(data) == 1011
    records = _error_records(caplog)
    assert len(records) == 1
    assert "cancelled" in records[0].getMessage()
