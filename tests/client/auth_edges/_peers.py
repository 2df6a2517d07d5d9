"""Loopback peers for the auth review tests: a Digest-checking stdlib server that sends
challenges httpbin cannot produce, and a Unix-socket peer speaking plain HTTP and TLS on
one address (to play http://localhost/ -> https://localhost/ without ports 80/443)."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import os
import re
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from tests.support.stdlib_server import serving

_HASHES: dict[str, Callable[[bytes], object]] = {
    "MD5": hashlib.md5,
    "SHA-256": hashlib.sha256,
}
_PARAM = re.compile(r'([A-Za-z0-9*_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)')


def parse_digest_credentials(value: str) -> dict[str, str]:
    """The parameters of an ``Authorization: Digest ...`` value (names lower-cased)."""
    params: dict[str, str] = {}
    for name, raw in _PARAM.findall(value.partition(" ")[2]):
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params[name.lower()] = raw
    return params


def digest_ok(method: str, params: dict[str, str], username: bytes, password: bytes) -> bool:
    """RFC 7616 §3.4.1 check of one answer, with the user name as the server stores it
    (bytes: what the server compares and hashes)."""
    algorithm = params.get("algorithm", "MD5").upper()
    hasher = _HASHES.get(algorithm)
    if hasher is None:
        return False

    def h(data: bytes) -> str:
        return hasher(data).hexdigest()  # type: ignore[attr-defined,no-any-return]

    realm = params["realm"].encode("utf-8")
    ha1 = h(username + b":" + realm + b":" + password)
    ha2 = h(f"{method}:{params['uri']}".encode())
    if "qop" in params:
        expected = h(
            f"{ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:{params['qop']}:{ha2}".encode()
        )
    else:
        expected = h(f"{ha1}:{params['nonce']}:{ha2}".encode())
    return expected == params.get("response")


@dataclass
class DigestSite:
    """What the Digest server saw: every request's Authorization value (None if absent),
    as the bytes that came on the wire (latin-1 round trip of http.server's str)."""

    port: int = 0
    authorizations: list[bytes | None] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.contextmanager
def digest_server(
    challenges: list[str],
    *,
    username: bytes = b"user",
    password: bytes = b"pass",
    realm: str = "area",
    accept_username_star: bool = False,
) -> Iterator[DigestSite]:
    """A server that answers 401 with ``challenges`` (one WWW-Authenticate header each)
    until a Digest answer for ``username``/``password`` in ``realm`` checks out (then 200).

    ``accept_username_star``: also accept RFC 7616 §3.4.4 ``username*=UTF-8''...``."""
    site = DigestSite()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            value = self.headers.get("Authorization")
            raw = None if value is None else value.encode("latin-1")
            site.authorizations.append(raw)
            ok = False
            if value is not None and value.lower().startswith("digest "):
                params = parse_digest_credentials(value)
                name: bytes | None = None
                if "username" in params:
                    name = params["username"].encode("latin-1")
                elif accept_username_star and params.get("username*", "").lower().startswith(
                    "utf-8''"
                ):
                    from urllib.parse import unquote_to_bytes

                    name = unquote_to_bytes(params["username*"][7:])
                ok = (
                    name == username
                    and params.get("realm") == realm
                    and digest_ok(self.command, params, username, password)
                )
            if ok:
                body = b"welcome"
                self.send_response(200)
            else:
                body = b"who are you?"
                self.send_response(401)
                for challenge in challenges:
                    self.send_header("WWW-Authenticate", challenge)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = _answer
        do_POST = _answer

    with serving(Handler) as port:
        site.port = port
        yield site


@dataclass
class UpgradePeer:
    """A Unix-socket server: a plain-HTTP request gets a 301 to ``https://localhost/next``,
    a TLS connection (first byte 0x16) gets 200. Records (scheme, Authorization or None)."""

    path: str
    seen: list[tuple[str, bytes | None]] = field(default_factory=list)


@contextlib.contextmanager
def upgrade_peer(path: str, context: ssl.SSLContext, *, connections: int) -> Iterator[UpgradePeer]:
    peer = UpgradePeer(path)
    if os.path.exists(path):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(8)
    listener.settimeout(10.0)

    def serve() -> None:
        for _ in range(connections):  # bounded: one request per connection
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            conn: socket.socket = raw
            try:
                raw.settimeout(10.0)
                tls = raw.recv(1, socket.MSG_PEEK) == b"\x16"
                if tls:
                    conn = context.wrap_socket(raw, server_side=True)
                data = b""
                while b"\r\n\r\n" not in data and len(data) < 65536:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                auth = None
                for line in data.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"authorization":
                        auth = value.strip()
                peer.seen.append(("https" if tls else "http", auth))
                if tls:
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                    )
                else:
                    conn.sendall(
                        b"HTTP/1.1 301 Moved Permanently\r\nLocation: https://localhost/next\r\n"
                        b"Content-Length: 0\r\nConnection: close\r\n\r\n"
                    )
            except (OSError, ssl.SSLError):
                pass
            finally:
                with contextlib.suppress(OSError):
                    conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes a pending accept() on Linux
        listener.close()
        thread.join(15)
        with contextlib.suppress(OSError):
            os.unlink(path)
