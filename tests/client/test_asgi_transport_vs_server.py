"""ASGITransport against the wirekit server: the same app through the transport and over
the server on loopback (tests.server.support.running), fetched with wirekit.AsyncClient.

From a differential review: every test states what a user of ASGITransport saw and what the
same app gives over a real server; each failed on the transport before its fix.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

import wirekit
from tests.server.support import running
from wirekit.client.testing import ASGITransport
from wirekit.errors import RemoteProtocolError

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[2]

Fetch = Callable[[wirekit.AsyncClient, str], Awaitable[Any]]


async def through_transport(
    app: Any, fetch: Fetch, *, raise_app_exceptions: bool = True, **client: Any
) -> Any:
    transport = ASGITransport(app, raise_app_exceptions=raise_app_exceptions)
    async with wirekit.AsyncClient(transport=transport, **client) as http:
        return await fetch(http, "http://testserver")


async def over_server(app: Any, fetch: Fetch, **client: Any) -> Any:
    with running(app) as server:
        async with wirekit.AsyncClient(**client) as http:
            return await fetch(http, f"http://127.0.0.1:{server.port}")


async def get(http: wirekit.AsyncClient, base: str) -> tuple[int, bytes]:
    response = await http.get(base + "/")
    return response.status_code, response.content


def echo_app() -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        for _ in range(1000):
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


# ---------------------------------------------------------------------------------------
# 1. A body that contradicts its Content-Length is handed over as if it were fine
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("declared", "sent"), [(b"10", b"abc"), (b"2", b"abcdef")])
async def test_body_contradicting_content_length_is_not_a_normal_200(
    declared: bytes, sent: bytes
) -> None:
    """A user sees: an app that declares ``content-length: 10`` and sends 3 bytes (or 2 and
    sends 6) gives a plain 200 with the 3 (6) bytes through ASGITransport; the test passes.
    Over the wirekit server the same app gives a 500 (the server refuses the mismatch;
    uvicorn cuts the connection, a ProtocolViolation). The transport's promise "never a
    short body" does not hold for a declared length."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", declared)],
            }
        )
        await send({"type": "http.response.body", "body": sent})

    assert (await over_server(app, get, timeout=5))[0] == 500
    try:
        status, content = await through_transport(app, get, timeout=5)
    except (RemoteProtocolError, RuntimeError):
        return  # an error, as over the network: fine
    assert (status, content) != (200, sent), "a body that contradicts its Content-Length"


# ---------------------------------------------------------------------------------------
# 2. A response head or message the server refuses is accepted silently
# ---------------------------------------------------------------------------------------
def _start(status: Any = 200, headers: Any = ()) -> dict[str, Any]:
    return {"type": "http.response.start", "status": status, "headers": list(headers)}


_BAD_MESSAGES = {
    "str header name and value": [_start(headers=[("content-type", "text/plain")])],
    "CR LF in a header value": [_start(headers=[(b"x-user", b"a\r\nset-cookie: evil=1")])],
    "status as a str": [_start(status="200")],
    "status out of range": [_start(status=1000)],
    "misspelled message type": [_start(), {"type": "http.response.bdy", "body": b"lost"}],
}


@pytest.mark.parametrize("case", list(_BAD_MESSAGES))
async def test_messages_the_server_refuses_are_not_accepted_silently(case: str) -> None:
    """A user sees: an app that sends ``("content-type", "text/plain")`` (str, not bytes), a
    header value with CR LF, ``"status": "200"`` or 1000, or a misspelled message type
    gets a normal answer through ASGITransport (200 with the header, status 1000, the
    misspelled message ignored) and the test passes. Over the wirekit server the same app
    gets a 500 ("ASGI protocol error" in its log); uvicorn drops the connection for the
    str header. The bug reaches production untested."""
    messages = _BAD_MESSAGES[case]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        for message in messages:
            await send(message)
        await send({"type": "http.response.body", "body": b"ok"})

    assert (await over_server(app, get, timeout=5))[0] == 500
    try:
        status, _ = await through_transport(app, get, raise_app_exceptions=False, timeout=5)
    except (RemoteProtocolError, RuntimeError, TypeError, ValueError):
        return  # refused, as by the server: fine
    assert status == 500


# ---------------------------------------------------------------------------------------
# 3. 204 / 304 answers carry the app's body
# ---------------------------------------------------------------------------------------
async def test_a_204_answer_has_no_body_as_over_the_network() -> None:
    """A user sees: a Starlette ``JSONResponse(None, status_code=204)`` (what FastAPI makes
    of a 204 endpoint returning None) gives ``response.content == b"null"`` through
    ASGITransport. Over the wirekit server (and uvicorn) a 204 has no body: ``b""``. A
    test asserting the empty 204 fails in-process and passes in production, or the
    reverse. (The transport already drops the body for HEAD; 204 and 304 are the same
    rule, RFC 9110 §6.4.1.)"""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def delete(request: Any) -> JSONResponse:
        return JSONResponse(None, status_code=204)

    app = Starlette(routes=[Route("/", delete)])
    assert await over_server(app, get, timeout=5) == (204, b"")
    assert await through_transport(app, get, timeout=5) == (204, b"")


async def test_a_304_answer_has_no_body_as_over_the_network() -> None:
    """A user sees: a raw app answering 304 with a body gives that body through the
    transport; over the wirekit server a 304 has no body."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send(_start(status=304, headers=[(b"etag", b'"v1"')]))
        await send({"type": "http.response.body", "body": b"stale body"})

    assert await over_server(app, get, timeout=5) == (304, b"")
    assert await through_transport(app, get, timeout=5) == (304, b"")


# ---------------------------------------------------------------------------------------
# 4. A complete answer becomes a ReadTimeout when the app keeps running after it
# ---------------------------------------------------------------------------------------
async def test_complete_answer_then_slow_background_task_is_not_a_read_timeout() -> None:
    """A user sees: a Starlette endpoint whose ``BackgroundTask`` takes 1.5 s, fetched with
    ``timeout=wirekit.Timeout(10, read=0.5)``, raises ``ReadTimeout: no answer from the ASGI
    app ... while waiting for the ASGI app to return`` through ASGITransport, although the
    whole response (200 "ok") was sent; and the background task is cancelled. Over the
    wirekit server (and uvicorn) the same request returns 200 "ok" at once. Also seen: with
    ``Timeout(1)`` it is ``DeadlineExceeded ... during waiting for the ASGI app to return``,
    and leaving a ``client.stream()`` block after reading only the head raises the
    ReadTimeout from the block's exit; over the server both return at once."""
    from starlette.applications import Starlette
    from starlette.background import BackgroundTask
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def slow_job() -> None:
        await asyncio.sleep(1.5)

    async def home(request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok", background=BackgroundTask(slow_job))

    app = Starlette(routes=[Route("/", home)])
    timeout = wirekit.Timeout(10, read=0.5)
    assert await over_server(app, get, timeout=timeout) == (200, b"ok")
    assert await through_transport(app, get, timeout=timeout) == (200, b"ok")


# ---------------------------------------------------------------------------------------
# 5. A receive() that is cancelled during a streamed upload loses the rest of the body
# ---------------------------------------------------------------------------------------
def _polling_app() -> Any:
    """Reads the body with a short per-message timeout (a common poll loop)."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        for _ in range(500):
            try:
                message = await asyncio.wait_for(receive(), 0.01)
            except TimeoutError:
                continue
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        await send(_start(headers=[(b"content-length", str(len(body)).encode())]))
        await send({"type": "http.response.body", "body": body})

    return app


def _starlette_is_disconnected_app() -> Any:
    """Starlette's ``request.is_disconnected()`` between chunks of ``request.stream()``."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def upload(request: Any) -> PlainTextResponse:
        data = b""
        async for chunk in request.stream():
            data += chunk
            if await request.is_disconnected():
                return PlainTextResponse("client gone")
        return PlainTextResponse(data)

    return Starlette(routes=[Route("/", upload, methods=["POST"])])


@pytest.mark.parametrize("make_app", [_polling_app, _starlette_is_disconnected_app])
async def test_cancelled_receive_during_a_streamed_upload_keeps_the_rest(
    make_app: Callable[[], Any],
) -> None:
    """A user sees: an app whose ``receive()`` is cancelled while the client is still
    streaming the upload (``asyncio.wait_for(receive(), 0.01)``, or Starlette's
    ``request.is_disconnected()`` called between chunks of ``request.stream()``) gets only
    the first chunk and then ``more_body: False``: the body is silently cut to
    ``b"part0"`` (the cancellation kills the upload generator inside receive()). Over the
    wirekit server (and uvicorn) the same app gets the whole ``b"part0part1part2"``."""
    app = make_app()

    async def post(http: wirekit.AsyncClient, base: str) -> tuple[int, bytes]:
        async def upload() -> AsyncIterator[bytes]:
            for n in range(3):
                yield b"part%d" % n
                await asyncio.sleep(0.1)

        response = await http.post(base + "/", content=upload())
        return response.status_code, response.content

    assert await over_server(app, post, timeout=5) == (200, b"part0part1part2")
    assert await through_transport(app, post, timeout=5) == (200, b"part0part1part2")


# ---------------------------------------------------------------------------------------
# 6. The read limit runs while the client is still uploading
# ---------------------------------------------------------------------------------------
async def test_read_limit_does_not_run_while_the_client_is_still_uploading() -> None:
    """A user sees: a streamed upload that takes 1.2 s in all (4 chunks, 0.3 s apart) to an
    echo app, with ``timeout=wirekit.Timeout(10, read=1)``, raises ``ReadTimeout: no answer
    from the ASGI app ... while waiting for the response`` through ASGITransport after 1 s,
    while the app is still receiving the body the client is still producing. Over the
    wirekit server (and uvicorn) the same request returns 200 with the echoed body: the
    read limit counts silence from the server after the request was sent, not upload
    time."""
    app = echo_app()

    async def post(http: wirekit.AsyncClient, base: str) -> tuple[int, bytes]:
        async def upload() -> AsyncIterator[bytes]:
            for n in range(4):
                yield b"part%d" % n
                await asyncio.sleep(0.3)

        response = await http.post(base + "/", content=upload())
        return response.status_code, response.content

    timeout = wirekit.Timeout(10, read=1)
    expected = (200, b"part0part1part2part3")
    assert await over_server(app, post, timeout=timeout) == expected
    assert await through_transport(app, post, timeout=timeout) == expected


# ---------------------------------------------------------------------------------------
# 7. The client's own upload error becomes the app's 500
# ---------------------------------------------------------------------------------------
class UploadSourceFailed(Exception):
    pass


async def test_an_upload_source_error_reaches_the_caller_not_a_500() -> None:
    """A user sees: with ``ASGITransport(app, raise_app_exceptions=False)``, a streamed
    upload whose generator raises ``UploadSourceFailed`` gives a ``500 Internal Server
    Error`` response, as if the app had failed (the client's error is
    thrown into the app's receive()). Over the wirekit server the same request raises
    ``UploadSourceFailed`` from ``client.post()``: the failure is the client's own, the
    server never answers."""
    app = echo_app()

    async def post(http: wirekit.AsyncClient, base: str) -> Any:
        async def upload() -> AsyncIterator[bytes]:
            yield b"part"
            await asyncio.sleep(0.05)
            raise UploadSourceFailed("the file being uploaded went away")

        response = await http.post(base + "/", content=upload())
        return response.status_code, response.content

    with pytest.raises(UploadSourceFailed):
        await over_server(app, post, timeout=5)
    with pytest.raises(UploadSourceFailed):
        await through_transport(app, post, raise_app_exceptions=False, timeout=5)


# ---------------------------------------------------------------------------------------
# 8. root_path: the app's path lacks the prefix (ASGI: path includes root_path)
# ---------------------------------------------------------------------------------------
async def test_root_path_is_part_of_the_path_the_app_sees() -> None:
    """A user sees: with ``ASGITransport(app, root_path="/api")`` and a request for
    ``/items``, Starlette's ``request.url`` is ``http://testserver/items`` (scope ``path``
    "/items", ``root_path`` "/api"), so URLs the app builds from ``request.url`` (and
    redirects made from it) lack the prefix. Over the wirekit server with
    ``root_path="/api"`` (and uvicorn ``--root-path /api``) the same request gives
    ``path`` "/api/items" and ``request.url`` ending in ``/api/items``, as the ASGI spec
    asks (path includes root_path); url_for gives /api/items in both."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def items(request: Any) -> JSONResponse:
        return JSONResponse({"path": request.scope["path"], "url_path": request.url.path})

    app = Starlette(routes=[Route("/items", items)])
    expected = {"path": "/api/items", "url_path": "/api/items"}
    with running(app, root_path="/api") as server:
        async with wirekit.AsyncClient(timeout=5) as http:
            response = await http.get(f"http://127.0.0.1:{server.port}/items")
            assert response.json() == expected
    transport = ASGITransport(app, root_path="/api")
    async with wirekit.AsyncClient(transport=transport, timeout=5) as http:
        response = await http.get("http://testserver/items")
        assert response.json() == expected


# ---------------------------------------------------------------------------------------
# 9. SystemExit in an app stops the caller's event loop
# ---------------------------------------------------------------------------------------
_SYSTEM_EXIT_SCRIPT = """
import asyncio, sys
sys.path.insert(0, {repo!r})
import wirekit
from wirekit.client.testing import ASGITransport

async def app(scope, receive, send):
    sys.exit(3)  # e.g. a CLI helper called from a view

async def main():
    transport = ASGITransport(app, raise_app_exceptions=False)
    async with wirekit.AsyncClient(transport=transport, timeout=5) as client:
        try:
            response = await client.get("http://testserver/")
        except Exception as exc:
            print("client error", type(exc).__name__)
        else:
            print("status", response.status_code)
    print("test went on")

try:
    asyncio.run(main())
except BaseException as exc:
    print("event loop stopped by", type(exc).__name__)
"""


async def test_system_exit_in_the_app_does_not_stop_the_tests_event_loop() -> None:
    """A user sees: an app that raises ``SystemExit`` (``sys.exit()`` deep in some helper)
    makes ``asyncio.run()`` of the test end with ``SystemExit`` ("Task exception was never
    retrieved" on stderr): the client call never returns; the exception escapes the event
    loop, not the call. (Run as a test under pytest's anyio plugin instead of this
    subprocess, the test fails with SystemExit and the pytest process then ended with an
    internal error, ``SystemError: AST constructor recursion depth mismatch``, so this check
    runs in a subprocess.) Over the wirekit server the same app gives the client a 500 and
    the server goes on (asgi.py turns SystemExit/KeyboardInterrupt into an error of that one
    request)."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            sys.exit(3)

    assert (await over_server(app, get, timeout=5))[0] == 500
    script = _SYSTEM_EXIT_SCRIPT.format(repo=str(REPO / "src"))
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
        check=False,
    )
    assert "event loop stopped by" not in result.stdout, result.stdout + result.stderr
    assert "test went on" in result.stdout, result.stdout + result.stderr


# ---------------------------------------------------------------------------------------
# 10. An app that gives a head, then fails or returns before any body message
# ---------------------------------------------------------------------------------------
class AppFailed(Exception):
    pass


async def _start_then_raise(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        await send(_start(200, [(b"x-started", b"1")]))
        raise AppFailed("after the head")


async def _start_then_return(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        await send(_start(201))


async def _return_at_once(scope: Any, receive: Any, send: Any) -> None:
    return None


def _starlette_generator_raises() -> Any:
    from starlette.responses import StreamingResponse

    async def parts() -> AsyncIterator[bytes]:
        raise AppFailed("before the first chunk")
        yield b"never"  # pragma: no cover

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await StreamingResponse(parts())(scope, receive, send)

    return app


_HEAD_THEN_NOTHING = {
    "head, then raise": lambda: _start_then_raise,
    "head, then return": lambda: _start_then_return,
    "return without a head": lambda: _return_at_once,
    "Starlette stream raising before its first chunk": _starlette_generator_raises,
}


@pytest.mark.parametrize("case", list(_HEAD_THEN_NOTHING))
async def test_an_app_failing_before_its_first_body_message_gets_the_servers_500(
    case: str,
) -> None:
    """A user sees: an app that sends ``http.response.start`` and then raises (or returns)
    before any body gave ``RemoteProtocolError`` ("the body is cut short") through
    ASGITransport with ``raise_app_exceptions=False``, where the wirekit server holds the
    head until the first body message and answers the same app with its plain 500. A test
    of the app's error page saw an exception that production never gives."""
    app = _HEAD_THEN_NOTHING[case]()

    async def fetch(http: wirekit.AsyncClient, base: str) -> tuple[int, str, bytes]:
        response = await http.get(base + "/")
        return response.status_code, response.headers.get("content-type", ""), response.content

    expected = await over_server(app, fetch, timeout=5)
    assert expected == (500, "text/plain; charset=utf-8", b"Internal Server Error\n")
    assert await through_transport(app, fetch, raise_app_exceptions=False, timeout=5) == expected


async def test_an_app_failing_after_its_head_raises_its_error_into_the_test() -> None:
    """With ``raise_app_exceptions`` (the default) the app's own error reaches the test, not
    a 500 nor a cut-short body."""
    with pytest.raises(AppFailed, match="after the head"):
        await through_transport(_start_then_raise, get, timeout=5)
