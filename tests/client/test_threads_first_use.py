"""Threads that share a brand-new `Client` share one pool from the first request on.

The transport creates its pool on first use; two threads that both found none each made one
and the second replaced the first. The replaced pool's connection was never closed (an
unclosed socket when it was collected) and the pool limits were counted twice.
"""

from __future__ import annotations

import http.server
import threading
from typing import ClassVar

from tests.support.stdlib_server import serving
from tests.support.threads import switch_interval
from wirekit import Client, Limits


class _NotesPeers(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    peers: ClassVar[set[tuple[str, int]]] = set()

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.peers.add(self.client_address)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


def test_threads_on_a_new_client_respect_max_connections() -> None:
    # With max_connections=1 every request of a round must travel on the one connection
    # (each waits for the pool slot). A tiny switch interval makes the thread interleavings
    # users hit rarely happen within a bounded run; each round is a fresh Client.
    with switch_interval():
        with serving(_NotesPeers) as port:
            url = f"http://127.0.0.1:{port}/"
            for _ in range(10):
                _NotesPeers.peers = set()
                errors: list[BaseException] = []
                with Client(retry=0, timeout=20, limits=Limits(max_connections=1)) as client:
                    start = threading.Barrier(6)

                    def work(
                        client: Client = client,
                        start: threading.Barrier = start,
                        errors: list[BaseException] = errors,
                    ) -> None:
                        start.wait(10)
                        try:
                            assert client.get(url).content == b"ok"
                        except BaseException as exc:  # collected for the assert
                            errors.append(exc)

                    threads = [threading.Thread(target=work) for _ in range(6)]
                    for thread in threads:
                        thread.start()
                    for thread in threads:
                        thread.join(30)
                assert errors == []
                assert len(_NotesPeers.peers) == 1, _NotesPeers.peers
