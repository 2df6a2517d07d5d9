"""WSGI (PEP 3333) conformance edges found by a review (each test failed before its fix)."""

from __future__ import annotations

import socket
import sys
import time
from typing import Any

import pytest

from tests.server.support import WAIT, read_for, read_response, running


def _read_to_end(sock: socket.socket) -> tuple[bytes, str]:
    """Everything the server sends, and how it ended: "eof" (FIN) or "reset" (RST)."""
    sock.settimeout(WAIT)
    data = bytearray()
    for _ in range(10_000):
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return bytes(data), "reset"
        if not chunk:
            return bytes(data), "eof"
        data += chunk
    return bytes(data), "too long"


# -- 1. write() (or a caught exc_info re-raise) followed by a one-item list -------------------


def _write_then_list(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    # PEP 3333 allows mixing the write() callable with a returned iterable.
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"head-")
    return [b"tail"]


def _write_then_tuple_sized(environ: dict[str, Any], start_response: Any) -> Any:
    write = start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "9")])
    write(b"head-")
    return (b"tail",)


def _reraise_caught_then_list(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    # PEP 3333: start_response(exc_info) after the headers went out re-raises; the app may
    # catch that and still return the rest of its body.
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"head-")
    try:
        raise ValueError("late")
    except ValueError:
        try:
            start_response("500 Oops", [("Content-Type", "text/plain")], sys.exc_info())
        except ValueError:
            return [b"tail"]
    return [b"not re-raised"]


@pytest.mark.parametrize(
    "app", [_write_then_list, _write_then_tuple_sized, _reraise_caught_then_list]
)
def test_write_then_single_item_iterable_is_one_response(app: Any) -> None:
    """After write() sent the head, a returned one-item list must go out as more body.

    Now the one-item fast path in WSGICycle.run posts a second status line: the client gets
    "head-" followed by a raw "HTTP/1.1 500" answer inside the first body."""
    with running(app, interface="wsgi") as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
            for _ in range(2):  # and the connection stays usable
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                status, _headers, body = read_response(sock)
                assert (status, body) == (200, b"head-tail")
            rest, _closed = read_for(sock, 0.3)
            assert b"HTTP/1.1" not in rest


# -- 2. a close-delimited answer (HTTP/1.0) cut by an app error looks complete -------------------


def _stream_then_fail(environ: dict[str, Any], start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"first part, "
    time.sleep(0.2)  # the first parts are on the wire before the error
    yield b"second part"
    raise RuntimeError("database went away mid-export")


def test_http10_stream_failing_midway_is_reset_not_a_clean_end() -> None:
    """An HTTP/1.0 client (or nginx with its default proxy_http_version 1.0) gets a
    close-delimited body: the end of the connection IS the end of the body. When the app
    fails mid-stream the server must reset the connection (RST) so the truncation shows;
    now it closes it cleanly (FIN), so the client (or a caching proxy) takes the cut body for
    the whole answer. (Over HTTP/1.1 the missing last chunk shows the cut.)"""
    with running(_stream_then_fail, interface="wsgi") as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
            sock.sendall(b"GET /export HTTP/1.0\r\n\r\n")
            data, ending = _read_to_end(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"content-length" not in head.lower()  # close-delimited
    assert body.startswith(b"first part, ")
    assert ending == "reset", f"truncated close-delimited body ended with a clean {ending}"
