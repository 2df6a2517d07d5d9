"""Retry, Digest and per-request cookie edges found by fuzzing flows against requests: each
test failed before its fix."""

from __future__ import annotations

import http.server
import re

import pytest

import wirekit
from tests.support.stdlib_server import serving


def _busy_handler(chunked: bool) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            # The server asks to come back in 30 s: more than the client's deadline allows.
            self.send_response(503)
            self.send_header("Retry-After", "30")
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.write(b"4\r\nbusy\r\n0\r\n\r\n")
            else:
                self.send_header("Content-Length", "4")
                self.end_headers()
                self.wfile.write(b"busy")

    return Handler


def test_503_whose_retry_the_deadline_refuses_keeps_its_chunked_body_sync() -> None:
    # The retry is refused (30 s > the 3 s deadline), so the 503 is the answer; the driver
    # had already discarded (closed unread) that response before asking about the sleep.
    with serving(_busy_handler(chunked=True)) as port:
        with wirekit.Client(trust_env=False, timeout=3.0) as client:
            response = client.get(f"http://127.0.0.1:{port}/")
    assert response.status_code == 503
    assert response.text == "busy"


def test_503_whose_retry_the_deadline_refuses_keeps_its_body_streamed_sync() -> None:
    with serving(_busy_handler(chunked=True)) as port:
        with wirekit.Client(trust_env=False, timeout=3.0) as client:
            with client.stream("GET", f"http://127.0.0.1:{port}/") as response:
                assert response.status_code == 503
                assert response.read() == b"busy"


@pytest.mark.anyio
async def test_503_whose_retry_the_deadline_refuses_keeps_its_chunked_body_async() -> None:
    with serving(_busy_handler(chunked=True)) as port:
        async with wirekit.AsyncClient(trust_env=False, timeout=3.0) as client:
            response = await client.get(f"http://127.0.0.1:{port}/")
    assert response.status_code == 503
    assert response.text == "busy"


def _digest_then_busy(seen: list[str | None]) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            authorization = self.headers.get("Authorization")
            found = authorization and re.search(r"\bnc=([0-9a-fA-F]+)", authorization)
            seen.append(found.group(1) if found else None)
            if not authorization:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Digest realm="r", nonce="n1", qop="auth"')
            elif len(seen) == 2:
                self.send_response(503)  # busy once; Retry-After 0: the client retries
                self.send_header("Retry-After", "0")
            else:
                self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


def test_digest_retry_does_not_replay_the_nonce_count_sync() -> None:
    # RFC 7616 §3.4 (and auth.py's own promise): a nonce count is never sent twice for one
    # nonce, servers refuse a repeated nc as a replay. The 503 retry resends the very same
    # Authorization header.
    seen: list[str | None] = []
    with serving(_digest_then_busy(seen)) as port:
        with wirekit.Client(trust_env=False, timeout=5.0) as client:
            response = client.get(f"http://127.0.0.1:{port}/", auth=wirekit.DigestAuth("u", "p"))
    assert response.status_code == 200
    assert seen[0] is None
    assert len(seen) == 3
    assert seen[1] != seen[2], f"nonce count replayed on the retry: {seen}"


@pytest.mark.anyio
async def test_digest_retry_does_not_replay_the_nonce_count_async() -> None:
    seen: list[str | None] = []
    with serving(_digest_then_busy(seen)) as port:
        async with wirekit.AsyncClient(trust_env=False, timeout=5.0) as client:
            response = await client.get(
                f"http://127.0.0.1:{port}/", auth=wirekit.DigestAuth("u", "p")
            )
    assert response.status_code == 200
    assert seen[1] != seen[2], f"nonce count replayed on the retry: {seen}"


def _rotating_login(seen: list[tuple[str, str | None]]) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            seen.append((self.path, self.headers.get("Cookie")))
            if self.path == "/login":
                # Session rotation: the server replaces the very cookie the client sent
                # (same name, host and path "/"), as frameworks do at login.
                self.send_response(302)
                self.send_header("Location", "/home")
                self.send_header("Set-Cookie", "session=new; Path=/")
            elif self.path == "/logout":
                self.send_response(302)
                self.send_header("Location", "/home")
                self.send_header("Set-Cookie", "session=; Path=/; Max-Age=0")
            else:
                self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


def test_set_cookie_on_redirect_replaces_a_per_request_cookie_of_the_same_name() -> None:
    # RFC 6265 §5.3 step 11: a Set-Cookie with the same name, domain and path replaces the
    # stored cookie. The per-request cookie (host-only, path "/") kept overriding the
    # server's new value on the next hop, so a rotated session was sent stale.
    seen: list[tuple[str, str | None]] = []
    with serving(_rotating_login(seen)) as port:
        with wirekit.Client(trust_env=False, timeout=5.0, retry=0) as client:
            client.get(f"http://127.0.0.1:{port}/login", cookies={"session": "old"})
    assert seen[0] == ("/login", "session=old")
    assert seen[1] == ("/home", "session=new")


def test_set_cookie_deleting_a_per_request_cookie_on_redirect_is_honoured() -> None:
    seen: list[tuple[str, str | None]] = []
    with serving(_rotating_login(seen)) as port:
        with wirekit.Client(trust_env=False, timeout=5.0, retry=0) as client:
            client.get(f"http://127.0.0.1:{port}/logout", cookies={"session": "old"})
    assert seen[1] == ("/home", None), "a cookie the server deleted was sent on"


@pytest.mark.anyio
async def test_set_cookie_on_redirect_replaces_a_per_request_cookie_async() -> None:
    seen: list[tuple[str, str | None]] = []
    with serving(_rotating_login(seen)) as port:
        async with wirekit.AsyncClient(trust_env=False, timeout=5.0, retry=0) as client:
            await client.get(f"http://127.0.0.1:{port}/login", cookies={"session": "old"})
    assert seen[1] == ("/home", "session=new")
