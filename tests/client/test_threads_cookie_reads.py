"""Reading the shared jar (`client.cookies[...]`) while other threads' responses refresh it."""

from __future__ import annotations

import http.server
import itertools
import sys
import threading
import time

from tests.support.stdlib_server import serving
from wirekit import Client


class _RefreshesSession(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    counter = itertools.count()

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Set-Cookie", f"session=v{next(self.counter)}; Path=/")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


def test_a_refreshed_cookie_never_disappears_for_a_reader() -> None:
    # Storing a cookie pops the old one and inserts the new one later (after a clock call
    # and an expiry check), while get() walks the store without the jar's lock: a reader
    # in between finds no "session" at all, so client.cookies["session"] raises KeyError
    # (and "session" in client.cookies is False) although the cookie was never removed.
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    missing = 0
    reads = 0
    errors: list[str] = []
    try:
        with serving(_RefreshesSession) as port:
            url = f"http://127.0.0.1:{port}/"
            with Client(retry=0, timeout=20) as client:
                client.get(url)
                stop = threading.Event()

                def refresher() -> None:
                    for _ in range(3000):
                        if stop.is_set():
                            return
                        try:
                            client.get(url)
                        except Exception as exc:  # collected for the assert
                            errors.append(repr(exc))

                threads = [threading.Thread(target=refresher) for _ in range(4)]
                for thread in threads:
                    thread.start()
                ends = time.monotonic() + 3
                while time.monotonic() < ends and reads < 8_000_000 and not missing:
                    reads += 1
                    try:
                        client.cookies["session"]
                    except KeyError:
                        missing += 1
                stop.set()
                for thread in threads:
                    thread.join(30)
    finally:
        sys.setswitchinterval(old_interval)
    assert errors == [], errors[:3]
    assert missing == 0, f"'session' missing in {missing} of {reads} reads"
