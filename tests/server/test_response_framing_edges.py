"""Framing headers and bodies an app sets that HTTP forbids on the wire: edge cases found by
a differential review against uvicorn, gunicorn and waitress (each failed before its fix).
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from tests.server.support import WAIT, running


def _asgi(status: int, headers: list[tuple[bytes, bytes]], bodies: list[bytes]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/next":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"next"})
            return
        await send({"type": "http.response.start", "status": status, "headers": headers})
        for i, body in enumerate(bodies):
            await send(
                {"type": "http.response.body", "body": body, "more_body": i < len(bodies) - 1}
            )

    return app


def _wsgi(status: str, headers: list[tuple[str, str]]) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"] == "/next":
            start_response("200 OK", [])
            return [b"next"]
        start_response(status, headers)
        return [b""]

    return app


def _exchange(port: int, data: bytes, seconds: float = 2.0) -> bytes:
    """Send ``data``; read until the server closes or ``seconds`` of silence."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.sendall(data)
        sock.settimeout(seconds)
        out = b""
        for _ in range(1000):
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            out += chunk
            if out.endswith(b"next"):
                break
        return out


def _first_head(data: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    head, sep, _ = data.partition(b"\r\n\r\n")
    assert sep, f"no complete response head in {data!r}"
    lines = head.split(b"\r\n")
    fields = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        fields.append((name.strip().lower(), value.strip()))
    return lines[0], fields


def _values(fields: list[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    return [value for field, value in fields if field == name]


# -- 1. Transfer-Encoding given twice: "chunked, chunked" (or "gzip, chunked") on the wire --


@pytest.mark.parametrize(
    "te_headers",
    [
        [(b"transfer-encoding", b"chunked"), (b"transfer-encoding", b"chunked")],
        [(b"transfer-encoding", b"gzip"), (b"transfer-encoding", b"chunked")],
    ],
    ids=["chunked-twice", "gzip-then-chunked"],
)
def test_asgi_transfer_encoding_in_two_fields_is_not_sent_as_a_coding_list(
    te_headers: list[tuple[bytes, bytes]],
) -> None:
    """Only the last Transfer-Encoding field is checked (write.scan_headers keeps the last
    value), so two fields reach the wire as the list "chunked, chunked" (chunked applied
    twice, RFC 9112 §6.1 MUST NOT) or "gzip, chunked" for a body that is not gzip. Every
    client then fails: httpx "multiple Transfer-Encoding headers", wirekit's own client
    "unsupported Transfer-Encoding b'chunked,chunked'". A single "chunked" (or a 500, as for
    a duplicated Content-Length) is fine."""
    app = _asgi(200, te_headers, [b"hel", b"lo"])
    with running(app, shutdown_timeout=1.0) as server:
        data = _exchange(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    status_line, fields = _first_head(data)
    codings = [
        token.strip().lower()
        for value in _values(fields, b"transfer-encoding")
        for token in value.split(b",")
    ]
    if status_line.startswith(b"HTTP/1.1 200"):
        assert codings == [b"chunked"], f"Transfer-Encoding on the wire: {codings!r}"
    else:
        assert status_line.startswith(b"HTTP/1.1 500"), status_line


def test_asgi_transfer_encoding_twice_is_readable_by_wirekit_client() -> None:
    """The same answer read by the project's own client (it fails today)."""
    import wirekit

    app = _asgi(200, [(b"transfer-encoding", b"chunked")] * 2, [b"hel", b"lo"])
    with running(app, shutdown_timeout=1.0) as server, wirekit.Client() as client:
        response = client.get(f"http://127.0.0.1:{server.port}/")
    assert response.status_code in (200, 500)
    if response.status_code == 200:
        assert response.content == b"hello"


# -- 2. Content-Length / Transfer-Encoding on 204 (RFC 9110 §8.6, RFC 9112 §6.1) ----------


@pytest.mark.parametrize(
    "app",
    [
        _asgi(204, [(b"content-length", b"0")], [b""]),
        _wsgi("204 No Content", [("Content-Length", "0")]),  # Django's CommonMiddleware
    ],
    ids=["asgi", "wsgi"],
)
def test_204_answer_carries_no_content_length(app: Any) -> None:
    """RFC 9110 §8.6: "A server MUST NOT send a Content-Length header field in any response
    with a status code of 1xx (Informational) or 204 (No Content)." gunicorn drops it
    (``_response_forbids_content_length``), as does waitress; wirekit forwards the app's."""
    with running(app, shutdown_timeout=1.0) as server:
        data = _exchange(
            server.port,
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n",
        )
    status_line, fields = _first_head(data)
    assert status_line.startswith(b"HTTP/1.1 204"), status_line
    assert _values(fields, b"content-length") == [], data
    assert data.endswith(b"next"), data  # the connection still serves the next request


@pytest.mark.parametrize("version", [b"1.1", b"1.0"])
def test_asgi_204_answer_carries_no_transfer_encoding(version: bytes) -> None:
    """RFC 9112 §6.1: "A server MUST NOT send a Transfer-Encoding header field in any
    response with a status code of 1xx (Informational) or 204 (No Content)", nor one to a
    request that does not indicate HTTP/1.1. An ASGI app relaying an upstream's headers
    sets it; the 204 path of send_response never looks at it (the HTTP/1.0 strip added for
    bodies sits in the other branch). WSGI already drops it as hop-by-hop."""
    app = _asgi(204, [(b"transfer-encoding", b"chunked")], [b""])
    request = b"GET / HTTP/%s\r\nHost: x\r\nConnection: keep-alive\r\n\r\n" % version
    with running(app, shutdown_timeout=1.0) as server:
        data = _exchange(server.port, request + b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
    status_line, fields = _first_head(data)
    assert status_line.startswith(b"HTTP/1.1 204"), status_line
    assert _values(fields, b"transfer-encoding") == [], data


def test_asgi_304_to_http10_client_carries_no_transfer_encoding() -> None:
    """RFC 9112 §6.1: no Transfer-Encoding in a response to an HTTP/1.0 request. The
    HTTP/1.0 strip in send_response is skipped for 204/304 answers."""
    app = _asgi(304, [(b"transfer-encoding", b"chunked")], [b""])
    with running(app, shutdown_timeout=1.0) as server:
        data = _exchange(server.port, b"GET / HTTP/1.0\r\n\r\n")
    status_line, fields = _first_head(data)
    assert status_line.startswith(b"HTTP/1.1 304"), status_line
    assert _values(fields, b"transfer-encoding") == [], data


# -- 3. A body streamed on a 204/304: nothing at all reaches the client ---------------------


@pytest.mark.parametrize("status", [204, 304])
def test_asgi_streamed_body_on_204_or_304_still_gets_an_answer(status: int) -> None:
    """An ASGI app sends a 204/304 start, then its body in pieces (more_body=True).
    send_head_and_body frames the head (parser state SEND_BODY), then send_data raises
    "this message has no body" before anything is written; _finish_broken's 500 is refused
    by the parser state and the connection is aborted: the client gets no byte, only a
    reset ("Empty reply from server"), although no head went out (docs/server.md promises a
    500 then). uvicorn, gunicorn and waitress send the 204/304 and drop the body, as wirekit
    itself does for HEAD. Either the status or a 500 is fine; silence is not."""
    app = _asgi(status, [], [b"hel", b"lo"])
    with running(app, shutdown_timeout=1.0) as server:
        data = _exchange(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 "), f"no response at all: {data!r}"
