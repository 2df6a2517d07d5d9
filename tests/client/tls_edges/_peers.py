"""Loopback TLS peers for the TLS review tests (threads, bounded waits, stop on exit)."""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

from tests.support.listener import ThreadedListener

#: Every peer's blocking call gives up after this long.
PEER_TIMEOUT = 10.0

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


def read_head(sock: Any) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = sock.recv(65536)
        except (OSError, ValueError):
            return None
        if not chunk:
            return None
        data += chunk
        if len(data) > 1 << 20:
            return None
    return data


class TLSPeer(ThreadedListener):
    """TLS server: handshake with ``context``, note the SNI, then ``respond(tls_sock)``.

    The default ``respond`` answers each request of a keep-alive connection with ``OK``.
    """

    def __init__(
        self,
        context: ssl.SSLContext,
        respond: Callable[[ssl.SSLSocket], None] | None = None,
        *,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(host=host)
        self.sni: list[str | None] = []
        self.handshakes = 0
        self.errors: list[BaseException] = []
        self.requests: list[bytes] = []
        self.peer_certs: list[Any] = []
        self._context = context
        self._respond = respond or self.keep_alive_ok

        def on_sni(sslobj: Any, name: str | None, ctx: Any) -> None:
            self.sni.append(name)

        context.sni_callback = on_sni

    def keep_alive_ok(self, tls: ssl.SSLSocket) -> None:
        for _ in range(100):
            head = read_head(tls)
            if head is None:
                return
            self.requests.append(head)
            tls.sendall(OK)

    def handle(self, sock: socket.socket, *extra: Any) -> None:
        sock.settimeout(PEER_TIMEOUT)
        try:
            tls = self._context.wrap_socket(sock, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            self.errors.append(exc)
            return
        self.handshakes += 1
        with contextlib.suppress(ValueError, OSError):
            self.peer_certs.append(tls.getpeercert())
        try:
            self._respond(tls)
        except (OSError, ssl.SSLError) as exc:
            self.errors.append(exc)
        finally:
            with contextlib.suppress(OSError):
                tls.close()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"


class RawPeer(ThreadedListener):
    """TCP server running ``behave(sock)`` for each connection (no TLS of its own)."""

    def __init__(self, behave: Callable[[socket.socket], None], *, host: str = "127.0.0.1"):
        super().__init__(host=host)
        self._behave = behave
        self.connections = 0

    def handle(self, sock: socket.socket, *extra: Any) -> None:
        self.connections += 1
        sock.settimeout(PEER_TIMEOUT)
        with contextlib.suppress(OSError):
            self._behave(sock)

    @property
    def https_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"


def silent(sock: socket.socket) -> None:
    """Accept TCP, never answer the handshake (until the peer stops or 10 s pass)."""
    ends = time.monotonic() + PEER_TIMEOUT
    while time.monotonic() < ends:
        try:
            if not sock.recv(65536):
                return
        except TimeoutError:
            return


def plain_http(sock: socket.socket) -> None:
    """A plain HTTP server on the TLS port: answers the ClientHello with a 400, closes."""
    sock.recv(65536)
    sock.sendall(
        b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n"
        b"Connection: close\r\n\r\nbad request"
    )
    sock.close()


def close_during_handshake(sock: socket.socket) -> None:
    """Read the ClientHello, then close without a word."""
    sock.recv(65536)
    sock.close()
