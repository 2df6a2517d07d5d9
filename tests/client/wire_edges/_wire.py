"""A raw loopback peer that records each request it gets (head and body) and answers 200,
on the shared ThreadedListener (tests/support/listener.py)."""

from __future__ import annotations

import socket
from typing import Any

from tests.support.listener import ThreadedListener

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class Peer(ThreadedListener):
    """Records each request (head, and a body by its length or chunked) and answers 200,
    closing the connection. Sockets time out after 5 s; reads are bounded in count."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(host=host)
        self.requests: list[bytes] = []

    @property
    def base(self) -> str:
        return self.url

    def handle(self, conn: socket.socket, *extra: Any) -> None:
        conn.settimeout(5)
        buf = b""
        for _ in range(1000):
            if b"\r\n\r\n" in buf:
                break
            d = conn.recv(65536)
            if not d:
                return
            buf += d
        head, _, rest = buf.partition(b"\r\n\r\n")
        length = 0
        chunked = False
        for field in head.split(b"\r\n")[1:]:
            n, _, v = field.partition(b":")
            if n.strip().lower() == b"content-length":
                length = int(v.strip())
            if n.strip().lower() == b"transfer-encoding":
                chunked = True
        for _ in range(1000):
            if chunked and rest.endswith(b"0\r\n\r\n"):
                break
            if not chunked and len(rest) >= length:
                break
            d = conn.recv(65536)
            if not d:
                break
            rest += d
        self.requests.append(head + b"\r\n\r\n" + rest)
        conn.sendall(OK)


def line(raw: bytes) -> bytes:
    return raw.split(b"\r\n", 1)[0]


def header_values(raw: bytes, name: bytes) -> list[bytes]:
    head = raw.split(b"\r\n\r\n", 1)[0]
    out = []
    for field in head.split(b"\r\n")[1:]:
        n, _, v = field.partition(b":")
        if n.lower() == name.lower():
            out.append(v.strip())
    return out


def header_names(raw: bytes) -> list[bytes]:
    head = raw.split(b"\r\n\r\n", 1)[0]
    return [f.partition(b":")[0] for f in head.split(b"\r\n")[1:]]


def body(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[1]
