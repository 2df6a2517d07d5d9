"""An upload the app answers before reading its body, while the server shuts down.

Outside shutdown the server reads and drops the rest of such a body (protocol.py
``response_complete``, "Answered before the body was all read"), so the client, still
sending, gets the answer. During graceful shutdown it closed the connection at once with
the unread body in the kernel's buffer: a TCP reset, and a client that is still writing
(Python's http.client / urllib) gets ``ConnectionResetError`` instead of the answer to
its request in flight, which docs/server.md says is let finish.
"""

from __future__ import annotations

import asyncio
import http.client
import threading
from typing import Any

import pytest

from tests.server.apps import lifespan_ok
from tests.server.support import WAIT, running


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await lifespan_ok(receive, send)
        return
    await receive()  # the first piece of the body only
    await asyncio.sleep(0.5)  # deciding (auth, quota...): the shutdown starts meanwhile
    await send(
        {"type": "http.response.start", "status": 403, "headers": [(b"content-length", b"6")]}
    )
    await send({"type": "http.response.body", "body": b"denied"})


@pytest.mark.parametrize("use_uvloop", [False, True], ids=["asyncio", "uvloop"])
def test_upload_answered_early_during_shutdown_reaches_the_client(use_uvloop: bool) -> None:
    body = b"\0" * 8_000_000
    with running(_app, shutdown_timeout=5.0, use_uvloop=use_uvloop) as server:
        timer = threading.Timer(0.2, server.server.shutdown)
        timer.start()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT)
        try:
            conn.request("PUT", "/upload", body=body)
            response = conn.getresponse()
            got: object = (response.status, response.read())
        except ConnectionError as exc:
            got = exc
        finally:
            conn.close()
            timer.join(WAIT)
    assert got == (403, b"denied"), f"the answer to the upload in flight was lost: {got!r}"
