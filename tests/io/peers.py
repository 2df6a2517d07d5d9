"""Loopback peers the I/O tests need beyond tests/support: a TLS echo server, a TLS
tunnel and fake resolvers (``Blackhole`` is re-exported from tests.support)."""

from __future__ import annotations

import contextlib
import socket
import ssl
from typing import Any

from tests.support.listener import ThreadedListener
from wirekit._io.base import Address
from wirekit.errors import NameResolutionError


class TLSEchoServer(ThreadedListener):
    """Accepts on 127.0.0.1:0, does the TLS handshake, echoes bytes until EOF.

    ``peer_certificates`` records the client certificate of each connection (None without);
    ``errors`` the handshake failures the server saw.
    """

    def __init__(self, context: ssl.SSLContext, *, host: str = "127.0.0.1") -> None:
        self.context = context
        super().__init__(host=host, backlog=16)
        self.peer_certificates: list[dict[str, Any] | None] = []
        self.errors: list[str] = []

    def handle(self, sock: socket.socket, *extra: Any) -> None:
        sock.settimeout(10)
        try:
            tls = self.context.wrap_socket(sock, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")
            sock.close()
            return
        with tls:
            self.peer_certificates.append(tls.getpeercert() or None)
            try:
                while not self._stop.is_set():
                    try:
                        data = tls.recv(65536)
                    except TimeoutError:
                        continue
                    if not data:
                        return
                    tls.sendall(data)
            except (OSError, ssl.SSLError) as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")


def refused_port() -> int:
    """A 127.0.0.1 port nothing listens on (connects are refused with RST)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class FakeResolver:
    """Returns fixed addresses (each may carry its own port) and records the questions."""

    def __init__(self, addresses: list[Address] | None = None, *, fail: bool = False) -> None:
        self.addresses = addresses or []
        self.fail = fail
        self.questions: list[tuple[str, int, int]] = []

    def resolve(self, host: str, port: int, *, family: int = 0) -> list[Address]:
        self.questions.append((host, port, family))
        if self.fail:
            raise NameResolutionError(f"cannot resolve {host!r}: fake failure", host=host)
        return list(self.addresses)


class AsyncFakeResolver(FakeResolver):
    async def resolve(self, host: str, port: int, *, family: int = 0) -> list[Address]:  # type: ignore[override]
        return FakeResolver.resolve(self, host, port, family=family)


def v4(port: int) -> Address:
    return (socket.AF_INET, ("127.0.0.1", port))


def v6(port: int) -> Address:
    return (socket.AF_INET6, ("::1", port, 0, 0))


@contextlib.contextmanager
def listener(host: str) -> Any:
    """A bare listening socket on ``host`` port 0 (accepts happen in the kernel backlog)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.bind((host, 0))
    sock.listen(16)
    try:
        yield sock
    finally:
        sock.close()


class TLSTunnel(ThreadedListener):
    """A TLS-terminating relay on 127.0.0.1:0, as an HTTPS proxy's CONNECT tunnel is: it
    decrypts the outer TLS and pipes the bytes to ``target_port`` (which may speak TLS too)."""

    def __init__(self, context: ssl.SSLContext, target_port: int) -> None:
        self.context = context
        self.target_port = target_port
        super().__init__(backlog=8)

    def handle(self, sock: socket.socket, *extra: Any) -> None:
        import selectors

        sock.settimeout(10)
        try:
            outer = self.context.wrap_socket(sock, server_side=True)
        except (OSError, ssl.SSLError):
            sock.close()
            return
        target = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
        selector = selectors.DefaultSelector()
        selector.register(outer, selectors.EVENT_READ)
        selector.register(target, selectors.EVENT_READ)
        try:
            # One thread per side would share the SSL object between threads: not safe.
            while not self._stop.is_set():
                ready = [key.fileobj for key, _ in selector.select(0.1)]
                if outer.pending() and outer not in ready:
                    ready.append(outer)
                for source in ready:
                    data = source.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    (target if source is outer else outer).sendall(data)
        except (OSError, ssl.SSLError):
            return
        finally:
            selector.close()
            target.close()
            outer.close()
