"""Helpers for the server tests: run a ``Server`` in a thread on port 0, and raw clients.

``running(app, **options)`` starts the server on its own event loop in a thread, yields it
with ``.port``, and shuts it down gracefully at exit (re-raising anything the thread raised).
"""

from __future__ import annotations

import http.client
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from wirekit.server import Server

#: Upper bound for any single wait in these tests (they are not timing tests: it only
#: bounds a hang).
WAIT = 10.0


class RunningServer:
    def __init__(self, server: Server, thread: threading.Thread) -> None:
        self.server = server
        self.thread = thread
        self.errors: list[BaseException] = []

    @property
    def port(self) -> int:
        return int(self.server.addresses[0][1])

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=WAIT)
        return sock

    def client(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=WAIT)

    def get(self, path: str = "/", **kwargs: Any) -> tuple[int, dict[str, str], bytes]:
        conn = self.client()
        try:
            conn.request(kwargs.pop("method", "GET"), path, **kwargs)
            response = conn.getresponse()
            return (
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
            )
        finally:
            conn.close()

    def shutdown(self) -> None:
        self.server.shutdown()
        self.thread.join(WAIT * 3)
        assert not self.thread.is_alive(), "server thread did not stop"


@contextmanager
def running(app: Any, **options: Any) -> Iterator[RunningServer]:
    options.setdefault("host", "127.0.0.1")
    options.setdefault("port", 0)
    options.setdefault("shutdown_timeout", 5.0)
    server = Server(app, **options)
    box: list[BaseException] = []

    def main() -> None:
        try:
            server.run()
        except BaseException as exc:  # reported at teardown
            box.append(exc)
            server.started.set()

    thread = threading.Thread(target=main, name="test-server", daemon=True)
    runner = RunningServer(server, thread)
    thread.start()
    assert server.started.wait(WAIT), "server did not start"
    if box:
        raise box[0]
    try:
        yield runner
    finally:
        runner.shutdown()
    if box:
        raise box[0]


def raw_exchange(sock: socket.socket, data: bytes) -> bytes:
    """Send ``data`` and read until the server closes the connection (bounded by WAIT)."""
    sock.sendall(data)
    return read_until_closed(sock)


def read_until_closed(sock: socket.socket) -> bytes:
    sock.settimeout(WAIT)
    chunks = []
    for _ in range(10_000):
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def read_head(sock: socket.socket, data: bytearray) -> tuple[bytes, bytes]:
    """Read until ``data`` holds a whole response head; (head, the bytes after it)."""
    sock.settimeout(WAIT)
    for _ in range(10_000):
        if b"\r\n\r\n" in data:
            break
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a full response head: {bytes(data)!r}"
        data += chunk
    head, _, rest = bytes(data).partition(b"\r\n\r\n")
    return head, rest


def read_response(
    sock: socket.socket, buffer: bytearray | None = None
) -> tuple[int, dict[str, str], bytes]:
    """Read one Content-Length or chunked response from a raw socket (bounded)."""
    data = buffer if buffer is not None else bytearray()
    head, rest = read_head(sock, data)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = bytearray(rest)
    if "content-length" in headers:
        size = int(headers["content-length"])
        for _ in range(10_000):
            if len(body) >= size:
                break
            chunk = sock.recv(65536)
            assert chunk, "connection closed in the middle of the body"
            body += chunk
        leftover = bytes(body[size:])
        body = body[:size]
    elif headers.get("transfer-encoding") == "chunked":
        for _ in range(10_000):
            if body.endswith(b"0\r\n\r\n") or b"\r\n0\r\n\r\n" in body:
                break
            chunk = sock.recv(65536)
            assert chunk, "connection closed in the middle of a chunked body"
            body += chunk
        end = (
            body.index(b"0\r\n\r\n") + 5
            if body.startswith(b"0\r\n")
            else body.index(b"\r\n0\r\n\r\n") + 7
        )
        leftover = bytes(body[end:])
        body = bytearray(_dechunk(bytes(body[:end])))
    else:
        leftover = b""
    if buffer is not None:
        buffer[:] = leftover
    return status, headers, bytes(body)


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2 :]
    return bytes(out)


def read_for(sock: socket.socket, seconds: float) -> tuple[bytes, bool]:
    """Read for up to ``seconds``; (bytes, True if the server closed or reset)."""
    deadline = time.monotonic() + seconds
    data = bytearray()
    for _ in range(10_000):
        left = deadline - time.monotonic()
        if left <= 0:
            return bytes(data), False
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return bytes(data), False
        except ConnectionResetError:
            return bytes(data), True
        if not chunk:
            return bytes(data), True
        data += chunk
    return bytes(data), False


def split_response(data: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


# -- WebSocket, seen from a raw socket -------------------------------------------------------
#: The key of RFC 6455's example handshake.
WS_KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
#: A client's WebSocket upgrade request for ``/`` (RFC 6455 §4.1).
WS_HANDSHAKE = (
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: " + WS_KEY + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def ws_frames(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of each whole server frame (unmasked) at the start of ``data``."""
    out = []
    while len(data) >= 2:
        opcode, n, i = data[0] & 0x0F, data[1] & 0x7F, 2
        if n == 126:
            n, i = struct.unpack("!H", data[2:4])[0], 4
        elif n == 127:
            n, i = struct.unpack("!Q", data[2:10])[0], 10
        if len(data) < i + n:
            break
        out.append((opcode, data[i : i + n]))
        data = data[i + n :]
    return out


def ws_close_code(data: bytes) -> int | None:
    """The status code of the first Close frame in ``data`` (1005 if it has none)."""
    for opcode, payload in ws_frames(data):
        if opcode == 8:
            return int(struct.unpack("!H", payload[:2])[0]) if len(payload) >= 2 else 1005
    return None
