"""RFC 9110 §15: a status code is three digits in 100..599. The client treats any code
below 200 (099, 000) as an interim 1xx response and silently skips it, then returns the
next response as if nothing happened; a lone 099 is reported as "closed without sending a
response". Such a status line must be refused as a RemoteProtocolError."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

import wirekit
from wirekit.errors import RemoteProtocolError


@contextmanager
def raw_server(response: bytes) -> Iterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(5)

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            data = b""
            for _ in range(100):
                if b"\r\n\r\n" in data:
                    break
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            conn.sendall(response)
            try:
                conn.recv(1)  # until the client closes (bounded by the timeout)
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        thread.join(10)


FINAL = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"


@pytest.mark.parametrize("code", [b"099", b"000", b"050"])
def test_status_below_100_is_not_an_interim_response(code: bytes) -> None:
    with raw_server(b"HTTP/1.1 " + code + b" X\r\n\r\n" + FINAL) as port:
        with wirekit.Client(timeout=5.0) as client:
            with pytest.raises(RemoteProtocolError, match="status"):
                client.get(f"http://127.0.0.1:{port}/")
