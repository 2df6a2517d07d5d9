"""A raw HTTP/1.1 peer for decoding tests: each request's path picks a prepared reply,
sent in the prepared pieces (TCP_NODELAY, a short pause between pieces so the client
sees them as separate reads)."""

from __future__ import annotations

import socket
import time

from tests.support.listener import ThreadedListener


def head(status: bytes, *headers: bytes) -> bytes:
    return b"HTTP/1.1 " + status + b"\r\n" + b"".join(h + b"\r\n" for h in headers)


def framed(
    body: bytes,
    framing: str,
    *headers: bytes,
    pieces: list[int] | None = None,
    status: bytes = b"200 OK",
) -> tuple[bytes, bool]:
    """The whole reply and whether the server closes after it. ``pieces``: chunk sizes of
    the chunked framing (default one chunk)."""
    top = head(status, *headers)
    if framing == "length":
        return top + b"Content-Length: %d\r\n\r\n" % len(body) + body, False
    if framing == "close":
        return top + b"Connection: close\r\n\r\n" + body, True
    sizes = pieces or [len(body) or 1]
    out, i, k = [], 0, 0
    while i < len(body):
        n = sizes[k % len(sizes)]
        k += 1
        out.append(b"%x\r\n%s\r\n" % (len(body[i : i + n]), body[i : i + n]))
        i += n
    return top + b"Transfer-Encoding: chunked\r\n\r\n" + b"".join(out) + b"0\r\n\r\n", False


class Peer(ThreadedListener):
    """``routes[path] = (reply bytes, split sizes or None, close after)``."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[bytes, tuple[bytes, list[int] | None, bool]] = {}
        self.connections = 0
        self.requests = 0

    def handle(self, sock: socket.socket) -> None:
        try:
            self._serve(sock)
        finally:
            sock.close()

    def _serve(self, sock: socket.socket) -> None:
        with self._lock:
            self.connections += 1
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(10)
        buf = b""
        end = time.monotonic() + 60
        while not self.stopping and time.monotonic() < end:
            while b"\r\n\r\n" not in buf:
                try:
                    data = sock.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                buf += data
            request, _, buf = buf.partition(b"\r\n\r\n")
            with self._lock:
                self.requests += 1
            path = request.split(b" ", 2)[1]
            reply, sizes, close = self.routes[path]
            try:
                if not sizes:
                    sock.sendall(reply)
                else:
                    i = k = 0
                    while i < len(reply):
                        n = sizes[k % len(sizes)]
                        k += 1
                        sock.sendall(reply[i : i + n])
                        i += n
                        if k < 200:
                            time.sleep(0.0005)
            except OSError:
                return
            if close:
                try:
                    sock.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
