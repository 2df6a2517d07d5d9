"""ASGI conformance edges found by a review (each test failed before its fix)."""

from __future__ import annotations

import asyncio
import queue
import socket
import time
from typing import Any

from tests.server.support import WAIT, read_response, running


def test_receive_waiting_when_the_response_completes_gets_http_disconnect() -> None:
    """ASGI: receive() after the response is sent returns http.disconnect. An app with a
    disconnect watcher already parked in receive() (a common pattern; uvicorn wakes it when
    the response completes) must get it too, not hang forever holding its in_flight slot."""
    seen: queue.Queue[str] = queue.Queue()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await receive()  # the (empty) request body

        async def watch() -> None:
            message = await receive()  # parked here before the response is sent
            seen.put(message["type"])

        watcher = asyncio.ensure_future(watch())
        await asyncio.sleep(0.1)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        await watcher

    with running(app, shutdown_timeout=1.0) as server:
        sock = server.connect()
        try:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            status, _, body = read_response(sock)
            assert (status, body) == (200, b"ok")
            try:
                got = seen.get(timeout=3.0)
            except queue.Empty:
                got = "nothing (receive() never returned)"
            state = server.server.state
            deadline = time.monotonic() + 3.0
            while state is not None and state.in_flight and time.monotonic() < deadline:
                time.sleep(0.02)  # the app returns just after its watcher
            in_flight = state.in_flight if state is not None else -1
        finally:
            sock.close()
    assert got == "http.disconnect"
    assert in_flight == 0


def test_expect_continue_answered_without_reading_is_not_held_forever() -> None:
    """A client sent ``Expect: 100-continue``, the app answered (401) without reading the
    body, so no 100 was sent and the body never comes. The connection then has no deadline
    at all (body clock at +inf, idle deadline cleared): it is held forever, past
    idle_timeout, header_timeout and min_body_rate. uvicorn closes it after its keep-alive
    timeout."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 401, "headers": []})
        await send({"type": "http.response.body", "body": b"nope"})

    with running(
        app, shutdown_timeout=1.0, idle_timeout=1.0, header_timeout=1.0, body_rate_grace=1.0
    ) as server:
        sock = server.connect()
        try:
            sock.sendall(
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
            )
            status, _, body = read_response(sock)
            assert (status, body) == (401, b"nope")
            sock.settimeout(6.0)
            started = time.monotonic()
            try:
                closed = sock.recv(100) == b""
            except TimeoutError:
                closed = False
            except ConnectionResetError:
                closed = True
            waited = time.monotonic() - started
        finally:
            sock.close()
    assert closed, f"connection still open after {waited:.1f}s (idle_timeout=1s)"
    assert waited < 5.0


def test_expect_continue_app_that_starts_its_answer_then_reads_gets_100_or_a_head() -> None:
    """RFC 9110 §10.1.1: a server that receives 100-continue MUST send 100 or a final status.
    An app that sends http.response.start and then reads the body (a streaming echo or
    transform) gets neither: the head is held back until the first body message and the
    100 is skipped because a head is pending, so client and app wait on each other. uvicorn
    writes the head at once; wirekit writes nothing at all."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for _ in range(100):
            message = await receive()
            if message["type"] != "http.request":
                return
            more = message.get("more_body", False)
            await send({"type": "http.response.body", "body": message["body"], "more_body": more})
            if not more:
                return

    with running(app, shutdown_timeout=1.0) as server:
        sock = server.connect()
        try:
            sock.sendall(
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
            )
            sock.settimeout(3.0)
            try:
                first = sock.recv(65536)
            except TimeoutError:
                first = b""
            if first.startswith(b"HTTP/1.1 100"):
                sock.settimeout(WAIT)
                sock.sendall(b"hello")
        finally:
            sock.close()
    assert first.startswith(b"HTTP/1.1 "), "no 100 Continue and no final status in 3 s"


def test_head_answer_with_an_empty_final_body_does_not_claim_content_length_zero() -> None:
    """RFC 9110 §8.6: a HEAD answer MUST NOT carry a Content-Length other than the GET's.
    An app that answers HEAD with an empty final body (it knows HEAD has none) and no
    Content-Length gets ``Content-Length: 0`` added, while GET returns 3 bytes. (The
    protocol core means to send a bare HEAD answer here; the one-message fast path
    skips that.) uvicorn sends no Content-Length."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        body = b"" if scope["method"] == "HEAD" else b"abc"
        await send({"type": "http.response.body", "body": body})

    with running(app) as server:
        get_status, _get_headers, get_body = server.get("/")
        status, headers, _body = server.get("/", method="HEAD")
    assert (get_status, get_body) == (200, b"abc")
    assert status == 200
    assert headers.get("content-length") in (None, "3"), headers


def test_starlette_stream_cut_by_the_client_is_not_logged_as_an_app_error(
    caplog: Any,
) -> None:
    """A client that stops a download is routine. wirekit advertises ASGI HTTP spec 2.4, so
    Starlette (1.x) lets send()'s OSError end the stream and re-raises it as its own
    ``starlette.requests.ClientDisconnect``; the bridge only recognises its own
    ClientDisconnected, and logs "exception in ASGI app" at ERROR with a full traceback
    for every such client."""
    import logging

    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    async def download(request: Any) -> StreamingResponse:
        async def parts() -> Any:
            for _ in range(2000):
                yield b"x" * 1000
                await asyncio.sleep(0.005)

        return StreamingResponse(parts())

    app = Starlette(routes=[Route("/dl", download)])
    caplog.set_level(logging.INFO, logger="wirekit.server")
    with running(app, shutdown_timeout=2.0) as server:
        sock = server.connect()
        sock.sendall(b"GET /dl HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.recv(4096)
        time.sleep(0.05)
        sock.close()
        deadline = time.monotonic() + WAIT
        state = server.server.state
        while state is not None and state.in_flight and time.monotonic() < deadline:
            time.sleep(0.05)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


def _read_all_or_reset(sock: socket.socket) -> tuple[bytes, bool]:
    sock.settimeout(WAIT)
    data = b""
    for _ in range(10_000):
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, False
        data += chunk
    return data, False


def test_app_crash_mid_stream_to_an_http10_client_is_not_a_clean_end_of_body() -> None:
    """After the head is sent, an app crash is signalled by cutting the connection
    (``_finish_broken`` -> ``protocol.abort()``, "the only honest signal left"). For an
    HTTP/1.0 client the body is close-delimited, and abort() on a socket with nothing unread
    is a plain FIN: the client cannot tell the truncated body from a whole one. The cut
    has to be a reset (SO_LINGER 0) for the signal to reach the client."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        await asyncio.sleep(0.1)
        raise ValueError("database went away mid-report")

    with running(app, shutdown_timeout=1.0) as server:
        sock = server.connect()
        try:
            sock.sendall(b"GET /report HTTP/1.0\r\n\r\n")
            data, reset = _read_all_or_reset(sock)
        finally:
            sock.close()
    assert data == b"" or data.startswith(b"HTTP/1.1 200")
    assert b"content-length" not in data.lower()
    assert b"chunked" not in data.lower()
    assert reset, f"clean end of a close-delimited body after an app crash: {data!r}"


def test_a_timed_out_receive_in_one_task_does_not_orphan_a_reader_in_another() -> None:
    """ASGICycle keeps one ``_waiter``: a second receive() (here a disconnect poll with a
    timeout; Starlette's ``Request.is_disconnected()`` does the same with a cancelled
    scope) replaces the first task's waiter and is then cancelled. When the body arrives
    only the cancelled waiter is "woken", so the task reading the body sleeps forever
    (even a later disconnect cannot wake it). uvicorn wakes every waiter."""
    outcome: queue.Queue[object] = queue.Queue()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return

        async def poll() -> None:
            await asyncio.sleep(0.1)  # the reader below is parked in receive() by now
            try:
                await asyncio.wait_for(receive(), 0.05)
            except TimeoutError:
                pass

        poller = asyncio.ensure_future(poll())
        body = b""
        try:
            async with asyncio.timeout(3.0):
                for _ in range(100):
                    message = await receive()
                    if message["type"] != "http.request":
                        break
                    body += message["body"]
                    if not message["more_body"]:
                        break
            outcome.put(body)
        except TimeoutError:
            outcome.put("the body reader was never woken")
        await poller
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"got " + body})

    with running(app, shutdown_timeout=1.0) as server:
        sock = server.connect()
        try:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n")
            time.sleep(0.4)  # after the poll timed out
            sock.sendall(b"hello")
            result = outcome.get(timeout=WAIT)
            status, _, body = read_response(sock)
        finally:
            sock.close()
    assert result == b"hello"
    assert (status, body) == (200, b"got hello")
