"""A raw loopback peer that streams its answer while reading (bounded waits, port 0)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterable

from tests.support.listener import ThreadedListener

WAIT = 10.0


def read_head(sock: socket.socket) -> tuple[bytes, bytes] | None:
    data = bytearray()
    for _ in range(10_000):
        if b"\r\n\r\n" in data:
            head, _, rest = bytes(data).partition(b"\r\n\r\n")
            return head, rest
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    return None


class StreamPeer(ThreadedListener):
    """Answers each request with ``respond(head, sock)``, which yields the bytes to send."""

    def __init__(self, respond: Callable[[bytes, socket.socket], Iterable[bytes]]) -> None:
        super().__init__()
        self.respond = respond
        self.heads: list[bytes] = []
        self.connections = 0

    def accepted(self, sock: socket.socket) -> tuple[()]:
        self.connections += 1
        return ()

    def handle(self, sock: socket.socket, *extra: object) -> None:
        try:
            sock.settimeout(WAIT)
            got = read_head(sock)
            if got is None:
                return
            head, _rest = got
            self.heads.append(head)
            for piece in self.respond(head, sock):
                if self.stopping:
                    return
                sock.sendall(piece)
        except OSError:
            return
        finally:
            with self._lock:
                if sock in self._sockets:
                    self._sockets.remove(sock)
            with contextlib.suppress(OSError):
                sock.close()
