"""The ASGI scope and WSGI environ for odd targets and root paths: edge cases found by a
differential review against uvicorn, gunicorn and waitress (each failed before its fix).

Each test sends raw request bytes to a wirekit ``Server`` and checks what the app saw.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.server.support import read_for, running, split_response


async def _asgi_view(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    data = json.dumps(
        {
            "path": scope["path"],
            "raw_path": scope["raw_path"].decode("latin-1"),
            "query_string": scope["query_string"].decode("latin-1"),
            "root_path": scope["root_path"],
        }
    ).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": data})


def _wsgi_view(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    data = json.dumps(
        {
            "SCRIPT_NAME": environ["SCRIPT_NAME"],
            "PATH_INFO": environ["PATH_INFO"],
            "QUERY_STRING": environ["QUERY_STRING"],
        }
    ).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [data]


def _exchange(app: Any, target: bytes, **options: Any) -> tuple[int, bytes]:
    with running(app, shutdown_timeout=1.0, **options) as server, server.connect() as sock:
        sock.sendall(b"GET %s HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n" % target)
        data, _ = read_for(sock, 3.0)
    status, _, body = split_response(data)
    return status, body


# --- 1. A fragment in the request target reaches the app as part of the path / query ------
#
# RFC 9112 §3.2: request-target = origin-form / absolute-form / ..., and neither form has a
# fragment ("#" is not allowed). A server either rejects such a target (400) or drops the
# fragment (uvicorn, gunicorn and waitress all drop it; so does wirekit now). It kept it:
# `/p#frag` was routed as "/p#frag" (a 404 in every router) and `?x=1#frag` gave x="1#frag".


@pytest.mark.parametrize(
    ("target", "path", "query"),
    [
        (b"/p#frag", "/p", ""),
        (b"/p?x=1#frag", "/p", "x=1"),
        (b"http://example.com/p#frag", "/p", ""),
    ],
)
def test_asgi_fragment_is_not_part_of_path_or_query(target: bytes, path: str, query: str) -> None:
    status, body = _exchange(_asgi_view, target)
    assert status == 200, body
    seen = json.loads(body)
    assert (seen["path"], seen["raw_path"], seen["query_string"]) == (path, path, query)


@pytest.mark.parametrize(
    ("target", "path", "query"),
    [
        (b"/p#frag", "/p", ""),
        (b"/p?x=1#frag", "/p", "x=1"),
        (b"http://example.com/p#frag", "/p", ""),
    ],
)
def test_wsgi_fragment_is_not_part_of_path_info_or_query(
    target: bytes, path: str, query: str
) -> None:
    status, body = _exchange(_wsgi_view, target)
    assert status == 200, body
    seen = json.loads(body)
    assert (seen["PATH_INFO"], seen["QUERY_STRING"]) == (path, query)


# --- 2. A root_path that is not latin-1 makes every ASGI request a 500 ---------------------
#
# root_path="/日本" was accepted, then build_scope did root_path.encode("latin-1") for
# every request: UnicodeEncodeError, 500 for all requests, "/x" included.


def test_asgi_non_latin1_root_path_does_not_fail_every_request() -> None:
    status, body = _exchange(_asgi_view, b"/x", root_path="/日本")
    assert status == 200, body
    seen = json.loads(body)
    assert seen["root_path"] == "/日本"
    assert seen["path"] == "/日本/x"


# --- 3. A root_path with a trailing slash doubles the prefix -------------------------------
#
# `--root-path /api/` (a common spelling): a request for /api/items from a proxy that keeps
# the prefix gave ASGI path "/api//api/items" and WSGI SCRIPT_NAME "/api/" + PATH_INFO
# "/api/items", so the app routed "/api/items" instead of "/items".


def test_asgi_root_path_with_trailing_slash_is_not_doubled() -> None:
    status, body = _exchange(_asgi_view, b"/api/items", root_path="/api/")
    assert status == 200, body
    seen = json.loads(body)
    assert seen["path"] == "/api/items", seen


def test_wsgi_root_path_with_trailing_slash_strips_the_prefix() -> None:
    status, body = _exchange(_wsgi_view, b"/api/items", root_path="/api/")
    assert status == 200, body
    seen = json.loads(body)
    assert seen["SCRIPT_NAME"] + seen["PATH_INFO"] == "/api/items", seen
    assert seen["PATH_INFO"] == "/items", seen
