"""--proxy-headers and --forwarded-allow-ips end to end: edge cases found by review.

Each test failed before its fix.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from typing import Any

import pytest

from tests.server.support import WAIT, read_until_closed, running


async def echo_scope(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = json.dumps(
        {"client": scope["client"], "scheme": scope["scheme"]},
    ).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def echo_environ(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    keys = ("REMOTE_ADDR", "wsgi.url_scheme", "HTTP_HOST")
    body = json.dumps({key: environ.get(key) for key in keys}).encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


def _body(response: bytes) -> dict[str, Any]:
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), response
    return json.loads(body)


def _exchange(sock: socket.socket, request: bytes) -> bytes:
    sock.sendall(request)
    return read_until_closed(sock)


def _access_lines(capsys: pytest.CaptureFixture[str], target: str) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if f'"GET {target} ' in line]


# -- 1. trust: an IPv4-mapped entry in --forwarded-allow-ips ------------------------------------
@pytest.mark.skipif(not socket.has_ipv6, reason="needs IPv6 for a dual-stack socket")
def test_ipv4_mapped_allow_ip_trusts_the_dual_stack_peer_it_names() -> None:
    # On the documented dual-stack bind (--host ::) an IPv4 proxy is seen, logged and put in
    # scope["client"] as "::ffff:127.0.0.1". Listing exactly that address in
    # --forwarded-allow-ips trusted nothing: is_trusted() turned the peer into 127.0.0.1 but
    # compared it with the network ::ffff:127.0.0.1/128, which never matches an IPv4 address,
    # so X-Forwarded-For was silently ignored.
    with running(
        echo_scope, host="::", proxy_headers=True, forwarded_allow_ips=("::ffff:127.0.0.1",)
    ) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
            response = _exchange(
                sock,
                b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 198.51.100.7\r\n"
                b"X-Forwarded-Proto: https\r\nConnection: close\r\n\r\n",
            )
    seen = _body(response)
    assert seen["client"][0] == "198.51.100.7", seen
    assert seen["scheme"] == "https", seen


# -- 3. X-Forwarded-Proto: wss on a request answered as plain HTTP -------------------------------
def test_wsgi_upgrade_request_forwarded_as_wss_gets_an_http_url_scheme() -> None:
    # Traefik sets "X-Forwarded-Proto: wss" (or "ws") on every WebSocket upgrade request. A
    # WSGI app answers such a request as plain HTTP, yet wsgi.url_scheme becomes "wss", so
    # every URL the app builds (redirects, url_for(_external=True)) starts with wss://.
    # PEP 3333 url_scheme is http or https: wss means https here.
    with running(echo_environ, proxy_headers=True) as server:
        with server.connect() as sock:
            response = _exchange(
                sock,
                b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                b"Sec-WebSocket-Version: 13\r\nX-Forwarded-For: 198.51.100.7\r\n"
                b"X-Forwarded-Proto: wss\r\n\r\n",
            )
    seen = _body(response)
    assert seen["REMOTE_ADDR"] == "198.51.100.7", seen
    assert seen["wsgi.url_scheme"] == "https", seen


@pytest.mark.parametrize("proto", ["wss", "ws"])
def test_http_scope_scheme_is_never_a_websocket_scheme(proto: str) -> None:
    # ASGI http scope: scheme is http or https. _apply_forwarded maps http->ws for websocket
    # scopes but passes ws/wss straight into an http scope (Starlette's request.url then
    # reads "wss://h/").
    with running(echo_scope, proxy_headers=True) as server:
        with server.connect() as sock:
            response = _exchange(
                sock,
                b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 198.51.100.7\r\n"
                b"X-Forwarded-Proto: " + proto.encode() + b"\r\nConnection: close\r\n\r\n",
            )
    seen = _body(response)
    assert seen["scheme"] in ("http", "https"), seen


# -- 2. RFC 7239: empty forwarded-pair --------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [b"for=198.51.100.7;proto=https;", b"for=198.51.100.7;;proto=https"],
    ids=["trailing-semicolon", "double-semicolon"],
)
def test_forwarded_element_with_an_empty_pair_is_read(value: bytes) -> None:
    # RFC 7239 §4: forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] ), so an
    # empty pair is valid. _split_elements() treated it as garbage and dropped the whole
    # element: the app saw the proxy's address and http.
    with running(echo_scope, proxy_headers=True, forwarded_headers="forwarded") as server:
        with server.connect() as sock:
            response = _exchange(
                sock,
                b"GET / HTTP/1.1\r\nHost: h\r\nForwarded: " + value + b"\r\n"
                b"Connection: close\r\n\r\n",
            )
    seen = _body(response)
    assert seen["client"][0] == "198.51.100.7", seen
    assert seen["scheme"] == "https", seen


# -- access log: answers the server gives itself ------------------------------------------------
def test_health_path_access_log_names_the_forwarded_client(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # docs/server.md: the access log names "the client (the one a trusted proxy named, with
    # --proxy-headers)". --health-path is answered in start_request(), before _start_cycle()
    # reads the proxy headers: it was logged with the proxy's address.
    with running(
        echo_scope, proxy_headers=True, access_log="common", health_path="/healthz"
    ) as server:
        with server.connect() as sock:
            response = _exchange(
                sock,
                b"GET /healthz HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 203.0.113.9\r\n"
                b"Connection: close\r\n\r\n",
            )
        assert response.startswith(b"HTTP/1.1 200"), response
        time.sleep(0.2)  # the line is written as the answer completes
    lines = _access_lines(capsys, "/healthz")
    assert lines, "no access log line written"
    assert lines[-1].startswith("203.0.113.9 "), lines[-1]


def test_overload_503_access_log_names_the_forwarded_client(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Same for the max_pending_requests 503: the clients turned away under load are exactly
    # the ones an operator wants to see, and behind a proxy they all show as 127.0.0.1.
    release = threading.Event()

    async def slow(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        for _ in range(200):
            if release.is_set():
                break
            await asyncio.sleep(0.05)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"x"})

    with running(slow, proxy_headers=True, access_log="common", max_pending_requests=1) as server:
        busy = server.connect()
        try:
            busy.sendall(
                b"GET /slow HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 203.0.113.1\r\n"
                b"Connection: close\r\n\r\n"
            )
            time.sleep(0.3)
            with server.connect() as sock:
                response = _exchange(
                    sock,
                    b"GET /turned-away HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 203.0.113.9\r\n"
                    b"Connection: close\r\n\r\n",
                )
            assert response.startswith(b"HTTP/1.1 503"), response
        finally:
            release.set()
            read_until_closed(busy)
            busy.close()
        time.sleep(0.2)
    lines = _access_lines(capsys, "/turned-away")
    assert lines, "no access log line written"
    assert lines[-1].startswith("203.0.113.9 "), lines[-1]
