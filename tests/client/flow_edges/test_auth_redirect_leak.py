"""Headers that an ``auth=`` flow adds are credentials for the origin they were given for:
they must not follow a cross-origin redirect (docs/client.md: "Credentials are only sent to
the origin they were given for")."""

from __future__ import annotations

import http.server

import pytest

import wirekit
from tests.support.stdlib_server import serving
from wirekit.client.auth import Auth


def _handler(seen: list[tuple[int, str, str | None]]) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            seen.append((self.server.server_address[1], self.path, self.headers.get("X-Api-Key")))
            if self.path.startswith("/redir?to="):
                self.send_response(302)
                self.send_header("Location", self.path.split("=", 1)[1])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    return Handler


class ApiKeyAuth(Auth):
    def auth_flow(self, request):  # type: ignore[no-untyped-def]
        request.headers["X-Api-Key"] = "s3cret"
        yield request


def _add_key(request: wirekit.Request) -> wirekit.Request:
    request.headers["X-Api-Key"] = "s3cret"
    return request


@pytest.mark.parametrize("auth", [ApiKeyAuth(), _add_key], ids=["auth-subclass", "function"])
def test_auth_added_header_not_sent_cross_origin_sync(auth: object) -> None:
    seen: list[tuple[int, str, str | None]] = []
    handler = _handler(seen)
    with serving(handler) as first, serving(handler) as other:
        with wirekit.Client(trust_env=False, timeout=5.0) as client:
            response = client.get(
                f"http://127.0.0.1:{first}/redir?to=http://127.0.0.1:{other}/", auth=auth
            )
    assert response.status_code == 200
    assert seen[0] == (first, f"/redir?to=http://127.0.0.1:{other}/", "s3cret")
    assert seen[1][0] == other
    assert seen[1][2] is None, "the auth's credential header went to another origin"


@pytest.mark.anyio
async def test_auth_added_header_not_sent_cross_origin_async() -> None:
    seen: list[tuple[int, str, str | None]] = []
    handler = _handler(seen)
    with serving(handler) as first, serving(handler) as other:
        async with wirekit.AsyncClient(trust_env=False, timeout=5.0, auth=ApiKeyAuth()) as client:
            response = await client.get(
                f"http://127.0.0.1:{first}/redir?to=http://127.0.0.1:{other}/"
            )
    assert response.status_code == 200
    assert seen[1][0] == other
    assert seen[1][2] is None, "the auth's credential header went to another origin"
