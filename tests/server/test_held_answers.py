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


async def _answer(send: Any, body: bytes) -> None:
    """A whole answer: status, Content-Length and body."""
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _answer_then_work(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = scope["path"].encode()
    await _answer(send, body)
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
    await _answer(send, body)
    if scope["path"] == "/work":
        time.sleep(SYNC_WORK_S)  # blocking work after the answer (an audit log, say)


def _answer_while_another_waits(app: Any, waiting: str, timed: str) -> float:
    """Seconds until ``timed`` was answered while ``waiting`` (sent first) was under way;
    both answers checked."""
    with running(app) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as first:
            first.sendall(f"GET {waiting} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            time.sleep(0.3)
            with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
                started = time.monotonic()
                sock.sendall(f"GET {timed} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                assert read_response(sock)[::2] == (200, timed.encode())
                waited = time.monotonic() - started
            assert read_response(first)[::2] == (200, waiting.encode())
    return waited


def test_blocking_work_after_the_answer_does_not_hold_it_back() -> None:
    """With another request under way the answer was held for the turn's end, behind the
    app's own blocking work (found by a review)."""
    waited = _answer_while_another_waits(_long_poll_or_work, "/poll", "/work")
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
        await _answer(send, body)

    return app


def test_an_answer_does_not_wait_for_the_app_it_woke() -> None:
    """The publisher's answer was held behind the subscriber it woke, whose blocking work
    ran first in the same turn (found by a review)."""
    waited = _answer_while_another_waits(_publish_subscribe(), "/subscribe", "/publish")
    assert waited < SYNC_WORK_S  # before the subscriber's work ended
