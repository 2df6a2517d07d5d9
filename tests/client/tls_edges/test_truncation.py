"""The end of a response body over TLS: a cut stream must never pass as a complete body.

Peer: a Python TLS server that sends a head and part of a body, then cuts the connection
(an RST, or a FIN without close_notify) at a moment the test chooses.

(Found by a differential review of the client's TLS; fixed since.)
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
import threading

import pytest

import wirekit
from tests.client.tls_edges._peers import TLSPeer, read_head
from tests.support.certs import Certs

FIRST_PART = b"x" * 5000


def _cutting_server(certs: Certs, head: bytes, how: str) -> tuple[TLSPeer, threading.Event]:
    """Sends ``head`` and FIRST_PART, waits until the client has read them, then cuts:
    ``rst`` (SO_LINGER 0: a reset) or ``fin`` (TCP close without close_notify)."""
    client_read = threading.Event()

    def respond(tls: ssl.SSLSocket) -> None:
        if read_head(tls) is None:
            return
        tls.sendall(head + FIRST_PART)
        client_read.wait(10)
        raw = socket.socket(fileno=tls.detach())
        if how == "rst":
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            with contextlib.suppress(OSError):
                raw.shutdown(socket.SHUT_RDWR)
        raw.close()

    return TLSPeer(certs.server_context(), respond), client_read


def _read_streamed(mode: str, url: str, ca: str, client_read: threading.Event) -> bytes:
    """Stream the body: first chunk(s) up to FIRST_PART, then tell the server to cut, then
    read on to what the client calls the end."""
    timeout = wirekit.Timeout(10.0)
    if mode == "sync":
        with wirekit.Client(verify=ca, retry=0, timeout=timeout) as client:
            with client.stream("GET", url) as response:
                chunks = response.iter_raw()
                got = b""
                while len(got) < len(FIRST_PART):
                    got += next(chunks)
                client_read.set()
                return got + b"".join(chunks)

    async def main() -> bytes:
        async with wirekit.AsyncClient(verify=ca, retry=0, timeout=timeout) as client:
            async with client.stream("GET", url) as response:
                chunks = response.aiter_raw()
                got = b""
                while len(got) < len(FIRST_PART):
                    got += await chunks.__anext__()
                client_read.set()
                async for chunk in chunks:
                    got += chunk
                return got

    return asyncio.run(asyncio.wait_for(main(), 30))


def test_reset_during_close_delimited_body_is_an_error(certs: Certs, mode: str) -> None:
    """A close-delimited body (no Content-Length, ``Connection: close``) cut by a TCP
    reset after 5000 bytes.

    User sees (sync Client over TLS): a 200 whose body is the 5000 bytes, returned as if
    complete, no exception. The async client raises ReadError ("connection reset"), and
    so does the sync client over plain HTTP: only sync+TLS loses the reset, because
    ``ssl.SSLSocket`` (suppress_ragged_eofs=True) turns ECONNRESET into b"" and the
    HTTP layer reads that as the end of the body.
    Reference: curl fails with ``(56) Recv failure: Connection reset by peer``;
    docs/client.md promises "A body cut short (reset, early close, ...) raises
    RemoteProtocolError/ReadError; it is never returned as if complete"; Client and
    AsyncClient must behave the same.
    Why it matters: a close-delimited download cut by a reset (proxy restart, LB idle
    kill) is saved as a complete file: silent data corruption.
    """
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
    peer, client_read = _cutting_server(certs, head, "rst")
    with peer:
        with pytest.raises((wirekit.ReadError, wirekit.RemoteProtocolError)):
            _read_streamed(mode, peer.url + "/", str(certs.ca_file), client_read)


def test_guard_fin_without_close_notify_mid_content_length_is_an_error(
    certs: Certs, mode: str
) -> None:
    """Guard (passed before the fixes too): a Content-Length body cut by a TCP FIN without TLS
    close_notify raises RemoteProtocolError, never a short body (RFC 9112 §8, curl:
    "transfer closed with N bytes remaining")."""
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
    peer, client_read = _cutting_server(certs, head, "fin")
    with peer:
        with pytest.raises(wirekit.RemoteProtocolError):
            _read_streamed(mode, peer.url + "/", str(certs.ca_file), client_read)
