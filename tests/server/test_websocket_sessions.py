"""WebSocket sessions (back-pressure, limits, handshake, shutdown).

Each test fails on the code as reviewed because of a bug a user can hit, and passes once
it is fixed. Peers: raw sockets and the ``websockets`` client, on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.server.support import WAIT, read_for, read_until_closed, running

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="


def _handshake(path: bytes = b"/", key: bytes = KEY, version: bytes = b"13") -> bytes:
    return (
        b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\n"
        b"Sec-WebSocket-Version: " + version + b"\r\n\r\n"
    )


def _frame(opcode: int, payload: bytes) -> bytes:
    """One final, masked (all-zero key) client frame."""
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 0x80 | 126]) + struct.pack("!H", n)
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + struct.pack("!Q", n)
    return head + b"\0\0\0\0" + payload


def _push(sock: socket.socket, frame: bytes, *, seconds: float, cap: int) -> int:
    """Send ``frame`` over and over without blocking for ``seconds``; bytes the kernel took."""
    sock.setblocking(False)
    sent = 0
    pending = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and sent < cap:
        if not pending:
            pending = frame
        try:
            taken = sock.send(pending)
        except BlockingIOError:
            time.sleep(0.01)
            continue
        except OSError:  # the server gave up on us: that is back-pressure too
            break
        pending = pending[taken:]
        sent += taken
    return sent


MiB = 1 << 20


def test_ws_send_waits_for_a_slow_reader() -> None:
    """An app streaming to a client that does not read must be paused (write_high_water),
    not have every message queued in memory until write_timeout."""
    progress = {"sent": 0}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()
        await send({"type": "websocket.accept"})
        chunk = b"z" * 65536
        for _ in range(1024):  # 64 MiB at most
            await send({"type": "websocket.send", "bytes": chunk})
            progress["sent"] += len(chunk)

    with running(app, ws_per_message_deflate=False) as server:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(WAIT)
        sock.connect(("127.0.0.1", server.port))
        try:
            sock.sendall(_handshake())
            time.sleep(2.0)  # never read
            sent = progress["sent"]
        finally:
            sock.close()
    # Kernel buffers (a few MiB) plus write_high_water (64 KiB) is what may be in flight.
    assert sent < 32 * MiB, f"app sent {sent >> 20} MiB to a client that read nothing"


def test_ws_stops_reading_while_the_app_does_not_receive() -> None:
    """Messages the app has not asked for yet must not pile up in server memory without
    bound: reading stops (as uvicorn does) until the app calls receive()."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()
        await send({"type": "websocket.accept"})
        await asyncio.sleep(6)  # busy: no receive() meanwhile

    with running(app, ws_per_message_deflate=False, ws_max_message_bytes=MiB) as server:
        sock = server.connect()
        try:
            sock.sendall(_handshake())
            assert sock.recv(65536).startswith(b"HTTP/1.1 101 ")
            pushed = _push(sock, _frame(2, b"m" * (256 * 1024)), seconds=4.0, cap=160 * MiB)
        finally:
            sock.close()
    assert pushed < 100 * MiB, f"server swallowed {pushed >> 20} MiB the app never received"


def test_ws_frames_before_accept_are_not_buffered_without_limit() -> None:
    """While the app decides (auth, a slow lookup) the client's early frames are kept in an
    unbounded list: a client can fill server memory before it is even accepted."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()
        await asyncio.sleep(6)  # deciding whether to accept
        await send({"type": "websocket.close"})

    with running(app, ws_per_message_deflate=False, ws_max_message_bytes=MiB) as server:
        sock = server.connect()
        try:
            sock.sendall(_handshake())
            pushed = _push(sock, _frame(2, b"m" * (256 * 1024)), seconds=4.0, cap=160 * MiB)
        finally:
            sock.close()
    assert pushed < 100 * MiB, f"server buffered {pushed >> 20} MiB before accepting"


def test_ws_max_message_bytes_counts_utf8_bytes_of_text() -> None:
    """ws_max_message_bytes is a byte limit; text messages are measured in characters, so a
    message of 3-byte characters passes at three times the limit."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()
        await send({"type": "websocket.accept"})
        message = await receive()
        if message["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": str(len(message["text"].encode()))})

    with running(app, ws_max_message_bytes=1000, ws_per_message_deflate=False) as server:
        with connect(
            f"ws://127.0.0.1:{server.port}/",
            open_timeout=WAIT,
            close_timeout=WAIT,
            compression=None,
        ) as ws:
            ws.send("\u20ac" * 900)  # 2,700 bytes of UTF-8
            try:
                reply = ws.recv(timeout=WAIT)
            except ConnectionClosed as exc:
                closed = exc
            else:
                pytest.fail(f"a {reply}-byte text message passed ws_max_message_bytes=1000")
    assert closed.rcvd is not None
    assert closed.rcvd.code == 1009


def test_ws_unsupported_version_answer_names_version_13() -> None:
    """RFC 6455 §4.2.2 / §4.4: a server that does not speak the requested version MUST say
    which versions it does, in a Sec-WebSocket-Version header (so clients can retry)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})

    with running(app) as server, server.connect() as sock:
        sock.sendall(_handshake(version=b"8"))
        data = read_until_closed(sock)
    head = data.partition(b"\r\n\r\n")[0].lower()
    assert head.startswith(b"http/1.1 4")
    assert b"\r\nsec-websocket-version: 13" in head, head


def test_ws_bad_sec_websocket_key_gets_400() -> None:
    """RFC 6455 §4.2.1: the key must be base64 of 16 bytes; otherwise the server MUST stop
    and answer 400, not switch protocols."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})

    with running(app) as server, server.connect() as sock:
        sock.sendall(_handshake(key=b"not-a-nonce"))
        data, _ = read_for(sock, 2.0)
    assert data.startswith(b"HTTP/1.1 400 "), data[:80]


def test_ws_ping_after_an_oversized_message_is_not_a_fatal_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A ping that arrives in the same read as a message over ws_max_message_bytes makes
    the session answer Pong after its own Close: wsproto raises LocalProtocolError out of
    data_received, the loop logs "Fatal error" with a traceback and resets the connection."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()
        await send({"type": "websocket.accept"})
        for _ in range(10):
            if (await receive())["type"] == "websocket.disconnect":
                return

    caplog.set_level(logging.ERROR)
    with running(app, ws_max_message_bytes=1000, ws_per_message_deflate=False) as server:
        sock = server.connect()
        try:
            sock.sendall(_handshake())
            assert sock.recv(65536).startswith(b"HTTP/1.1 101 ")
            sock.sendall(_frame(2, b"x" * 2000) + _frame(9, b"p"))
            data, _ = read_for(sock, 2.0)
        finally:
            sock.close()
    assert data[:1] == b"\x88"  # our Close frame...
    assert data[2:4] == struct.pack("!H", 1009)  # ...with 1009
    fatal = [
        record
        for record in caplog.records
        if record.exc_info and "LocalProtocolError" in repr(record.exc_info[1])
    ]
    assert not fatal, [record.getMessage() for record in fatal]


def test_graceful_shutdown_lets_websocket_handlers_finish_before_lifespan_shutdown() -> None:
    """After the 1001 close, the server stops waiting as soon as the socket is gone: the
    WebSocket handler's clean-up is cancelled, and lifespan shutdown (closing the pools the
    handler uses) runs before it. HTTP handlers are waited for; WebSocket ones are not."""
    log: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            for _ in range(2):
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    log.append("lifespan shutdown")
                    await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "websocket":
            return
        await receive()
        await send({"type": "websocket.accept"})
        for _ in range(100):
            if (await receive())["type"] == "websocket.disconnect":
                break
        try:
            await asyncio.sleep(0.5)  # clean-up: leave the room, flush state
            log.append("ws cleanup done")
        except asyncio.CancelledError:
            log.append("ws cleanup cancelled")
            raise

    with running(app, shutdown_timeout=5.0) as server:
        with connect(f"ws://127.0.0.1:{server.port}/", open_timeout=WAIT, close_timeout=WAIT) as ws:
            server.server.shutdown()
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=WAIT)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1001
            server.thread.join(WAIT)
    assert log == ["ws cleanup done", "lifespan shutdown"]


def test_ws_subprotocols_from_repeated_header_lines_all_reach_the_app() -> None:
    """RFC 6455 §11.3.4: Sec-WebSocket-Protocol MAY appear several times in a request (the
    same as one comma-joined field); only the first line reaches scope["subprotocols"]."""
    seen: list[list[str]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        seen.append(list(scope["subprotocols"]))
        await receive()
        await send({"type": "websocket.close"})

    with running(app) as server, server.connect() as sock:
        sock.sendall(
            _handshake()[:-2]
            + b"Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: superchat\r\n\r\n"
        )
        read_for(sock, 1.0)
    assert seen == [["chat", "superchat"]]
