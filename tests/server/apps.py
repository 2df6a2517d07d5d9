"""Small WSGI and ASGI apps the server tests drive (each shows one behaviour)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

events: list[str] = []
closed = threading.Event()


def wsgi_hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello from wsgi"]


def wsgi_echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [body]


def wsgi_echo_sized(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Reads exactly CONTENT_LENGTH bytes, as wsgiref.validate insists (read() needs a size)."""
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [body]


def wsgi_stream(environ: dict[str, Any], start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])
    for number in range(5):
        yield b"part %d\n" % number


def wsgi_path(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["PATH_INFO"].encode("latin-1") + b"?" + environ["QUERY_STRING"].encode()]


def wsgi_crash(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    if environ["PATH_INFO"] == "/crash":
        raise ValueError("secret-internal-detail")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"fine"]


def wsgi_returns_str(environ: dict[str, Any], start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return "not bytes"


def wsgi_double_start(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [])
    start_response("201 Created", [])
    return [b""]


class ClosingBody:
    """An iterable whose close() records that the server called it."""

    def __init__(self, fail: bool) -> None:
        self.fail = fail

    def __iter__(self) -> Any:
        yield b"first"
        if self.fail:
            raise RuntimeError("broken iterator")
        yield b"second"

    def close(self) -> None:
        closed.set()


def wsgi_closing(environ: dict[str, Any], start_response: Any) -> ClosingBody:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return ClosingBody(fail=environ["PATH_INFO"] == "/fail")


async def lifespan_ok(receive: Any, send: Any) -> None:
    """Answer an ASGI lifespan scope: startup complete, then shutdown complete."""
    await receive()
    await send({"type": "lifespan.startup.complete"})
    await receive()
    await send({"type": "lifespan.shutdown.complete"})


async def asgi_hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": b"hello from asgi"})


async def _asgi_body(receive: Any) -> bytes:
    body = b""
    for _ in range(100_000):
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    return body


async def asgi_echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = await _asgi_body(receive)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def asgi_stream(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    for number in range(5):
        await send({"type": "http.response.body", "body": b"part %d\n" % number, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def asgi_slow(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers after the delay in the query string (seconds), to hold a request in flight."""
    delay = float(scope["query_string"] or b"0")
    events.append(f"start {scope['path']}")
    await asyncio.sleep(delay)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": scope["path"].encode()})
    events.append(f"end {scope['path']}")


async def asgi_crash(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["path"] == "/crash":
        raise ValueError("secret-internal-detail")
    if scope["path"] == "/no-response":
        return
    if scope["path"] == "/bad-message":
        await send({"type": "http.response.body", "body": b"before start"})
    if scope["path"] == "/crash-after-start":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise ValueError("mid-stream")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"fine"})


class LifespanApp:
    """Records lifespan events; stores state for requests to read."""

    def __init__(self) -> None:
        self.log: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            for _ in range(10):
                message = await receive()
                if message["type"] == "lifespan.startup":
                    scope["state"]["greeting"] = "set at startup"
                    self.log.append("startup")
                    await send({"type": "lifespan.startup.complete"})
                else:
                    self.log.append("shutdown")
                    await send({"type": "lifespan.shutdown.complete"})
                    return
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": scope["state"]["greeting"].encode()})


async def asgi_websocket_echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "websocket":
        await asgi_hello(scope, receive, send)
        return
    message = await receive()
    assert message["type"] == "websocket.connect"
    if scope["path"] == "/deny":
        await send({"type": "websocket.close"})
        return
    await send({"type": "websocket.accept", "subprotocol": (scope["subprotocols"] or [None])[0]})
    for _ in range(100):
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") == "bye":
            await send({"type": "websocket.close", "code": 1000})
            return
        if message.get("text") is not None:
            await send({"type": "websocket.send", "text": "echo: " + message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"][::-1]})


def wsgi_echo_path(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Answers ``METHOD /path:body`` after reading the whole body (sequencing tests)."""
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [environ["REQUEST_METHOD"].encode() + b" " + environ["PATH_INFO"].encode() + b":" + body]


def wsgi_hello_path(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Answers ``METHOD /path`` without reading the body (sequencing tests)."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["REQUEST_METHOD"].encode() + b" " + environ["PATH_INFO"].encode()]


async def asgi_echo_path(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers ``METHOD /path:body`` after reading the whole body (sequencing tests)."""
    if scope["type"] != "http":
        return
    body = await _asgi_body(receive)
    answer = scope["method"].encode() + b" " + scope["path"].encode() + b":" + body
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": answer})


async def asgi_hello_path(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers ``METHOD /path`` without reading the body (sequencing tests)."""
    if scope["type"] != "http":
        return
    answer = scope["method"].encode() + b" " + scope["path"].encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": answer})
