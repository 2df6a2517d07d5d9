"""A minimal, fast HTTP/1.1 keep-alive responder for pool tests and benchmarks.

Answers every request with the same response (status 200, a configurable body), keeps the
connection open unless the client sends ``Connection: close``, and counts connections and
requests. Not a real server: it reads a header block and a ``Content-Length`` body, nothing more.
"""

from __future__ import annotations

import contextlib
import socket

from tests.support.listener import ThreadedListener

__all__ = ["KeepAliveServer"]

#: A request head larger than this closes the connection (the responder is not a parser).
MAX_HEAD_BYTES = 64 * 1024
#: Idle keep-alive connections are dropped after this many seconds.
IDLE_TIMEOUT = 30.0


class KeepAliveServer(ThreadedListener):
    """Thread-per-connection HTTP/1.1 responder on 127.0.0.1 port 0."""

    def __init__(
        self,
        body: bytes = b"hello, world\n",
        *,
        content_type: str = "text/plain",
        host: str = "127.0.0.1",
        max_requests_per_connection: int | None = None,
    ) -> None:
        self.body = body
        self.max_requests_per_connection = max_requests_per_connection
        self._response = (
            b"HTTP/1.1 200 OK\r\nContent-Type: " + content_type.encode() + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        self._closing_response = self._response.replace(
            b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1
        )
        super().__init__(host=host, backlog=1024)
        self.connections = 0
        self.requests = 0

    def accepted(self, sock: socket.socket) -> tuple[()]:
        self.connections += 1
        return ()

    def handle(self, sock: socket.socket, *extra: object) -> None:
        buffer = b""
        served = 0
        sock.settimeout(IDLE_TIMEOUT)
        try:
            while not self._stop.is_set():
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(buffer) > MAX_HEAD_BYTES:
                        return
                    data = sock.recv(65536)
                    if not data:
                        return
                    buffer += data
                    continue
                head = buffer[:end].lower()
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    if line.startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                while len(buffer) < end + 4 + length:
                    data = sock.recv(65536)
                    if not data:
                        return
                    buffer += data
                buffer = buffer[end + 4 + length :]
                served += 1
                with self._lock:
                    self.requests += 1
                last = b"connection: close" in head or (
                    self.max_requests_per_connection is not None
                    and served >= self.max_requests_per_connection
                )
                sock.sendall(self._closing_response if last else self._response)
                if last:
                    return
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                self._sockets.remove(sock)
            with contextlib.suppress(OSError):
                sock.close()
