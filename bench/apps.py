"""The two minimal apps every benchmarked server runs: one ASGI 3 app and one WSGI app.

Both answer ``/json`` with the same ~1 KB JSON document (encoded per request, as a real app
would) and every other path with the 13-byte ``Hello, world!`` in text/plain.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

HELLO_BODY = b"Hello, world!"

#: Serialises to exactly 1,024 bytes with ``json.dumps`` (the harness checks each server's
#: answer against ``json_body()``, so every server sends the same payload).
JSON_DOCUMENT: dict[str, Any] = {
    "message": "Hello, world!",
    "items": [{"id": number, "name": f"item-{number:03d}", "ok": True} for number in range(22)],
    "padding": "x" * 12,
}


def json_body() -> bytes:
    """The JSON response body, encoded as each app encodes it per request."""
    return json.dumps(JSON_DOCUMENT).encode()


JSON_LENGTH = len(json_body())

_HELLO_HEADERS = [
    (b"content-type", b"text/plain"),
    (b"content-length", str(len(HELLO_BODY)).encode()),
]
_JSON_CONTENT_TYPE = (b"content-type", b"application/json")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def asgi_app(scope: Scope, receive: Receive, send: Send) -> None:
    """ASGI 3 app: hello or JSON by path; refuses lifespan so servers skip it quickly."""
    if scope["type"] == "lifespan":
        # Answer the lifespan protocol properly so no server logs a startup error.
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] == "/json":
        body = json.dumps(JSON_DOCUMENT).encode()
        headers = [_JSON_CONTENT_TYPE, (b"content-length", str(len(body)).encode())]
    else:
        body = HELLO_BODY
        headers = _HELLO_HEADERS
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def wsgi_app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """WSGI app sending exactly what ``asgi_app`` sends."""
    if environ.get("PATH_INFO") == "/json":
        body = json.dumps(JSON_DOCUMENT).encode()
        content_type = "application/json"
    else:
        body = HELLO_BODY
        content_type = "text/plain"
    start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]
