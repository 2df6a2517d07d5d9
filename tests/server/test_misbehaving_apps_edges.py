"""Misbehaving apps found by a review: each test failed before its fix."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from tests.server.support import read_for, read_response, running


async def _ok(send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"fine"})


# -- 1. an app that raises SystemExit (sys.exit() deep in some library) kills the server ------


async def _exits(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/exit":
        raise SystemExit(3)  # e.g. a library calling sys.exit() on a "fatal" condition
    await _ok(send)


def _failing_then_fine(
    app: Any, path: bytes, caplog: pytest.LogCaptureFixture
) -> list[logging.LogRecord]:
    """Send a request to ``path`` (the app fails it) and a pipelined GET /ok behind it:
    the first gets 500, the second is served; the ERROR records logged meanwhile."""
    caplog.set_level(logging.INFO, logger="wirekit.server")
    with running(app, shutdown_timeout=1.0) as server, server.connect() as sock:
        sock.sendall(
            b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\nGET /ok HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        buffer = bytearray()
        status, _, _ = read_response(sock, buffer)
        status2, _, body2 = read_response(sock, buffer)
    assert status == 500
    assert (status2, body2) == (200, b"fine")
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_app_raising_system_exit_does_not_stop_the_server() -> None:
    """The app coroutine was the task itself (ASGICycle.start): asyncio's Task re-raises
    SystemExit/KeyboardInterrupt out of the event loop, so one request to such a handler
    stopped the whole server (the next client got "connection refused"). uvicorn wraps the
    app and answers 500; WSGI apps here are caught with ``except BaseException``."""
    outcome: list[Any] = []
    try:
        with running(_exits, shutdown_timeout=1.0) as server:
            with server.connect() as sock:
                sock.sendall(b"GET /exit HTTP/1.1\r\nHost: x\r\n\r\n")
                first, _ = read_for(sock, 2.0)
            try:
                outcome.append(server.get("/ok")[::2])
            except OSError as exc:
                outcome.append(f"next request failed: {exc!r}")
    except SystemExit as exc:  # re-raised by running() at teardown: the loop died of it
        outcome.append(f"server thread died of SystemExit({exc.code})")
    assert first.startswith(b"HTTP/1.1 500"), first
    assert outcome[:1] == [(200, b"fine")], outcome


async def _interrupts(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/interrupt":
        raise KeyboardInterrupt  # the other exception asyncio's Task lets out of the loop
    await _ok(send)


def test_app_raising_keyboard_interrupt_is_one_logged_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    errors = _failing_then_fine(_interrupts, b"/interrupt", caplog)
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert errors[0].exc_info is not None
    assert isinstance(errors[0].exc_info[1].__cause__, KeyboardInterrupt)


# -- 2. a CancelledError raised inside the app (not a server cancel) is a silent 500 ----------


async def _awaits_a_cancelled_future(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/shared":
        # A result shared between requests (a cache fill, a coalesced upstream call) that
        # its owner cancelled: every other waiter gets CancelledError although nobody
        # cancelled *this* task. The request fails; the operator must hear why.
        shared: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        shared.cancel()
        body = await shared
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})
        return
    await _ok(send)


def test_app_failing_with_its_own_cancelled_error_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """ASGICycle._done treated every cancelled task as "cancelled by the server" and logged
    nothing, then answered 500: the operator saw 500s with no error and no traceback at all.
    The server cancels app tasks only at shutdown; uvicorn logs this as an app exception."""
    errors = _failing_then_fine(_awaits_a_cancelled_future, b"/shared", caplog)
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert errors[0].exc_info is not None, "logged without its traceback"


# -- 3. one ASGI protocol mistake is logged twice at ERROR -----------------------------------


async def _body_before_start(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.body", "body": b"too early"})


def test_one_asgi_protocol_error_is_one_error_record(caplog: pytest.LogCaptureFixture) -> None:
    """ASGICycle._protocol_error logs "ASGI protocol error ..." at ERROR and raises; the
    RuntimeError then reached _done, which logged "exception in ASGI app" at ERROR again (with
    the same text in its traceback). Every app mistake was reported twice (two alerts, two
    Sentry events through its logging integration)."""
    caplog.set_level(logging.INFO, logger="wirekit.server")
    with running(_body_before_start, shutdown_timeout=1.0) as server:
        status, _, _ = server.get("/")
    assert status == 500
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
    assert "before http.response.start" in errors[0] or any(
        "before http.response.start" in str(r.exc_info[1])
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.exc_info
    )


# -- 4. a WSGI request still running when the server stopped logs a bogus ERROR traceback ------


def test_wsgi_request_outliving_shutdown_does_not_log_a_worker_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Graceful shutdown waits shutdown_timeout, then pool.shutdown(timeout=1.0), then closes
    the loop. A WSGI request still running finishes later and WSGICycle.run's ``finally``
    called ``loop.call_soon_threadsafe`` on the closed loop: RuntimeError("Event loop is
    closed") escaped to WorkerPool._work, logged at ERROR as "WSGI worker job failed" with
    a traceback, after "server stopped" (an embedding program, or the test suite, saw a
    server crash that is not one). The worker must notice the loop is gone."""
    import threading
    import time

    finished = threading.Event()

    def slow(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        try:
            time.sleep(2.5)  # outlives shutdown_timeout (0.3 s) + the pool's 1 s join
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"late"]
        finally:
            finished.set()

    caplog.set_level(logging.INFO, logger="wirekit.server")
    with running(slow, interface="wsgi", shutdown_timeout=0.3) as server:
        sock = server.connect()
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)  # the worker has the request
    sock.close()
    assert finished.wait(5.0)
    time.sleep(0.3)  # the worker's finally block has run
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


# -- 5. two tasks sending at once under back-pressure: one is never woken ----------------------


async def _two_senders(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})

    async def pump(tag: bytes) -> None:
        # e.g. an event stream plus a heartbeat task, each calling send()
        for _ in range(100):
            await send({"type": "http.response.body", "body": tag * 65536, "more_body": True})

    await asyncio.gather(pump(b"a"), pump(b"b"))
    await send({"type": "http.response.body", "body": b"END"})


def test_concurrent_senders_paused_by_a_slow_client_are_all_resumed() -> None:
    """ASGICycle kept one ``_drain`` future: a second send() that waited while writing was
    paused replaced the first task's future, and resume_writing() woke only the newest. The
    first sender slept forever, so the response never ended (and its in_flight slot was held
    until shutdown), although the client read everything. uvicorn wakes all waiters (one
    asyncio.Event)."""
    data = _read_slowly(_two_senders)
    assert data.endswith(b"END\r\n0\r\n\r\n"), (
        f"response stalled after {len(data)} bytes ({data.count(b'a')} of 6553600 'a')"
    )


async def _one_sender_cancelled_while_paused(
    scope: dict[str, Any], receive: Any, send: Any
) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})

    async def pump(tag: bytes, count: int) -> None:
        for _ in range(count):
            await send({"type": "http.response.body", "body": tag * 65536, "more_body": True})

    doomed = asyncio.ensure_future(pump(b"b", 1000))
    steady = asyncio.ensure_future(pump(b"a", 100))
    await asyncio.sleep(0.3)  # the client does not read yet: both senders wait to drain
    doomed.cancel()
    await steady
    await send({"type": "http.response.body", "body": b"END"})


def test_a_paused_sender_cancelled_does_not_stop_the_others() -> None:
    """Each waiting sender has its own future: with one shared future, cancelling one
    waiter would cancel it under the other senders too."""
    data = _read_slowly(_one_sender_cancelled_while_paused)
    assert data.endswith(b"END\r\n0\r\n\r\n"), f"response stalled after {len(data)} bytes"
    assert data.count(b"a") >= 6553600


def _read_slowly(app: Any) -> bytearray:
    """The response to one GET, read by a client that waits 0.5 s before reading (so the
    server's writes pause) through a small receive buffer."""
    import socket
    import time

    with running(app, shutdown_timeout=1.0, write_timeout=30.0) as server:
        sock = socket.socket()
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", server.port))
            sock.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.5)  # a slow reader: the server's writes pause
            data = bytearray()
            deadline = time.monotonic() + 8.0
            sock.settimeout(0.5)
            while time.monotonic() < deadline and not data.endswith(b"\r\n0\r\n\r\n"):
                try:
                    chunk = sock.recv(1 << 20)
                except TimeoutError:
                    continue
                if not chunk:
                    break
                data += chunk
        finally:
            sock.close()
    return data
