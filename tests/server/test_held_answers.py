"""Whole answers are held until the loop turn ends (ServerState.release_held), then sent.

What a client must still see: an answer as soon as the app's task waits for anything (work
after the answer, as Starlette's background tasks do, must not delay it), answers to
pipelined requests in order, and the last answer before the connection closes.
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
