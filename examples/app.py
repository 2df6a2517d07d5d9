"""An ASGI app that shows what ``wirekit serve`` does: a page, JSON, streaming, static files.

Run it from the repository root:

    wirekit serve app:app --app-dir examples --port 8000 --health-path /healthz

then open http://127.0.0.1:8000/. ``/api/info`` and ``/api/echo`` (POST JSON) answer JSON; ``/static/`` is served by
wirekit's ``StaticFiles``
(ETags, ranges, precompressed files); ``/stream`` sends one line every half second.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from wirekit.server.static import StaticFiles

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

#: How many lines /stream sends, and the pause between them (a bounded demo, not a feed).
STREAM_LINES = 10
STREAM_INTERVAL = 0.5

static_files = StaticFiles(Path(__file__).parent / "static")
started = time.time()

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>wirekit serve</title>
<link rel="stylesheet" href="/static/style.css"></head>
<body>
<h1>Served by wirekit</h1>
<p>This page, <a href="/api/info">/api/info</a> (JSON) and
<a href="/stream">/stream</a> (a chunked response, shown below as it arrives) come from
<code>examples/app.py</code>; the style sheet and script come from <code>/static/</code>.</p>
<h2>Stream</h2>
<div id="ticks"></div>
<script src="/static/ticks.js"></script>
</body>
</html>
"""


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        raise RuntimeError(f"this example serves only http, not {scope['type']}")
    path: str = scope["path"]
    if path.startswith("/static/"):
        await static_files({**scope, "path": path[len("/static") :]}, receive, send)
    elif path == "/":
        await _send(send, 200, "text/html; charset=utf-8", PAGE.encode())
    elif path == "/api/info":
        info = {
            "server": "wirekit",
            "python": platform.python_version(),
            "pid": os.getpid(),
            "uptime_seconds": round(time.time() - started, 1),
            "client": scope.get("client"),
            "http_version": scope["http_version"],
        }
        await _send(send, 200, "application/json", json.dumps(info).encode())
    elif path == "/api/echo" and scope["method"] == "POST":
        # Echoes a JSON body back, with the caller's user name if Basic auth was sent.
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = dict(scope["headers"])
        answer = {
            "received": json.loads(body or b"null"),
            "authorized": b"authorization" in headers,
        }
        await _send(send, 200, "application/json", json.dumps(answer).encode())
    elif path == "/stream":
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")],
            }
        )
        for number in range(1, STREAM_LINES + 1):
            line = f"tick {number} at {time.strftime('%H:%M:%S')}\n"
            await send({"type": "http.response.body", "body": line.encode(), "more_body": True})
            await asyncio.sleep(STREAM_INTERVAL)
        await send({"type": "http.response.body", "body": b""})
    else:
        await _send(send, 404, "text/plain; charset=utf-8", b"not found\n")


async def _send(send: Send, status: int, content_type: str, body: bytes) -> None:
    headers = [(b"content-type", content_type.encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    # Startup and shutdown hooks would go here (open and close a database pool...).
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
