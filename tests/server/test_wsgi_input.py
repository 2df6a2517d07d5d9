"""``wsgi.input`` when the body arrives in the same packet as the head.

The parser reads the whole packet at once, so by the time the app starts, the request may
already be fully parsed while its body still waits in the parser's event queue. The app
must still read every byte.
"""

from __future__ import annotations

import gc
import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest

from tests.server.support import WAIT, read_response, running
from wirekit.server import main as server_main
from wirekit.server.protocol import ClientDisconnected
from wirekit.server.wsgi import WorkerPool, WSGICycle, WSGIInput


class _EagerPool(WorkerPool):
    """Starts each job at once and gives it a head start before the loop goes on, so the
    app reads ``wsgi.input`` before the loop has fed it the body (the race, made sure)."""

    def submit(self, job: Callable[[], None]) -> None:
        worker = threading.Thread(target=job, daemon=True)
        worker.start()
        worker.join(0.2)  # the app is blocked reading by then (or, when broken, done)


def _echo_length(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read()  # to the end (wsgi.input_terminated)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(len(body)).encode()]


@pytest.mark.parametrize(
    "framing",
    [
        pytest.param(b"Content-Length: 100\r\n\r\n" + b"x" * 100, id="content-length"),
        pytest.param(
            b"Transfer-Encoding: chunked\r\n\r\n64\r\n" + b"x" * 100 + b"\r\n0\r\n\r\n",
            id="chunked",
        ),
    ],
)
def test_body_sent_with_the_head_is_read_whole(
    monkeypatch: pytest.MonkeyPatch, framing: bytes
) -> None:
    monkeypatch.setattr(server_main, "WorkerPool", _EagerPool)
    with running(_echo_length, interface="wsgi") as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
            for _ in range(3):  # keep-alive: each request in one packet
                sock.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\n" + framing)
                status, _headers, body = read_response(sock)
                assert (status, body) == (200, b"100")


def _environ_echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    keys = ("CONTENT_TYPE", "HTTP_ACCEPT", "HTTP_COOKIE", "HTTP_X_FORWARDED_FOR", "PATH_INFO")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return ["\n".join(f"{key}={environ.get(key)}" for key in keys).encode("latin-1")]


def test_environ_joins_repeated_fields_and_drops_underscored_names() -> None:
    request = (
        b"GET /a%20b HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\naccept: text/plain\r\n"
        b"Cookie: a=1\r\nCookie: b=2\r\nContent-Type: text/one\r\nContent-Type: text/two\r\n"
        b"X_Forwarded_For: 6.6.6.6\r\n\r\n"
    )
    with running(_environ_echo, interface="wsgi") as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
            for _ in range(2):  # the second request on the connection reuses its base
                sock.sendall(request)
                status, _headers, body = read_response(sock)
                assert status == 200
                assert body.decode("latin-1").splitlines() == [
                    "CONTENT_TYPE=text/two",
                    "HTTP_ACCEPT=text/html,text/plain",
                    "HTTP_COOKIE=a=1; b=2",
                    "HTTP_X_FORWARDED_FOR=None",
                    "PATH_INFO=/a b",
                ]


def _bad_status(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    try:
        start_response("200OK", [("Content-Type", "text/plain")])
    except ValueError as exc:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(exc).encode()]
    return [b"accepted"]


def test_a_status_without_a_space_is_refused_with_a_clear_message() -> None:
    with running(_bad_status, interface="wsgi") as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            status, _headers, body = read_response(sock)
    assert status == 200
    assert body == b"WSGI status must be a str like '200 OK', got '200OK'"


def test_requests_leave_no_reference_cycles() -> None:
    """Each request's cycle, input and environ referred to each other: every request left
    garbage for the cycle collector, whose pauses were most of the WSGI p99 at 64
    connections. Bodiless and uploading requests alike now free as soon as they end."""
    with running(_echo_length, interface="wsgi") as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
            gc.collect()
            gc.disable()
            gc.set_debug(gc.DEBUG_SAVEALL)
            try:
                for _ in range(10):
                    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                    assert read_response(sock)[::2] == (200, b"0")
                    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n")
                    sock.sendall(b"hello")  # a second packet: the app waits for it
                    assert read_response(sock)[::2] == (200, b"5")
                gc.collect()
                cyclic = [type(o).__name__ for o in gc.garbage if isinstance(o, _PER_REQUEST)]
            finally:
                gc.set_debug(0)
                gc.garbage.clear()
                gc.enable()
    assert cyclic == []


_PER_REQUEST = (WSGICycle, WSGIInput)


def test_wsgi_input_read_after_its_answer_fails_clearly() -> None:
    """An app that kept ``wsgi.input`` and read it after answering, with part of the body
    never sent, got a clear error, not a read that waits forever."""
    kept: list[Any] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        kept.append(environ["wsgi.input"])
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    outcome: list[BaseException] = []

    def read_later() -> None:
        try:
            kept[0].read()
        except BaseException as exc:
            outcome.append(exc)

    with running(app, interface="wsgi", threads=1, header_timeout=0.5) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello")
            assert read_response(sock)[::2] == (200, b"ok")
            reader = threading.Thread(target=read_later, daemon=True)
            reader.start()
            reader.join(WAIT)
    assert not reader.is_alive(), "wsgi.input.read() still waiting after the answer"
    assert [type(exc) for exc in outcome] == [ClientDisconnected]
    assert "after its request ended" in str(outcome[0])
