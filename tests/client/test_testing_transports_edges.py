"""wirekit.client.testing edges: the in-process transports give an app what a real client
over the network gives it (the wirekit server over loopback is the reference)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

import wirekit
from tests.server.support import running
from wirekit.client.testing import ASGITransport, WSGITransport
from wirekit.errors import ReadTimeout, TimeoutException

REPO = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------------------
# ASGI: http.disconnect is handed out while the response is still being produced
# --------------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_asgi_starlette_streaming_response_is_not_truncated() -> None:
    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    async def parts() -> Any:
        for i in range(5):
            yield f"chunk{i};".encode()
            await anyio.sleep(0.01)

    async def stream(request: Any) -> StreamingResponse:
        return StreamingResponse(parts())

    app = Starlette(routes=[Route("/stream", stream)])
    async with wirekit.AsyncClient(transport=ASGITransport(app)) as client:
        with anyio.fail_after(5):
            response = await client.get("http://testserver/stream")
    assert response.text == "chunk0;chunk1;chunk2;chunk3;chunk4;"


_DJANGO_SITE = """
import asyncio, json, sys
sys.path.insert(0, {repo!r})
from django.conf import settings
settings.configure(DEBUG=False, SECRET_KEY="x", ROOT_URLCONF=__name__,
                   ALLOWED_HOSTS=["testserver"], MIDDLEWARE=[])
import django
django.setup()
from django.http import JsonResponse
from django.urls import path

def hello(request):
    return JsonResponse({{"path": request.path, "q": request.GET.get("q")}})

urlpatterns = [path("hello", hello)]
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application
import wirekit
from wirekit.client.testing import ASGITransport, WSGITransport

out = {{}}
async def main():
    async with wirekit.AsyncClient(transport=ASGITransport(get_asgi_application())) as c:
        r = await c.get("http://testserver/hello?q=%C3%A9")
        out["asgi"] = [r.status_code, r.text]
asyncio.run(main())
with wirekit.Client(transport=WSGITransport(get_wsgi_application())) as c:
    r = c.head("http://testserver/hello")
    out["wsgi_head"] = [r.status_code, r.content.decode()]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def django_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    script = tmp_path_factory.mktemp("dj") / "site.py"
    script.write_text(_DJANGO_SITE.format(repo=str(REPO)))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=30, cwd=REPO
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_asgi_django_view_answers(django_results: dict[str, Any]) -> None:
    # Over the wirekit server this is a 200 with the JSON body; in-process it was an empty 500
    # (Django's disconnect listener got http.disconnect at once and cancelled the view).
    assert django_results["asgi"] == [200, '{"path": "/hello", "q": "\\u00e9"}']


# --------------------------------------------------------------------------------------
# Host header
# --------------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_asgi_app_sees_host_header() -> None:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def host(request: Request) -> JSONResponse:
        return JSONResponse({"host": request.headers.get("host")})

    app = Starlette(
        routes=[Route("/", host)],
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=["testserver"])],
    )
    async with wirekit.AsyncClient(transport=ASGITransport(app)) as client:
        response = await client.get("http://testserver:8080/")
    assert response.status_code == 200, response.text  # not 400 "Invalid host header"
    assert response.json() == {"host": "testserver:8080"}


def test_wsgi_app_sees_host_header() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ.get("HTTP_HOST", "<missing>").encode()]

    with wirekit.Client(transport=WSGITransport(app)) as client:
        assert client.get("http://testserver:8080/").text == "testserver:8080"


# --------------------------------------------------------------------------------------
# Request bodies
# --------------------------------------------------------------------------------------
def test_wsgi_flask_sees_streamed_upload_body() -> None:
    import flask

    app = flask.Flask(__name__)

    @app.post("/echo")
    def echo() -> Any:
        return flask.request.get_data()

    def upload() -> Any:
        yield b"ab"
        yield b"cd"

    with wirekit.Client(transport=WSGITransport(app)) as client:
        response = client.post("http://testserver/echo", content=upload())
    assert response.content == b"abcd"  # not b"" (Transfer-Encoding: chunked reached the app)


# --------------------------------------------------------------------------------------
# HEAD
# --------------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_asgi_head_response_has_no_body() -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def hello(request: Any) -> PlainTextResponse:
        return PlainTextResponse("hello")

    app = Starlette(routes=[Route("/", hello, methods=["GET", "HEAD"])])
    async with wirekit.AsyncClient(transport=ASGITransport(app)) as client:
        response = await client.head("http://testserver/")
    assert response.status_code == 200
    assert response.headers["content-length"] == "5"
    assert response.content == b""


def test_wsgi_head_response_has_no_body() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        # PEP 3333 apps (Django among them) may answer HEAD like GET: the server drops the body.
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
        return [b"hello"]

    with wirekit.Client(transport=WSGITransport(app)) as client:
        response = client.head("http://testserver/")
    assert response.content == b""


def test_wsgi_django_head_response_has_no_body(django_results: dict[str, Any]) -> None:
    assert django_results["wsgi_head"] == [200, ""]


# --------------------------------------------------------------------------------------
# App exceptions
# --------------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_asgi_raise_app_exceptions_false_gives_the_apps_500() -> None:
    from starlette.applications import Starlette
    from starlette.routing import Route

    async def boom(request: Any) -> Any:
        raise ValueError("boom")

    app = Starlette(routes=[Route("/", boom)])
    transport = ASGITransport(app, raise_app_exceptions=False)
    async with wirekit.AsyncClient(transport=transport) as client:
        # Starlette's ServerErrorMiddleware sends its 500 and then re-raises (as documented);
        # the transport must hand the 500 over, not the exception.
        response = await client.get("http://testserver/")
    assert response.status_code == 500


# --------------------------------------------------------------------------------------
# Timeouts
# --------------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_asgi_client_timeout_applies_to_an_app_that_never_answers() -> None:
    async def never(scope: Any, receive: Any, send: Any) -> None:
        await anyio.sleep(3600)

    started = time.monotonic()
    async with wirekit.AsyncClient(transport=ASGITransport(never), timeout=0.5) as client:
        with pytest.raises(TimeoutException):
            with anyio.fail_after(4):  # the guard of this test, not the expected error
                await client.get("http://testserver/")
    assert time.monotonic() - started < 3


# --------------------------------------------------------------------------------------
# Response streaming (WSGI)
# --------------------------------------------------------------------------------------
def test_wsgi_stream_yields_before_the_app_has_finished() -> None:
    produced: list[int] = []
    closed: list[int] = []

    class Body:
        def __iter__(self) -> Any:
            for i in range(40):
                produced.append(i)
                time.sleep(0.02)
                yield b"x" * 10

        def close(self) -> None:
            closed.append(1)

    def app(environ: dict[str, Any], start_response: Any) -> Body:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Body()

    with wirekit.Client(transport=WSGITransport(app)) as client:
        with client.stream("GET", "http://testserver/") as response:
            first = next(iter(response.iter_bytes()))
            assert first
            # A real server hands the first chunk over as it is produced; an SSE endpoint
            # (a generator that never ends) must not hang the test.
            assert len(produced) < 40
    assert closed == [1]


# --------------------------------------------------------------------------------------
# SCRIPT_NAME
# --------------------------------------------------------------------------------------
def test_wsgi_script_name_flask_redirect_is_followed() -> None:
    import flask

    app = flask.Flask(__name__)

    @app.get("/a")
    def a() -> Any:
        return flask.redirect(flask.url_for("b"))  # Location: /app/b

    @app.get("/b")
    def b() -> str:
        return "B"

    with wirekit.Client(transport=WSGITransport(app, script_name="/app")) as client:
        response = client.get("http://testserver/app/a")
    # The wirekit server with root_path="/app" answers 200 "B" (PATH_INFO "/a", then "/b").
    assert (response.status_code, response.text) == (200, "B")


# --------------------------------------------------------------------------------------
# Misuse: the wrong client flavour
# --------------------------------------------------------------------------------------
def test_sync_client_with_asgi_transport_says_what_is_wrong() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("not reached")

    with pytest.raises(TypeError, match="AsyncClient"):  # noqa: PT012 (may raise in either)
        client = wirekit.Client(transport=ASGITransport(app))
        client.get("http://testserver/")


@pytest.mark.anyio
async def test_async_client_with_wsgi_transport_says_what_is_wrong() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise AssertionError("not reached")

    # Not AttributeError 'handle_async_request', then AttributeError 'aclose' at exit.
    with pytest.raises(TypeError):
        async with wirekit.AsyncClient(transport=WSGITransport(app)) as client:
            await client.get("http://testserver/")


# --------------------------------------------------------------------------------------
# WSGI start_response(exc_info) before anything was sent (PEP 3333 error middleware)
# --------------------------------------------------------------------------------------
def test_wsgi_error_middleware_can_replace_headers_with_exc_info() -> None:
    def inner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        raise ValueError("late failure")

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        try:
            return inner(environ, start_response)
        except Exception:
            # PEP 3333: headers not sent yet, so start_response replaces them.
            start_response(
                "500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info()
            )
            return [b"handled"]

    with wirekit.Client(transport=WSGITransport(app)) as client:
        response = client.get("http://testserver/")
    # The wirekit server answers 500 "handled" (the transport used to re-raise ValueError).
    assert (response.status_code, response.text) == (500, "handled")


# --------------------------------------------------------------------------------------
# Around the fixes: read limit vs total deadline, write() apps, late exc_info, close once
# --------------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_asgi_read_limit_names_the_app_and_resets_on_each_message() -> None:
    async def trickle(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for _ in range(4):
            await anyio.sleep(0.1)  # each message within the read limit
            await send({"type": "http.response.body", "body": b"x", "more_body": True})
        await anyio.sleep(3600)

    timeout = wirekit.Timeout(None, read=0.3)
    async with wirekit.AsyncClient(transport=ASGITransport(trickle), timeout=timeout) as client:
        with pytest.raises(ReadTimeout, match=r"ASGI app for testserver:80 .*reading the resp"):
            with anyio.fail_after(4):
                await client.get("http://testserver/")


def test_wsgi_write_callable_and_late_exc_info() -> None:
    closed: list[int] = []

    class Late:
        def __init__(self, start_response: Any) -> None:
            self.start_response = start_response

        def __iter__(self) -> Any:
            self.start_response("200 OK", [])
            yield b"part"
            try:
                raise KeyError("late")
            except KeyError:
                # The head went with the first bytes: PEP 3333 says re-raise.
                self.start_response("500 Internal Server Error", [], sys.exc_info())

        def close(self) -> None:
            closed.append(1)

    def legacy(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        write = start_response("201 Created", [("X-One", "1")])
        write(b"hello ")
        return [b"world"]

    with wirekit.Client(transport=WSGITransport(legacy)) as client:
        response = client.get("http://testserver/")
        assert (response.status_code, response.text) == (201, "hello world")
    with wirekit.Client(transport=WSGITransport(lambda e, s: Late(s))) as client:
        with pytest.raises(KeyError):
            client.get("http://testserver/")
    assert closed == [1]


def test_wsgi_head_closes_the_iterable_once() -> None:
    closed: list[int] = []

    class Body:
        def __iter__(self) -> Any:
            yield b"hello"
            raise AssertionError("a HEAD body is not read past its head")

        def close(self) -> None:
            closed.append(1)

    def app(environ: dict[str, Any], start_response: Any) -> Body:
        start_response("200 OK", [("Content-Length", "5")])
        return Body()

    with wirekit.Client(transport=WSGITransport(app)) as client:
        assert client.head("http://testserver/").content == b""
    assert closed == [1]


# --------------------------------------------------------------------------------------
# A bodyless POST, PUT or PATCH carries Content-Length: 0 in process as over the network
# --------------------------------------------------------------------------------------
def _wsgi_length_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [repr(environ.get("CONTENT_LENGTH")).encode()]


async def _asgi_length_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    lengths = [v for k, v in scope["headers"] if k == b"content-length"]
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": repr(lengths).encode()})


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "GET", "DELETE"])
def test_wsgi_bodyless_request_has_the_content_length_the_network_gives(method: str) -> None:
    with wirekit.Client(transport=WSGITransport(_wsgi_length_app)) as http:
        in_process = http.request(method, "http://testserver/").text
    with running(_wsgi_length_app) as server, wirekit.Client() as http:
        over_network = http.request(method, f"http://127.0.0.1:{server.port}/").text
    assert in_process == over_network
    assert in_process == ("'0'" if method in ("POST", "PUT", "PATCH") else "None")


@pytest.mark.anyio
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "GET", "DELETE"])
async def test_asgi_bodyless_request_has_the_content_length_the_network_gives(
    method: str,
) -> None:
    async with wirekit.AsyncClient(transport=ASGITransport(_asgi_length_app)) as http:
        in_process = (await http.request(method, "http://testserver/")).text
    with running(_asgi_length_app) as server:
        async with wirekit.AsyncClient() as http:
            url = f"http://127.0.0.1:{server.port}/"
            over_network = (await http.request(method, url)).text
    assert in_process == over_network
    assert in_process == ("[b'0']" if method in ("POST", "PUT", "PATCH") else "[]")
