"""Fixtures for the client test matrix: a body-hashing echo server and an mTLS server.

Both are real loopback peers in threads (sync, so the generated sync tests share them).
The hashing server reads Content-Length and chunked bodies without keeping them, so a
100 MB upload costs it no memory, and answers with the body's SHA-256, length and head.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import ssl
from collections.abc import Iterator
from urllib.parse import unquote

import pytest

from tests.support.blackhole import Blackhole
from tests.support.certs import Certs
from tests.support.listener import ThreadedListener

#: A connection idle for this long is dropped by the test servers (bounded waits).
SERVER_IDLE_TIMEOUT = 30.0
#: Request heads larger than this end the connection (the servers are not parsers).
MAX_TEST_HEAD_BYTES = 256 * 1024


class _Reader:
    """Buffered reads from a socket, bounded by the idle timeout."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def fill(self) -> bool:
        data = self.sock.recv(1 << 20)
        if not data:
            return False
        self.buffer += data
        return True

    def until(self, marker: bytes) -> bytes | None:
        while True:
            index = self.buffer.find(marker)
            if index >= 0:
                found = bytes(self.buffer[:index])
                del self.buffer[: index + len(marker)]
                return found
            if len(self.buffer) > MAX_TEST_HEAD_BYTES or not self.fill():
                return None

    def exactly(self, count: int, digest: hashlib._Hash) -> bool:
        while count:
            if not self.buffer and not self.fill():
                return False
            take = min(count, len(self.buffer))
            digest.update(self.buffer[:take])
            del self.buffer[:take]
            count -= take
        return True


class HashingServer(ThreadedListener):
    """HTTP/1.1 keep-alive server answering every request with JSON about its body.

    ``/redirect?to=<url-encoded location>`` answers 302 to that location instead.
    The JSON holds ``method``, ``target``, ``headers`` (lower-cased names, a list of pairs),
    ``length``, ``sha256`` and ``chunked``.
    """

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl_context = ssl_context
        super().__init__(backlog=128)
        self.connections = 0
        self.tls_peer_certs: list[dict[str, object] | None] = []
        #: (method, target, headers) of every request received, in order.
        self.requests: list[tuple[str, str, list[tuple[str, str]]]] = []

    @property
    def url(self) -> str:
        scheme = "https" if self._ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def accepted(self, sock: socket.socket) -> tuple[()]:
        self.connections += 1
        return ()

    def handle(self, raw: socket.socket, *extra: object) -> None:
        sock = raw
        try:
            sock.settimeout(SERVER_IDLE_TIMEOUT)
            if self._ssl_context is not None:
                sock = self._ssl_context.wrap_socket(raw, server_side=True)
                with self._lock:
                    self.tls_peer_certs.append(sock.getpeercert())
            reader = _Reader(sock)
            while not self._stop.is_set():
                head = reader.until(b"\r\n\r\n")
                if head is None:
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = [
                    (name.strip().lower(), value.strip())
                    for name, value in (line.split(":", 1) for line in lines[1:])
                ]
                names = dict(headers)
                digest = hashlib.sha256()
                length = 0
                chunked = "chunked" in names.get("transfer-encoding", "")
                if chunked:
                    while True:
                        size_line = reader.until(b"\r\n")
                        if size_line is None:
                            return
                        size = int(size_line.split(b";")[0], 16)
                        if size == 0:
                            if reader.until(b"\r\n") is None:
                                return
                            break
                        if not reader.exactly(size, digest) or reader.until(b"\r\n") is None:
                            return
                        length += size
                elif "content-length" in names:
                    length = int(names["content-length"])
                    if not reader.exactly(length, digest):
                        return
                if target.startswith("/redirect?to="):
                    # /redirect?to=<url-encoded Location>: a 302 after the body was read.
                    location = unquote(target.split("=", 1)[1]).encode()
                    sock.sendall(
                        b"HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n"
                        % location
                    )
                    with self._lock:
                        self.requests.append((method, target, headers))
                    continue
                with self._lock:
                    self.requests.append((method, target, headers))
                body = json.dumps(
                    {
                        "method": method,
                        "target": target,
                        "headers": headers,
                        "length": length,
                        "sha256": digest.hexdigest(),
                        "chunked": chunked,
                    }
                ).encode()
                sock.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                )
        except (OSError, ValueError, ssl.SSLError):
            return
        finally:
            with self._lock:
                self._sockets.remove(raw)
            with contextlib.suppress(OSError):
                sock.close()


@pytest.fixture
def hashing_server() -> Iterator[HashingServer]:
    """A fresh :class:`HashingServer` on http://127.0.0.1:<port>."""
    with HashingServer() as server:
        yield server


@pytest.fixture(scope="session")
def mtls_server(certs: Certs) -> Iterator[HashingServer]:
    """A :class:`HashingServer` over TLS that demands a client certificate from the CA."""
    with HashingServer(ssl_context=certs.server_context(require_client_cert=True)) as server:
        yield server


@pytest.fixture(scope="session")
def tls_server(certs: Certs) -> Iterator[HashingServer]:
    """A :class:`HashingServer` over TLS (server certificate for localhost/127.0.0.1/::1)."""
    with HashingServer(ssl_context=certs.server_context()) as server:
        yield server


#: Connections made to fill a listener's accept queue, at most (Linux needs backlog + 1).


@pytest.fixture
def blackhole_url() -> Iterator[str]:
    """http://127.0.0.1:<port> whose connects neither succeed nor are refused."""
    with Blackhole() as blackhole:
        yield blackhole.url


@pytest.fixture(scope="session")
def mismatched_tls_server(
    certs: Certs, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HashingServer]:
    """TLS on 127.0.0.1 with a certificate from the test CA for another name only."""
    leaf = certs.ca.issue_cert("elsewhere.wirekit.test")
    directory = tmp_path_factory.mktemp("mismatch")
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(key_file))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    with HashingServer(ssl_context=context) as server:
        yield server
