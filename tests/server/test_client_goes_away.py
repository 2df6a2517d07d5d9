"""What an app learns when the client goes away.

WSGI: ``wsgi.input.read()`` on a body the client never finished returns the bytes received so
far as if they were the whole body (wsgi.input_terminated is True, so Flask/Werkzeug read
to the end and trust it): a truncated upload is stored as complete. It must raise (an OSError,
as ClientDisconnected is) instead.

ASGI: a client that sends its request and closes the connection (FIN, the normal close) never
produces ``http.disconnect``: an app waiting in receive() (long-poll, Starlette's disconnect
listener) waits forever and keeps its request slot. Only an RST (abortive close) is noticed.
"""

from __future__ import annotations

import queue
import socket
import time
from typing import Any

import pytest

from tests.server.support import WAIT, running


@pytest.mark.parametrize(
    "head_and_partial_body",
    [
        pytest.param(
            b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n5\r\nwor",
            id="chunked",
        ),
        pytest.param(
            b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhello", id="length"
        ),
    ],
)
def test_wsgi_input_read_does_not_return_a_truncated_body(head_and_partial_body: bytes) -> None:
    outcome: queue.Queue[object] = queue.Queue()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        try:
            outcome.put(environ["wsgi.input"].read())
        except BaseException as exc:
            outcome.put(exc)
            raise
        start_response("200 OK", [])
        return [b"stored"]

    with running(app, shutdown_timeout=1.0) as server:
        sock = server.connect()
        sock.sendall(head_and_partial_body)
        time.sleep(0.3)  # the app is reading, waiting for the rest
        sock.close()
        result = outcome.get(timeout=WAIT)
    assert isinstance(result, OSError), (
        f"read() returned {result!r} for a body the client never finished"
    )


def test_asgi_disconnect_is_delivered_when_the_client_closes() -> None:
    messages: queue.Queue[str] = queue.Queue()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        for _ in range(10):
            message = await receive()
            messages.put(message["type"])
            if message["type"] == "http.disconnect":
                return

    with running(app, shutdown_timeout=1.0) as server:
        sock = server.connect()
        sock.sendall(b"POST /poll HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        assert messages.get(timeout=WAIT) == "http.request"
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        try:
            second = messages.get(timeout=3.0)
        except queue.Empty:
            second = "nothing within 3 s"
    assert second == "http.disconnect"
