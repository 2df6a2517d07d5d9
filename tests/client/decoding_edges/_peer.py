"""A raw loopback HTTP/1.1 peer for the decoding review: each request path picks a
prepared reply, sent in prepared pieces (TCP_NODELAY, a short pause between them so the
client sees separate reads); every connection is closed after its reply."""

from __future__ import annotations

import socket
import time

from tests.support.pool_peers import Peer, read_head


def serve(replies: dict[str, list[bytes]], *, pause: float = 0.02) -> Peer:
    """``replies``: path -> the reply's pieces. Unknown paths get a 404."""

    def handler(sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head, _ = read_head(sock)
        if head is None:
            return
        path = head.split(b" ", 2)[1].decode()
        pieces = replies.get(path, [b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"])
        for index, piece in enumerate(pieces):
            if index:
                time.sleep(pause)
            sock.sendall(piece)
        sock.shutdown(socket.SHUT_WR)
        time.sleep(0.05)

    return Peer(handler)


def response(body: bytes, *headers: bytes, status: bytes = b"200 OK", length: bool = True) -> bytes:
    top = b"HTTP/1.1 " + status + b"\r\n" + b"".join(h + b"\r\n" for h in headers)
    if length:
        top += b"Content-Length: %d\r\n" % len(body)
    else:
        top += b"Connection: close\r\n"
    return top + b"\r\n" + body
