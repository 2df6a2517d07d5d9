"""A closed connection leaves no reference cycle: its HTTP/1.1 state and llhttp parser
referred to each other, so every connection left about ten objects for the garbage
collector (servers under clients that do not keep connections alive, one-shot fetches)."""

from __future__ import annotations

import socket
from typing import Any

import httptools
import pytest

from tests.server.support import WAIT, read_response, running
from tests.support.helpers import cyclic_garbage
from wirekit._proto.http1 import HTTP1Connection

_PER_CONNECTION = (HTTP1Connection, httptools.HttpRequestParser, httptools.HttpResponseParser)


def _hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]


async def _hello_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.mark.parametrize(
    ("app", "interface"), [(_hello, "wsgi"), (_hello_asgi, "asgi3")], ids=["wsgi", "asgi"]
)
def test_server_connections_closed_by_either_side_leave_no_cycle(app: Any, interface: str) -> None:
    with running(app, interface=interface) as server:
        with cyclic_garbage(*_PER_CONNECTION) as found:
            for close in (b"Connection: close\r\n", b""):  # the server closes, then the client
                for _ in range(5):
                    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as s:
                        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" + close + b"\r\n")
                        assert read_response(s)[0] == 200
            server.shutdown()  # every close seen, and the loop done with the connections
    assert found == []
