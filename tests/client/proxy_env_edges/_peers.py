"""A recording loopback peer (the proxy or the origin) built on tests/support/pool_peers.

Each connection: read one request head (bounded by the Peer's socket timeout), record its
request line and headers, answer 200 with a body naming the peer, close.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from tests.support.pool_peers import Peer, read_head


class Recorder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.heads: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self.peer = Peer(self._handle)

    def _handle(self, sock: socket.socket) -> None:
        head, _ = read_head(sock)
        if head is None:
            return
        line, *fields = head.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for field in fields:
            name, _, value = field.partition(":")
            headers[name.strip().lower()] = value.strip()
        with self._lock:
            self.heads.append((line, headers))
        body = self.name.encode()
        sock.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
        )

    @property
    def port(self) -> int:
        return self.peer.port

    @property
    def url(self) -> str:
        return self.peer.url

    def __enter__(self) -> Recorder:
        self.peer.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.peer.__exit__(*exc)


class LoopbackResolver:
    """Every name resolves to 127.0.0.1 (and records the names asked for)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def resolve(self, host: str, port: int, *, family: int = 0) -> list[Any]:
        self.names.append(host)
        return [(socket.AF_INET, ("127.0.0.1", port))]


class AsyncLoopbackResolver(LoopbackResolver):
    async def resolve(self, host: str, port: int, *, family: int = 0) -> list[Any]:  # type: ignore[override]
        return LoopbackResolver.resolve(self, host, port, family=family)
