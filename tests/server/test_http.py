"""HTTP/1.1 behaviour seen by clients: keep-alive, pipelining, chunked, HEAD, 100-continue."""

from __future__ import annotations

import socket
import subprocess
from typing import Any

import pytest

from tests.server import apps
from tests.server.support import WAIT, read_response, read_until_closed, running

HELLO = [
    pytest.param(apps.wsgi_hello, b"hello from wsgi", id="wsgi"),
    pytest.param(apps.asgi_hello, b"hello from asgi", id="asgi"),
]
ECHO = [pytest.param(apps.wsgi_echo, id="wsgi"), pytest.param(apps.asgi_echo, id="asgi")]
STREAM = [pytest.param(apps.wsgi_stream, id="wsgi"), pytest.param(apps.asgi_stream, id="asgi")]


@pytest.mark.parametrize(("app", "expected"), HELLO)
def test_get_has_date_and_server_headers(app: Any, expected: bytes) -> None:
    with running(app) as server:
        status, headers, body = server.get("/")
    assert status == 200
    assert body == expected
    assert headers["server"] == "wirekit"
    assert headers["date"].endswith(" GMT")
    assert headers["content-length"] == str(len(expected))


@pytest.mark.parametrize(("app", "expected"), HELLO)
def test_keep_alive_reuses_one_connection(app: Any, expected: bytes) -> None:
    with running(app) as server:
        conn = server.client()
        for _ in range(5):
            conn.request("GET", "/")
            response = conn.getresponse()
            assert response.read() == expected
        sock = conn.sock
        conn.request("GET", "/")
        conn.getresponse().read()
        assert conn.sock is sock  # http.client did not have to reconnect
        conn.close()


@pytest.mark.parametrize(("app", "expected"), HELLO)
def test_head_has_headers_but_no_body(app: Any, expected: bytes) -> None:
    with running(app) as server, server.connect() as sock:
        sock.sendall(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
        buffer = bytearray()
        data = sock.recv(65536)
        head, _, rest = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        assert b"content-length: %d" % len(expected) in head.lower()
        # The next bytes are the second answer, not a body for HEAD.
        buffer += rest
        status, _, body = read_response(sock, buffer)
        assert status == 200
        assert body == expected


@pytest.mark.parametrize(("app", "expected"), HELLO)
def test_pipelined_requests_are_answered_in_order(app: Any, expected: bytes) -> None:
    slow_first = apps.asgi_slow if app is apps.asgi_hello else None
    with running(slow_first or app) as server, server.connect() as sock:
        requests = b"".join(
            b"GET /%d%s HTTP/1.1\r\nHost: x\r\n\r\n" % (n, b"?0.2" if n == 0 else b"")
            for n in range(4)
        )
        sock.sendall(requests)
        buffer = bytearray()
        bodies = [read_response(sock, buffer)[2] for _ in range(4)]
    if slow_first:
        assert bodies == [b"/0", b"/1", b"/2", b"/3"]
    else:
        assert bodies == [expected] * 4


@pytest.mark.parametrize(("app", "expected"), HELLO)
def test_request_after_a_body_answered_early_is_answered(app: Any, expected: bytes) -> None:
    # The app answers before reading the body; the rest of the body then arrives together
    # with the next request, in one packet: that request must be answered (it once waited
    # for more bytes that never came).
    with running(app) as server, server.connect() as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
        buffer = bytearray()
        assert read_response(sock, buffer)[0] == 200
        sock.sendall(b"0123456789GET /two HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _, body = read_response(sock, buffer)
    assert status == 200
    assert body == expected


@pytest.mark.parametrize(("app", "expected"), HELLO)
def test_request_after_an_early_answer_then_half_close_is_answered(
    app: Any, expected: bytes
) -> None:
    # The rest of an early-answered body, a pipelined request and the client's FIN arrive
    # together: the server answers the second request, then closes.
    with running(app) as server, server.connect() as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
        buffer = bytearray()
        assert read_response(sock, buffer)[0] == 200
        sock.sendall(b"0123456789GET /two HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)
        rest = bytes(buffer) + read_until_closed(sock)
    assert rest.startswith(b"HTTP/1.1 200 ")
    assert rest.endswith(expected)


@pytest.mark.parametrize("app", ECHO)
def test_chunked_request_body_is_decoded(app: Any) -> None:
    with running(app) as server, server.connect() as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )
        status, _, body = read_response(sock)
    assert status == 200
    assert body == b"hello world"


@pytest.mark.parametrize("app", ECHO)
def test_large_body_streams_through(app: Any) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB: many reads, back-pressure on the way
    with running(app) as server:
        status, _, body = server.get("/", method="POST", body=payload)
    assert status == 200
    assert body == payload


@pytest.mark.parametrize("app", STREAM)
def test_streamed_response_is_chunked(app: Any) -> None:
    with running(app) as server, server.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, body = read_response(sock)
    assert status == 200
    assert headers["transfer-encoding"] == "chunked"
    assert body == b"".join(b"part %d\n" % n for n in range(5))


@pytest.mark.parametrize("app", ECHO)
def test_expect_100_continue(app: Any) -> None:
    with running(app) as server, server.connect() as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        interim = sock.recv(65536)
        assert interim.startswith(b"HTTP/1.1 100 ")
        sock.sendall(b"hello")
        status, _, body = read_response(sock)
    assert status == 200
    assert body == b"hello"


@pytest.mark.parametrize(("app", "expected"), HELLO)
def test_connection_close_is_honoured(app: Any, expected: bytes) -> None:
    with running(app) as server, server.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 200")
    assert data.endswith(expected)
    assert b"connection: close" in data.lower()


@pytest.mark.parametrize(("app", "expected"), HELLO)
def test_http_1_0_closes_after_answer(app: Any, expected: bytes) -> None:
    with running(app) as server, server.connect() as sock:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = read_until_closed(sock)
    assert data.endswith(expected)


def test_health_path_answers_without_the_app() -> None:
    with running(apps.wsgi_crash, health_path="/healthz") as server:
        status, _, body = server.get("/healthz")
        assert (status, body) == (200, b"ok\n")
        assert server.get("/crash")[0] == 500


def test_path_and_query_reach_wsgi_decoded() -> None:
    with running(apps.wsgi_path) as server:
        status, _, body = server.get("/a%20b/c?x=1&y=%20")
    assert status == 200
    assert body == b"/a b/c?x=1&y=%20"


def test_curl_gets_the_answer() -> None:
    with running(apps.asgi_hello) as server:
        result = subprocess.run(
            [
                "curl",
                "-sS",
                "--max-time",
                str(WAIT),
                f"http://127.0.0.1:{server.port}/",
                f"http://127.0.0.1:{server.port}/",
            ],
            capture_output=True,
            check=True,
            timeout=WAIT * 2,
        )
    assert result.stdout == b"hello from asgi" * 2


def test_unix_socket(tmp_path: Any) -> None:
    path = str(tmp_path / "wirekit.sock")
    with running(apps.wsgi_hello, uds=path):
        result = subprocess.run(
            ["curl", "-sS", "--max-time", str(WAIT), "--unix-socket", path, "http://x/"],
            capture_output=True,
            check=True,
            timeout=WAIT * 2,
        )
    assert result.stdout == b"hello from wsgi"


def test_dual_stack_serves_ipv4_and_ipv6() -> None:
    import socket

    with running(apps.asgi_hello, host="::") as server:
        for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(WAIT)
                sock.connect((host, server.port))
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                assert read_response(sock)[2] == b"hello from asgi"


def test_inherited_file_descriptor() -> None:
    import os
    import socket

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    descriptor = os.dup(listener.fileno())  # the server owns (and closes) its copy
    listener.close()
    with (
        running(apps.asgi_hello, fd=descriptor),
        socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock,
    ):
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(sock)[2] == b"hello from asgi"
