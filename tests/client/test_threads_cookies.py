"""A `Client` shared by threads keeps its cookie jar consistent (failed before the jar locked)."""

from __future__ import annotations

import http.server
import itertools
from collections.abc import Iterator

import pytest

from tests.support.stdlib_server import serving
from tests.support.threads import run_threads, switch_interval
from wirekit import Client


class _SetsNewCookie(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    counter = itertools.count()

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        number = next(self.counter)
        self.send_response(200)
        self.send_header("Set-Cookie", f"c{number}=v; Path=/")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


@pytest.fixture
def cookie_server() -> Iterator[str]:
    with serving(_SetsNewCookie) as port:
        yield f"http://127.0.0.1:{port}/"


def test_shared_client_cookie_jar_survives_concurrent_requests(cookie_server: str) -> None:
    # Each answer sets a new cookie, so past 50 per domain every response evicts the oldest
    # while other threads build their Cookie header from the same dict. Cookies has no
    # lock: "dictionary changed size during iteration" and KeyError escape from get().
    # (A tiny switch interval only makes the thread interleavings that users hit rarely
    # happen within a bounded run.)
    errors: list[str] = []
    with switch_interval(), Client(retry=0, timeout=20) as client:
        for index in range(300):
            client.cookies.set(f"o{index}", "x", domain="other.test")

        def work() -> None:
            for _ in range(40):
                try:
                    client.get(cookie_server)
                except Exception as exc:  # collected for the assert
                    errors.append(f"{type(exc).__name__}: {exc}")

        run_threads(work, 12)
    assert errors == [], errors[:5]
