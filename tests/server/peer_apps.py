"""Apps that ``wirekit serve`` runs in a subprocess for the real-peer tests.

The ``whoami`` apps answer with what the server computed about the client (address, scheme,
Host), so a test can see what ``--proxy-headers`` made of a proxy's headers. The ``hello``
apps are the smallest useful answer for load tests; ``slow`` apps hold a request briefly so
a signal can arrive while answers are in flight.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

#: How long the ``slow`` apps hold each request (so a SIGTERM lands mid-request).
SLOW_SECONDS = 0.2
#: Body size of the ``slow`` apps: big enough that a cut answer is visibly short.
SLOW_BODY = b"x" * 20_000


def wsgi_sched(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The Linux scheduling policy of this worker thread and of the process's main thread."""
    import threading

    main = threading.main_thread().native_id
    body = json.dumps(
        {"worker": os.sched_getscheduler(0), "main": os.sched_getscheduler(main)}
    ).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def wsgi_whoami(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = json.dumps(
        {
            "client": environ.get("REMOTE_ADDR"),
            "scheme": environ["wsgi.url_scheme"],
            "host": environ.get("HTTP_HOST"),
            "pid": os.getpid(),
        }
    ).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


async def asgi_whoami(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    headers = dict(scope["headers"])
    host = headers.get(b"host")
    body = json.dumps(
        {
            "client": scope["client"][0] if scope.get("client") else None,
            "scheme": scope["scheme"],
            "host": host.decode("latin-1") if host is not None else None,
            "pid": os.getpid(),
        }
    ).encode()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"json")]}
    )
    await send({"type": "http.response.body", "body": body})


def wsgi_hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]


async def asgi_hello(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"5")],
        }
    )
    await send({"type": "http.response.body", "body": b"hello"})


def wsgi_slow(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    time.sleep(SLOW_SECONDS)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [SLOW_BODY]


async def asgi_slow(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    await asyncio.sleep(SLOW_SECONDS)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": SLOW_BODY})
