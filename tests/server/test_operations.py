"""Operations-side bugs found in review: access log, static files, TLS handshake limits.

Each test failed before the fix of the bug it names.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.server.support import WAIT, read_until_closed, running
from tests.support.certs import Certs
from wirekit.server.static import StaticFiles


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello, world\n"})  # 13 bytes


def _exchange(server: Any, request: bytes) -> bytes:
    with server.connect() as sock:
        sock.sendall(request)
        return read_until_closed(sock)


def _access_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if '"GET ' in line]


# -- access log ------------------------------------------------------------------------------
def test_common_access_log_request_line_has_one_http_prefix(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # protocol.py passes version="HTTP/1.1" and format_common adds "HTTP/" again.
    with running(hello, access_log="common") as server:
        server.get("/page")
    lines = _access_lines(capsys)
    assert lines, "no access log line written"
    assert '"GET /page HTTP/1.1"' in lines[-1], lines[-1]


def test_access_log_shows_the_client_a_trusted_proxy_named(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # With --proxy-headers the app sees 203.0.113.9, but the log shows the proxy's address
    # (and "-" for every line in the documented --uds deployment).
    with running(hello, access_log="combined", proxy_headers=True) as server:
        server.get("/", headers={"X-Forwarded-For": "203.0.113.9"})
    lines = _access_lines(capsys)
    assert lines, "no access log line written"
    assert lines[-1].startswith("203.0.113.9 "), lines[-1]


def test_common_access_log_size_is_the_body_size(capsys: pytest.CaptureFixture[str]) -> None:
    # Apache CLF %b: response size excluding headers ("-" for none). The head is counted too.
    with running(hello, access_log="common") as server:
        server.get("/")
    lines = _access_lines(capsys)
    assert lines, "no access log line written"
    assert lines[-1].endswith(" 200 13"), lines[-1]


# -- static files ----------------------------------------------------------------------------
def test_listing_survives_a_non_utf8_file_name(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_bytes(b"x")
    with open(os.fsencode(tmp_path) + b"/bad\xff.txt", "wb") as file:
        file.write(b"x")
    with running(StaticFiles(tmp_path)) as server:
        status, _, body = server.get("/")
    assert status == 200, body
    assert b"good.txt" in body


def test_static_mount_root_without_slash_redirects(tmp_path: Path) -> None:
    # GET /static returned the listing of the root directly, so its relative links
    # ("a.txt") resolve to /a.txt, outside the mount.
    (tmp_path / "a.txt").write_bytes(b"x")
    with running(hello, static_dir=str(tmp_path)) as server:
        status, headers, _ = server.get("/static")
    assert status == 301
    assert headers["location"] == "/static/"


def test_directory_redirect_is_not_protocol_relative(tmp_path: Path) -> None:
    # "//evil.example" (a directory) redirected to "//evil.example/": another host.
    (tmp_path / "evil.example").mkdir()
    with running(StaticFiles(tmp_path)) as server:
        data = _exchange(
            server, b"GET //evil.example HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
    head = data.partition(b"\r\n\r\n")[0].lower()
    assert b"\r\nlocation: //" not in head, head


# -- TLS -------------------------------------------------------------------------------------
def test_tls_handshake_is_bounded_by_header_timeout(certs: Certs) -> None:
    # A client that connects to the TLS port and never sends a ClientHello is kept for
    # asyncio's default 60 s handshake timeout, outside max_connections and header_timeout.
    with running(
        hello,
        ssl_certfile=str(certs.server_cert_file),
        ssl_keyfile=str(certs.server_key_file),
        header_timeout=1.0,
        idle_timeout=1.0,
    ) as server:
        # The server works over TLS.
        context = certs.client_context()
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as raw:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                assert tls.recv(100).startswith(b"HTTP/1.1 200")
        with server.connect() as silent:
            silent.settimeout(WAIT)
            started = time.monotonic()
            try:
                data = silent.recv(100)
            except ConnectionResetError:
                data = b""
            except TimeoutError:
                pytest.fail(f"silent TLS connection still open after {WAIT}s (header_timeout=1)")
            assert data == b""
            assert time.monotonic() - started < WAIT


def test_proxy_protocol_header_before_tls_handshake(certs: Certs) -> None:
    # An L4 balancer (HAProxy send-proxy, AWS NLB) in TLS passthrough sends the PROXY header
    # in clear, then the client's TLS bytes. The server starts TLS on the first byte, so
    # every such connection fails the handshake. (Refusing the combination at startup with
    # a ValueError would also settle it.)
    with contextlib.ExitStack() as stack:
        refused: str | None = None
        try:
            server = stack.enter_context(
                running(
                    hello_client,
                    proxy_protocol=True,
                    ssl_certfile=str(certs.server_cert_file),
                    ssl_keyfile=str(certs.server_key_file),
                )
            )
        except ValueError as exc:
            refused = str(exc)
        if refused is not None:
            assert "proxy" in refused.lower(), refused
            return
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as raw:
            raw.sendall(b"PROXY TCP4 198.51.100.7 127.0.0.1 4242 443\r\n")
            with certs.client_context().wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                data = b""
                for _ in range(100):
                    chunk = tls.recv(4096)
                    if not chunk:
                        break
                    data += chunk
    assert data.startswith(b"HTTP/1.1 200"), data
    assert data.endswith(b"198.51.100.7"), data


async def hello_client(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": scope["client"][0].encode()})


async def slow_stream(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    for _ in range(100):
        await send({"type": "http.response.body", "body": b"x" * 10, "more_body": True})
        await asyncio.sleep(0.02)
    await send({"type": "http.response.body", "body": b""})


def test_access_log_has_a_line_for_a_download_the_client_abandoned(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # "one line per request", but a line is written only when the response completes:
    # aborted downloads (and apps that fail mid-body) leave no trace in the access log.
    with running(slow_stream, access_log="common") as server:
        with server.connect() as sock:
            sock.sendall(b"GET /abandoned HTTP/1.1\r\nHost: x\r\n\r\n")
            sock.settimeout(WAIT)
            assert sock.recv(100).startswith(b"HTTP/1.1 200")
        time.sleep(0.5)  # the server notices the closed connection on its next write
    lines = _access_lines(capsys)
    assert any("/abandoned" in line for line in lines), lines


async def slow_answer(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await asyncio.sleep(2.0)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"late\n"})


def test_access_log_time_is_when_the_request_started(capsys: pytest.CaptureFixture[str]) -> None:
    # AccessLogRecord documents ``time`` as "when it started"; the record is built when the
    # response completes and the field defaults to datetime.now() then.
    with running(slow_answer, access_log="json") as server:
        started = datetime.now(UTC)
        server.get("/slow")
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert lines, "no access log line written"
    logged = datetime.fromisoformat(json.loads(lines[-1])["time"])
    assert abs((logged - started).total_seconds()) < 1.0, (logged, started)
