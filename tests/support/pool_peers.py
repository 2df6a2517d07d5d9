"""Tiny raw loopback HTTP peers for the pool and streaming lifecycle tests (bounded in time)."""

from __future__ import annotations

import socket
from collections.abc import Callable

from tests.support.listener import ThreadedListener

HANDLER_TIMEOUT = 10.0


def read_head(sock: socket.socket, buffer: bytes = b"") -> tuple[bytes | None, bytes]:
    """One request head (without the blank line) and what followed it; None at EOF."""
    while b"\r\n\r\n" not in buffer:
        if len(buffer) > 1 << 20:
            return None, b""
        data = sock.recv(65536)
        if not data:
            return None, b""
        buffer += data
    head, _, rest = buffer.partition(b"\r\n\r\n")
    return head, rest


class Peer(ThreadedListener):
    """Runs ``handler(sock)`` for every connection; counts connections."""

    def __init__(self, handler: Callable[[socket.socket], None]) -> None:
        super().__init__()
        self._handler = handler
        self.connections = 0

    def accepted(self, sock: socket.socket) -> tuple[()]:
        self.connections += 1
        return ()

    def handle(self, sock: socket.socket, *extra: object) -> None:
        sock.settimeout(HANDLER_TIMEOUT)
        try:
            self._handler(sock)
        except OSError:
            pass
        finally:
            sock.close()


def keep_alive(body: bytes = b"hello") -> Callable[[socket.socket], None]:
    """Answer every request on the connection with 200 and ``body``."""

    def handler(sock: socket.socket) -> None:
        buffer = b""
        for _ in range(1_000_000):  # bounded by HANDLER_TIMEOUT per recv
            head, buffer = read_head(sock, buffer)
            if head is None:
                return
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)

    return handler
