"""Small loopback peers shared by the pool review tests (bounded in time)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

from tests.support.pool_peers import read_head

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def slow_keep_alive(delay: float) -> Callable[[socket.socket], None]:
    """Answer every request on the connection with 200 "ok" after ``delay`` seconds."""

    def handler(sock: socket.socket) -> None:
        buffer = b""
        for _ in range(1000):  # each recv is bounded by the peer's handler timeout
            head, buffer = read_head(sock, buffer)
            if head is None:
                return
            time.sleep(delay)
            sock.sendall(OK)

    return handler
