"""One `DigestAuth` shared by threads of one `Client`: every (nonce, nc) pair on the wire is
used once, also when the server changes its nonce mid-run."""

from __future__ import annotations

import http.server
import re
import threading
from collections import Counter
from typing import ClassVar

from tests.support.stdlib_server import serving
from tests.support.threads import run_threads, switch_interval
from wirekit import Client, DigestAuth


class _RotatingDigest(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    lock = threading.Lock()
    nonce_number = 0
    accepted = 0
    seen: ClassVar[list[tuple[str, str]]] = []

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, status: int, extra: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for name, value in extra:
            self.send_header(name, value)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def do_GET(self) -> None:
        header = self.headers.get("Authorization", "")
        nonce = re.search(r'nonce="([^"]*)"', header)
        nc = re.search(r"nc=([0-9a-f]{8})", header)
        cls = type(self)
        with cls.lock:
            current = f"n{cls.nonce_number}"
            if nonce and nc:
                cls.seen.append((nonce.group(1), nc.group(1)))
            if nonce and nonce.group(1) == current:
                cls.accepted += 1
                if cls.accepted % 15 == 0:  # the server rotates its nonce now and then
                    cls.nonce_number += 1
                ok = True
            else:
                ok = False
            stale = "true" if nonce else "false"
        if ok:
            self._reply(200, [])
        else:
            challenge = f'Digest realm="r", nonce="{current}", qop="auth", stale={stale}'
            self._reply(401, [("WWW-Authenticate", challenge)])


def test_shared_digest_auth_never_reuses_a_nonce_count() -> None:
    # When the nonce changes, every thread whose request carried the old one gets a 401
    # with the new one, and each of them resets the count for the origin to 0 and sends
    # nc=00000001 again, as do threads that read the old challenge just before: one
    # (nonce, nc) pair goes on the wire several times, which a server checking nc (the
    # point of nc, RFC 7616 §3.4) rejects as a replay.
    _RotatingDigest.seen = []
    _RotatingDigest.nonce_number = 0
    _RotatingDigest.accepted = 0
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    with switch_interval(), serving(_RotatingDigest) as port:
        url = f"http://127.0.0.1:{port}/"
        with Client(retry=0, timeout=20, auth=DigestAuth("u", "p")) as client:

            def work() -> None:
                for _ in range(25):
                    try:
                        statuses[client.get(url).status_code] += 1
                    except Exception as exc:  # collected for the assert
                        errors.append(repr(exc))

            run_threads(work, 8)
    assert errors == [], errors[:3]
    duplicates = [pair for pair, n in Counter(_RotatingDigest.seen).items() if n > 1]
    assert duplicates == [], (len(duplicates), duplicates[:5], statuses)
