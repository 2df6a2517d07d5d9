"""`Client.close()` while another thread is still inside a request (a redirect chain)."""

from __future__ import annotations

import http.server
import os
import threading
import time

from tests.support.stdlib_server import serving
from wirekit import Client


class _SlowRedirect(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/slow-redirect":
            time.sleep(0.4)
            self.send_response(302)
            self.send_header("Location", "/ok")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_close_during_a_redirect_chain_leaves_no_open_connection() -> None:
    # A thread is waiting for the first hop of a redirect when another thread closes the
    # client. The next hop must not open a new connection in a brand-new pool that nobody
    # closes any more (close() already ran): the socket leaks and the request "succeeds".
    with serving(_SlowRedirect) as port:
        client = Client(retry=0, timeout=10)
        outcome: list[object] = []

        def work() -> None:
            try:
                outcome.append(client.get(f"http://127.0.0.1:{port}/slow-redirect"))
            except Exception as exc:  # collected for the assert
                outcome.append(exc)

        before = _fds()
        thread = threading.Thread(target=work)
        thread.start()
        time.sleep(0.15)  # the first hop is sent, its answer not yet here
        client.close()
        thread.join(10)
        assert not thread.is_alive()
        counts = client._transport.connection_counts()
        # The server's side of a closed connection is closed by its handler thread, in this
        # process too: give it a moment before counting.
        settle = time.monotonic() + 5.0
        while _fds() > before and time.monotonic() < settle:
            time.sleep(0.02)
        leaked = _fds() - before
        assert counts == {"open": 0, "idle": 0}, (counts, outcome)
        assert leaked <= 0, (leaked, outcome)
        # The thread gets a clear error naming the closed client, not a fresh answer.
        assert len(outcome) == 1, outcome
        assert isinstance(outcome[0], Exception), outcome
        assert "closed" in str(outcome[0]), outcome
