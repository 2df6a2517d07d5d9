"""Whole answers are held while other apps are queued to run (ServerState.release_held).

What a client must still see: an answer as soon as the app's task waits for anything (work
after the answer, as Starlette's background tasks do, must not delay it), an answer that no
app already running delays (not even with blocking code), answers to pipelined requests in
order, and the last answer before the connection closes.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

from tests.server.support import WAIT, read_response, read_until_closed, running

BACKGROUND_S = 3.0


async def _answer_then_work(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = scope["path"].encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
    if scope["path"] == "/background":
        await asyncio.sleep(BACKGROUND_S)  # work after the answer, awaiting as it goes


def test_an_answer_does_not_wait_for_work_the_app_does_after_it() -> None:
    with running(_answer_then_work) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
            started = time.monotonic()
            sock.sendall(b"GET /background HTTP/1.1\r\nHost: x\r\n\r\n")
            status, _headers, body = read_response(sock)
            waited = time.monotonic() - started
    assert (status, body) == (200, b"/background")
    # Not a timing threshold on our speed: only "before the app's work ended".
    assert waited < BACKGROUND_S


def test_pipelined_answers_arrive_in_order_and_the_last_before_the_close() -> None:
    paths = [f"/{number}" for number in range(20)]
    request = b"".join(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for path in paths)
    request += b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with running(_answer_then_work) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
            sock.sendall(request)
            data = read_until_closed(sock)
    bodies = [part.split(b"\r\n\r\n", 1)[1] for part in data.split(b"HTTP/1.1 ")[1:]]
    assert [body.decode() for body in bodies] == [*paths, "/last"]


SYNC_WORK_S = 2.0


async def _long_poll_or_work(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/poll":
        await asyncio.sleep(SYNC_WORK_S * 2)  # a long poll: another request under way
    body = scope["path"].encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
    if scope["path"] == "/work":
        time.sleep(SYNC_WORK_S)  # blocking work after the answer (an audit log, say)


def test_blocking_work_after_the_answer_does_not_hold_it_back() -> None:
    """With another request under way the answer was held for the turn's end, behind the
    app's own blocking work (found by a review)."""
    with running(_long_poll_or_work) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as poll:
            poll.sendall(b"GET /poll HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.3)
            with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
                started = time.monotonic()
                sock.sendall(b"GET /work HTTP/1.1\r\nHost: x\r\n\r\n")
                status, _headers, body = read_response(sock)
                waited = time.monotonic() - started
            assert read_response(poll)[::2] == (200, b"/poll")
    assert (status, body) == (200, b"/work")
    assert waited < SYNC_WORK_S  # before the work ended, not a speed threshold


def _publish_subscribe() -> Any:
    events: dict[str, asyncio.Event] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        event = events.setdefault("published", asyncio.Event())
        if scope["path"] == "/subscribe":
            await event.wait()
            time.sleep(SYNC_WORK_S)  # builds its answer with blocking code
        elif scope["path"] == "/publish":
            event.set()
        body = scope["path"].encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


def test_an_answer_does_not_wait_for_the_app_it_woke() -> None:
    """The publisher's answer was held behind the subscriber it woke, whose blocking work
    ran first in the same turn (found by a review)."""
    with running(_publish_subscribe()) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sub:
            sub.sendall(b"GET /subscribe HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.3)
            with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as pub:
                started = time.monotonic()
                pub.sendall(b"GET /publish HTTP/1.1\r\nHost: x\r\n\r\n")
                status, _headers, body = read_response(pub)
                waited = time.monotonic() - started
            assert read_response(sub)[::2] == (200, b"/subscribe")
    assert (status, body) == (200, b"/publish")
    assert waited < SYNC_WORK_S  # before the subscriber's work ended
