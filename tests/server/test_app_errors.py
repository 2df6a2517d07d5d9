"""App mistakes: exceptions give 500 on a connection that stays usable; PEP 3333 and ASGI
protocol errors are answered and logged; tracebacks reach the client only with debug."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.server import apps
from tests.server.support import read_response, read_until_closed, running

CRASH = [pytest.param(apps.wsgi_crash, id="wsgi"), pytest.param(apps.asgi_crash, id="asgi")]


@pytest.mark.parametrize("app", CRASH)
def test_exception_gives_500_and_connection_is_reused(app: Any) -> None:
    with running(app) as server:
        conn = server.client()
        conn.request("GET", "/crash")
        response = conn.getresponse()
        body = response.read()
        sock = conn.sock
        conn.request("GET", "/ok")
        second = conn.getresponse()
        assert second.read() == b"fine"
        assert conn.sock is sock
        conn.close()
    assert response.status == 500
    assert b"secret-internal-detail" not in body
    assert b"Traceback" not in body


@pytest.mark.parametrize("app", CRASH)
def test_debug_shows_the_traceback(app: Any) -> None:
    with running(app, debug=True) as server:
        status, _, body = server.get("/crash")
    assert status == 500
    assert b"secret-internal-detail" in body
    assert b"Traceback" in body


@pytest.mark.parametrize(
    "app", [apps.wsgi_returns_str, apps.wsgi_double_start], ids=["returns-str", "start-twice"]
)
def test_wsgi_protocol_mistakes_give_500(app: Any, caplog: pytest.LogCaptureFixture) -> None:
    with running(app) as server:
        status, _, _ = server.get("/")
    assert status == 500
    assert any("exception in WSGI app" in r.message for r in caplog.records)


def test_wsgi_close_is_called_on_success_and_on_error() -> None:
    with running(apps.wsgi_closing) as server:
        apps.closed.clear()
        status, _, body = server.get("/ok")
        assert (status, body) == (200, b"firstsecond")
        assert apps.closed.wait(5)
        apps.closed.clear()
        with server.connect() as sock:
            sock.sendall(b"GET /fail HTTP/1.1\r\nHost: x\r\n\r\n")
            data = read_until_closed(sock)  # headers were sent: the connection is cut
        assert data.startswith(b"HTTP/1.1 200")
        assert not data.endswith(b"0\r\n\r\n")  # never a clean end of a broken body
        assert apps.closed.wait(5)


def test_asgi_app_returning_without_response_gets_500(caplog: pytest.LogCaptureFixture) -> None:
    with running(apps.asgi_crash) as server:
        status, _, _ = server.get("/no-response")
    assert status == 500
    assert any("without completing the response" in r.message for r in caplog.records)


def test_asgi_protocol_violation_is_logged_plainly(caplog: pytest.LogCaptureFixture) -> None:
    with running(apps.asgi_crash) as server:
        status, _, _ = server.get("/bad-message")
    assert status == 500
    assert any(
        r.levelno == logging.ERROR
        and "ASGI protocol error" in r.message
        and "before http.response.start" in r.message
        for r in caplog.records
    )


def test_asgi_crash_after_headers_cuts_the_connection() -> None:
    with running(apps.asgi_crash) as server, server.connect() as sock:
        sock.sendall(b"GET /crash-after-start HTTP/1.1\r\nHost: x\r\n\r\n")
        data = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 200")
    assert b"partial" in data
    assert not data.endswith(b"0\r\n\r\n")


def test_wsgiref_validator_accepts_our_environ() -> None:
    from wsgiref.validate import validator

    with running(validator(apps.wsgi_echo_sized)) as server, server.connect() as sock:
        sock.sendall(b"POST /v?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd")
        status, _, body = read_response(sock)
        sock.sendall(b"GET /v HTTP/1.1\r\nHost: x\r\n\r\n")
        status2, _, body2 = read_response(sock)
    assert (status, body) == (200, b"abcd")
    assert (status2, body2) == (200, b"")
