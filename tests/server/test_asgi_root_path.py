"""ASGI ``path`` must include ``root_path`` (ASGI www spec, "WSGI compatibility": PATH_INFO
"can be derived by stripping root_path from path").

``--root-path`` is for a proxy that strips the prefix: the request arrives as ``/items`` and
the app is mounted at ``/api``. wirekit hands the app ``path="/items"``, so frameworks that
follow the spec (Starlette, FastAPI) build URLs without the prefix: ``request.url`` is wrong
and the trailing-slash redirect sends the browser to ``/items/``, outside the mount.
(The WSGI side gets it right: SCRIPT_NAME=/api, PATH_INFO=/items.)
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.support import read_for, running, split_response


def _get(app: Any, target: bytes, **options: Any) -> tuple[int, dict[str, str], bytes]:
    with running(app, shutdown_timeout=1.0, **options) as server, server.connect() as sock:
        sock.sendall(b"GET %s HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n" % target)
        data, _ = read_for(sock, 3.0)
    return split_response(data)


async def _scope_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = f"{scope['root_path']}|{scope['path']}|{scope['raw_path'].decode()}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def test_scope_path_includes_root_path() -> None:
    status, _, body = _get(_scope_app, b"/items", root_path="/api")
    assert status == 200
    root_path, path, raw_path = body.decode().split("|")
    assert root_path == "/api"
    assert path == "/api/items"
    assert raw_path == "/api/items"


def test_starlette_redirect_keeps_the_root_path() -> None:
    pytest.importorskip("starlette")
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def items(request: Any) -> PlainTextResponse:
        return PlainTextResponse(str(request.url))

    app = Starlette(routes=[Route("/items/", items)])
    status, headers, _ = _get(app, b"/items", root_path="/api")
    assert status == 307
    assert headers["location"] == "http://example.com/api/items/"
    status, _, body = _get(app, b"/items/", root_path="/api")
    assert status == 200
    assert body == b"http://example.com/api/items/"


@pytest.mark.parametrize("root_path", ["", "/api"])
def test_static_files_under_a_prefix_and_a_root_path(tmp_path: Any, root_path: str) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "note.txt").write_bytes(b"note")

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise AssertionError("the static mount answers these")

    options = {"static_dir": str(tmp_path), "static_path": "/static", "root_path": root_path}
    status, _, body = _get(app, b"/static/sub/note.txt", **options)
    assert (status, body) == (200, b"note")
    status, headers, _ = _get(app, b"/static/sub", **options)
    assert status == 301
    assert headers["location"] == root_path + "/static/sub/"
