"""A raw keep-alive HTTP/1.1 peer on 127.0.0.1 for the retry and redirect edge tests.

``RawServer(handler)``: every request read from a connection is recorded and passed to
``handler(request) -> bytes | Callable[[socket.socket], None] | None``; bytes are sent as
the answer (raw, so a test can send any header bytes), a callable is given the socket to
write the answer itself (a trickled body), None closes the connection. Every wait is
bounded; leaving the ``with`` block ends all connections.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.support.listener import ThreadedListener

MAX_REQUESTS_PER_CONNECTION = 100


@dataclass
class Seen:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def _read_request(reader: Any) -> Seen | None:
    line = reader.readline(65537)
    if not line:
        return None
    method, target, _ = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    headers: list[tuple[str, str]] = []
    for _ in range(200):
        raw = reader.readline(65537)
        if raw in (b"\r\n", b"\n", b""):
            break
        name, value = raw.decode("latin-1").split(":", 1)
        headers.append((name.strip(), value.strip()))
    lowered = {k.lower(): v for k, v in headers}
    body = b""
    if "content-length" in lowered:
        body = reader.read(int(lowered["content-length"]))
    elif lowered.get("transfer-encoding", "").lower() == "chunked":
        for _ in range(100_000):
            size = int(reader.readline(65537).split(b";")[0].strip(), 16)
            if size == 0:
                for _ in range(200):
                    if reader.readline(65537) in (b"\r\n", b"\n", b""):
                        break
                break
            body += reader.read(size)
            reader.readline(65537)
    return Seen(method, target, headers, body)


def response(status: int, headers: list[tuple[bytes, bytes]] = (), body: bytes = b"") -> bytes:  # type: ignore[assignment]
    head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    return b"HTTP/1.1 %d Status\r\n%sContent-Length: %d\r\n\r\n%s" % (status, head, len(body), body)


Handler = Callable[[Seen], "bytes | Callable[[socket.socket], None] | None"]


class RawServer(ThreadedListener):
    """Keep-alive raw HTTP/1.1 peer on the shared listener (tests/support/listener.py)."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1") -> None:
        super().__init__(host=host, backlog=16)
        self.handler = handler
        self.requests: list[Seen] = []
        self.connections = 0

    def accepted(self, sock: socket.socket) -> tuple[Any, ...]:
        self.connections += 1
        return ()

    def handle(self, sock: socket.socket, *extra: Any) -> None:
        self._serve(sock)

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(10)
        reader = sock.makefile("rb")
        try:
            for _ in range(MAX_REQUESTS_PER_CONNECTION):
                if self.stopping:
                    return
                seen = _read_request(reader)
                if seen is None:
                    return
                self.requests.append(seen)
                answer = self.handler(seen)
                if answer is None:
                    return
                if callable(answer):
                    answer(sock)
                else:
                    sock.sendall(answer)
        except (OSError, ValueError):
            return
        finally:
            reader.close()
            sock.close()
