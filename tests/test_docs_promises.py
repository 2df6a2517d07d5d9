"""What README.md and docs/ promise, checked against the code on 127.0.0.1 (review)."""

from __future__ import annotations

import re
import shlex
import socket
import ssl
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tests.server.process_support import ServeProcess, get
from tests.server.support import WAIT, running
from tests.support.certs import Certs
from wirekit import Cookies
from wirekit._models.headers import Headers
from wirekit.server import Server

ROOT = Path(__file__).resolve().parent.parent


def _hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"hi"]


# -- README: "wirekit serve --static ./public --port 8080   # a static file server" -------
def _readme_static_command() -> list[str]:
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.strip().startswith("wirekit serve --static"):
            return shlex.split(line.partition("#")[0])
    raise AssertionError("README.md no longer shows `wirekit serve --static ...`")


def test_readme_static_file_server_command_serves_a_directory(tmp_path: Path) -> None:
    public = tmp_path / "public"
    public.mkdir()
    (public / "hello.txt").write_text("hello static\n")
    words = _readme_static_command()
    assert words[:2] == ["wirekit", "serve"]
    arguments = []
    for word in words[2:]:
        arguments.append(str(public) if word == "./public" else word)
    # Same command, on a free loopback port.
    port_at = arguments.index("--port")
    arguments[port_at + 1] = "0"
    arguments += ["--host", "127.0.0.1"]

    process = ServeProcess.__new__(ServeProcess)
    process.log_path = tmp_path / "serve.log"
    process.command = [sys.executable, "-m", "wirekit.cli", "serve", *arguments]
    process._spawn(None, cwd=tmp_path)
    with process:
        port = process.wait_serving()  # fails now: exit 2, "arguments are required: MODULE:APP"
        statuses = {path: get(port, path) for path in ("/hello.txt", "/static/hello.txt")}
        assert any(
            status == 200 and body == b"hello static\n" for status, body in statuses.values()
        ), statuses


# -- README server table / docs/server.md "Graceful shutdown": idle keep-alive connections
# -- close at once; only requests in flight get up to shutdown_timeout. Also over TLS.
def test_tls_idle_keep_alive_connection_does_not_delay_graceful_shutdown(certs: Certs) -> None:
    server = Server(
        _hello,
        host="127.0.0.1",
        port=0,
        shutdown_timeout=8.0,
        ssl_certfile=str(certs.server_cert_file),
        ssl_keyfile=str(certs.server_key_file),
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert server.started.wait(WAIT)
    port = server.addresses[0][1]
    raw = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    client = certs.client_context().wrap_socket(raw, server_hostname="localhost")
    try:
        client.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        answer = b""
        while not answer.endswith(b"hi"):
            chunk = client.recv(65536)
            assert chunk, answer
            answer += chunk
        # The connection is now idle (keep-alive); the client keeps it open, as browsers do.
        started = time.monotonic()
        server.shutdown()
        thread.join(20)
        took = time.monotonic() - started
    finally:
        client.close()
    assert not thread.is_alive()
    # Plain HTTP stops in a few ms here; TLS waits the whole shutdown_timeout (8 s) now.
    assert took < 3.0, f"graceful shutdown took {took:.1f} s with one idle TLS connection"


def test_tls_connection_closed_for_idleness_frees_its_connection_slot(certs: Certs) -> None:
    # README: an idle connection "is closed" after 5 s (here 0.5 s), and connection number
    # max_connections + 1 gets 503. A TLS connection the server closed must not still count.
    with running(
        _hello,
        idle_timeout=0.5,
        max_connections=1,
        ssl_certfile=str(certs.server_cert_file),
        ssl_keyfile=str(certs.server_key_file),
    ) as server:
        context = certs.client_context()
        first = context.wrap_socket(
            socket.create_connection(("127.0.0.1", server.port), timeout=WAIT),
            server_hostname="localhost",
        )
        try:
            first.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert first.recv(65536).startswith(b"HTTP/1.1 200 ")
            assert first.recv(65536) == b""  # the server closed it for idleness
            # The server closed it; its slot must come free within a few sweeps (0.5 s
            # each), not after asyncio's 30 s wait for the client's TLS close_notify.
            answer = b""
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline:
                try:
                    second = context.wrap_socket(
                        socket.create_connection(("127.0.0.1", server.port), timeout=WAIT),
                        server_hostname="localhost",
                    )
                except (ssl.SSLError, ConnectionResetError):
                    # docs/server.md: over TLS a connection over the limit is closed
                    # before its handshake (no 503). Not yet free: try again.
                    time.sleep(0.25)
                    continue
                with second:
                    second.sendall(
                        b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                    )
                    answer = second.recv(65536)
                if answer.startswith(b"HTTP/1.1 200 "):
                    break
                time.sleep(0.25)
        finally:
            first.close()
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:80]


# -- docs/client.md: "saved with `client.cookies.save(path)` and loaded with
# -- `Cookies.load(path)`".
def test_client_doc_cookie_load_call_loads_saved_cookies(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "client.md").read_text()
    match = re.search(r"loaded with\s+`([^`]+)`", text)
    assert match, "docs/client.md no longer says how cookies are loaded"
    expression = match.group(1)

    jar = Cookies()
    # save() keeps only persistent cookies: this one has a Max-Age.
    jar.extract_cookies("https://example.com/", Headers([("Set-Cookie", "sid=abc; Max-Age=3600")]))
    path = tmp_path / "cookies.json"
    jar.save(path)

    fresh = Cookies()
    namespace = {"Cookies": Cookies, "path": path, "jar": fresh, "cookies": fresh}
    result = eval(expression, namespace)  # fails now: TypeError, load() is an instance method
    loaded = result if isinstance(result, Cookies) else fresh
    assert loaded.get("sid") == "abc"


# -- README server table: "request head deadline | 10 s | ... (400/close otherwise)";
# -- docs/server.md and the server say 408.
def test_readme_header_deadline_status_matches_the_server() -> None:
    row = next(
        line
        for line in (ROOT / "README.md").read_text().splitlines()
        if line.startswith("| request head deadline")
    )
    documented = re.search(r"\((\d{3})/close", row)
    assert documented, row
    with running(_hello, header_timeout=0.5) as server:
        with server.connect() as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # the head never ends
            answer = sock.recv(65536)
    assert answer.startswith(f"HTTP/1.1 {documented.group(1)} ".encode()), (row, answer[:40])


# -- docs/models.md: "Cookies(jar)   # a copy, keeping the clock and limits".
def test_copy_of_an_empty_jar_keeps_its_clock_and_limits() -> None:
    jar = Cookies(clock=lambda: 1000.0, max_cookie_size=16)
    copy = Cookies(jar)  # nothing stored yet: a configured jar, copied before use
    copy.extract_cookies(
        "https://a.test/",
        Headers(
            [
                ("Set-Cookie", "big=" + "v" * 40),  # over the 16-byte limit: dropped
                # In the future for the jar's clock (t=1000 s), long past for time.time().
                ("Set-Cookie", "s=1; Expires=Thu, 01 Jan 1970 01:00:00 GMT"),
            ]
        ),
    )
    assert copy.get("big") is None
    assert copy.get("s") == "1"
