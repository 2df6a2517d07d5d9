"""HEAD answered with the GET's Content-Length and no body (RFC 9110 §9.3.2, §8.6).

An app may answer HEAD with the Content-Length a GET would get and an empty body: Starlette's
FileResponse (so FastAPI/Starlette StaticFiles) does exactly that. The protocol layer checks
the declared length against the (empty) body even for HEAD and the server answers 500.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.server.support import read_for, running, split_response


async def _asgi_head(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b"" if scope["method"] == "HEAD" else b"hello"
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"5"), (b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _wsgi_head(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Length", "5"), ("Content-Type", "text/plain")])
    return [] if environ["REQUEST_METHOD"] == "HEAD" else [b"hello"]


def _head(app: Any) -> tuple[int, dict[str, str], bytes]:
    with running(app, shutdown_timeout=1.0) as server, server.connect() as sock:
        sock.sendall(b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data, _ = read_for(sock, 3.0)
    return split_response(data)


@pytest.mark.parametrize(
    "app", [pytest.param(_asgi_head, id="asgi"), pytest.param(_wsgi_head, id="wsgi")]
)
def test_head_with_content_length_and_empty_body(app: Any) -> None:
    status, headers, body = _head(app)
    assert status == 200
    assert headers["content-length"] == "5"
    assert body == b""


def test_head_on_starlette_file_response(tmp_path: Path) -> None:
    pytest.importorskip("starlette")
    from starlette.applications import Starlette
    from starlette.responses import FileResponse
    from starlette.routing import Route

    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello world")

    async def endpoint(request: Any) -> FileResponse:
        return FileResponse(path)

    app = Starlette(routes=[Route("/", endpoint, methods=["GET", "HEAD"])])
    status, headers, body = _head(app)
    assert status == 200
    assert headers["content-length"] == "11"
    assert body == b""
