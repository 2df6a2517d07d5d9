"""Real frameworks served unmodified: Flask, Starlette, httpbin and Django."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.server.support import WAIT, running


def test_flask_app() -> None:
    import flask

    app = flask.Flask("wirekit_test")

    @app.post("/items/<name>")
    def create(name: str) -> Any:
        return {"name": name, "body": flask.request.get_json()}, 201

    @app.get("/stream")
    def stream() -> Any:
        return flask.Response((f"{n}," for n in range(3)), mimetype="text/plain")

    with running(app) as server:
        status, headers, body = server.get(
            "/items/x%20y",
            method="POST",
            body=b'{"a": 1}',
            headers={"Content-Type": "application/json"},
        )
        assert status == 201
        assert headers["content-type"] == "application/json"
        assert json.loads(body) == {"name": "x y", "body": {"a": 1}}
        assert server.get("/stream")[2] == b"0,1,2,"
        assert server.get("/missing")[0] == 404


def test_starlette_app() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket

    started: list[str] = []

    async def echo(request: Request) -> JSONResponse:
        return JSONResponse(
            {"got": (await request.body()).decode(), "q": request.query_params["q"]}
        )

    async def stream(request: Request) -> StreamingResponse:
        async def parts() -> Any:
            for n in range(3):
                yield f"{n};"

        return StreamingResponse(parts(), media_type="text/plain")

    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("hello " + await websocket.receive_text())
        await websocket.close()

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: Any) -> Any:
        started.append("up")
        yield
        started.append("down")

    app = Starlette(
        routes=[
            Route("/echo", echo, methods=["POST"]),
            Route("/stream", stream),
            WebSocketRoute("/ws", ws),
        ],
        lifespan=lifespan,
    )
    with running(app) as server:
        status, _, body = server.get("/echo?q=1", method="POST", body=b"payload")
        assert status == 200
        assert json.loads(body) == {"got": "payload", "q": "1"}
        assert server.get("/stream")[2] == b"0;1;2;"
        from wsproto.events import AcceptConnection, TextMessage

        from tests.server.test_lifecycle import _ws_connect, _ws_next

        sock, ws_client, events = _ws_connect(server)
        with sock:
            assert isinstance(events[0], AcceptConnection)
            sock.sendall(ws_client.send(TextMessage(data="there")))
            reply = _ws_next(sock, ws_client)
            assert isinstance(reply, TextMessage)
            assert reply.data == "hello there"
    assert started == ["up", "down"]


def test_httpbin_under_our_server() -> None:
    logging.getLogger("httpbin").setLevel(logging.ERROR)
    import httpbin

    with running(httpbin.app) as server:
        url = f"http://127.0.0.1:{server.port}"
        result = subprocess.run(
            [
                "curl",
                "-sS",
                "--max-time",
                str(WAIT),
                "-H",
                "X-Test: yes",
                "-d",
                "a=1&b=2",
                f"{url}/post",
            ],
            capture_output=True,
            check=True,
            timeout=WAIT * 2,
        )
        data = json.loads(result.stdout)
        assert data["form"] == {"a": "1", "b": "2"}
        assert data["headers"]["X-Test"] == "yes"
        status, _, body = server.get("/status/418")
        assert status == 418
        status, _, body = server.get("/stream/3")
        assert status == 200
        assert len(body.splitlines()) == 3
        status, headers, body = server.get("/gzip")
        assert headers["content-encoding"] == "gzip"
        status, _, body = server.get("/bytes/100000?seed=1")
        assert len(body) == 100000
        status, headers, _ = server.get("/redirect/2")
        assert status == 302


def test_django_project(tmp_path: Path) -> None:
    (tmp_path / "djangosite.py").write_text(
        "from django.conf import settings\n"
        "from django.http import HttpResponse, JsonResponse\n"
        "from django.urls import path\n"
        "settings.configure(DEBUG=False, SECRET_KEY='test', ROOT_URLCONF=__name__,\n"
        "                   ALLOWED_HOSTS=['127.0.0.1'], MIDDLEWARE=[])\n"
        "def hello(request):\n"
        "    return JsonResponse({'method': request.method, 'q': request.GET.get('q'),\n"
        "                         'body': request.body.decode()})\n"
        "urlpatterns = [path('hello/', hello)]\n"
        "from django.core.wsgi import get_wsgi_application\n"
        "application = get_wsgi_application()\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        import djangosite  # type: ignore[import-not-found]

        with running(djangosite.application) as server:
            status, _, body = server.get("/hello/?q=3", method="PUT", body=b"data")
            assert status == 200
            assert json.loads(body) == {"method": "PUT", "q": "3", "body": "data"}
            assert server.get("/nothing/")[0] == 404
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("djangosite", None)


def test_static_directory_next_to_a_wsgi_app(tmp_path: Path) -> None:
    from tests.server import apps

    (tmp_path / "style.css").write_text("body { color: red }\n")
    with running(apps.wsgi_hello, static_dir=str(tmp_path)) as server:
        status, headers, body = server.get("/static/style.css")
        assert status == 200
        assert body == b"body { color: red }\n"
        assert headers["content-type"].startswith("text/css")
        assert server.get("/")[2] == b"hello from wsgi"
        assert server.get("/static/missing.css")[0] == 404
