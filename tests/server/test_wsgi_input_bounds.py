"""Review: big request bodies read from ``wsgi.input`` in pieces.

The module docstring of server/wsgi.py promises that the connection stops reading while the
app has enough unread bytes (``write_high_water``, 64 KiB by default), so an upload costs
the server a bounded amount of memory, and reading by lines is the usual way multipart and
CSV parsers consume a body.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from typing import Any

from tests.server.support import read_response, running

#: What the app may find buffered at most while it reads 64 KiB pieces: the 64 KiB mark,
#: plus what one socket read can bring past it, with room to spare.
BUFFER_BUDGET = 2 * 1024 * 1024


def _post(port: int, path: str, body: bytes, *, timeout: float) -> tuple[int, bytes]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        head = b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (
            path.encode(),
            len(body),
        )
        sender = threading.Thread(target=_send_quietly, args=(sock, head + body), daemon=True)
        sender.start()
        sock.settimeout(timeout)
        status, _, answer = read_response(sock)
        sender.join(timeout)
        return status, answer
    finally:
        sock.close()


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except OSError:
        pass


def test_wsgi_input_read_in_pieces_keeps_the_buffer_bounded() -> None:
    seen: dict[str, int] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"]
        total = largest = 0
        for _ in range(100_000):
            largest = max(largest, body.buffered)
            piece = body.read(65536)
            if not piece:
                break
            total += len(piece)
        seen["total"], seen["largest"] = total, largest
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    size = 16 * 1024 * 1024
    # A longer GIL switch interval stands for a busy server process (other requests'
    # threads): the worker takes longer to wake, which is all the bug needs to show.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.05)
    try:
        with running(app) as server:
            status, _ = _post(server.port, "/", b"u" * size, timeout=20)
    finally:
        sys.setswitchinterval(interval)
    assert status == 200
    assert seen["total"] == size
    # Now: 10-16 MB of the 16 MB body sit in wsgi.input while the app reads 64 KiB pieces
    # (feed_body never pauses while the worker is waiting, and the loop reads on until the
    # worker thread gets the GIL back).
    assert seen["largest"] <= BUFFER_BUDGET, f"{seen['largest']} bytes buffered"


def test_iterating_wsgi_input_by_lines_is_linear() -> None:
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        started = time.monotonic()
        lines = total = 0
        for line in environ["wsgi.input"]:
            lines += 1
            total += len(line)
            if time.monotonic() - started > 8.0:
                break  # bounded: far past what linear reading needs
        seen["lines"], seen["total"] = lines, total
        seen["seconds"] = time.monotonic() - started
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    # A 7.8 MB CSV-like upload of 200,000 short lines: read() of it takes 0.01 s, and
    # iterating lines should cost about as much as the Python loop (~0.1 s). Now each
    # readline() copies everything buffered after its line (WSGIInput._take slices the
    # joined buffer), so reading takes over 8 s here (cut there), and 50 s for a 26 MB upload.
    count = 200_000
    body = b"".join(b"%038d\n" % index for index in range(count))
    with running(app) as server:
        status, _ = _post(server.port, "/", body, timeout=20)
    assert status == 200
    assert seen["seconds"] < 3.0, (
        f"{seen['lines']} of {count} lines read in {seen['seconds']:.1f} s"
    )
    assert (seen["lines"], seen["total"]) == (count, len(body))
