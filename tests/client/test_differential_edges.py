"""The client against requests and httpx: what reaches the wire (edge cases found by a
differential review; each failed before its fix).

Every test here sends a request to a raw-socket loopback server that answers with a JSON
echo of exactly what it received (request line, headers in order, body), and checks a
difference from requests, httpx, browsers and RFC 3986 that a user would call a bug.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import wirekit


class EchoServer:
    """One thread per connection, each bounded by a socket timeout; keep-alive aware."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        buf = b""
        try:
            for _ in range(50):
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.split(b"\r\n")
                headers = []
                for line in lines[1:]:
                    name, value = line.split(b":", 1)
                    headers.append([name.decode("latin-1"), value.strip().decode("latin-1")])
                length = 0
                for name, value in headers:
                    if name.lower() == "content-length":
                        length = int(value)
                while len(buf) < length:
                    data = conn.recv(65536)
                    if not data:
                        break
                    buf += data
                body, buf = buf[:length], buf[length:]
                record = {
                    "line": lines[0].decode("latin-1"),
                    "headers": headers,
                    "body": body.decode("latin-1"),
                }
                out = json.dumps(record).encode()
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(out) + out
                )
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        self._thread.join(timeout=2)


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    try:
        yield server
    finally:
        server.close()


def _target(record: dict[str, Any]) -> str:
    return record["line"].split(" ")[1]


# -- 1. dot segments ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/a/./b/../c", "/a/c"),
        ("/static/../index.html", "/index.html"),
        ("/a/b/..", "/a/"),
        ("/..", "/"),
    ],
)
def test_dot_segments_are_removed_from_the_request_target(
    echo: EchoServer, path: str, expected: str
) -> None:
    # RFC 3986 §5.2.2/§6.2.2.3 (dot segments are removed when a URI is resolved, even an
    # absolute one; "some deployed implementations incorrectly assume" otherwise), WHATWG
    # URL, browsers, curl, requests and httpx all send /a/c for http://h/a/./b/../c.
    # wirekit already does so for a redirect Location and for base_url joins.
    with wirekit.Client(timeout=10) as client:
        record = client.get(echo.base + path).json()
    assert _target(record) == expected


# -- 2. params= with bytes keys -----------------------------------------------------------


def test_params_bytes_key_is_sent_as_its_text_not_its_repr(echo: EchoServer) -> None:
    # Bytes values are decoded (k=v), and data= decodes bytes keys too; a bytes key in
    # params= goes out as "b'k'" (requests sends k=v).
    with wirekit.Client(timeout=10) as client:
        record = client.get(echo.base + "/p", params={b"k": b"v"}).json()
        form = client.post(echo.base + "/p", data={b"k": b"v"}).json()
    assert form["body"] == "k=v"  # the form encoder already gets this right
    assert _target(record) == "/p?k=v"


# -- 3. params= values with ";" --------------------------------------------------------------


def test_params_value_with_semicolon_is_percent_encoded(echo: EchoServer) -> None:
    # A value's ";" is left raw, so servers that split the query on ";" as well as "&"
    # (Rack 2 / Rails 6, Go < 1.17, Python's parse_qs before 3.9.2, the HTML 4
    # recommendation) read q=a and a stray key "b". requests, httpx and the WHATWG
    # urlencoded serializer (URLSearchParams) send q=a%3Bb.
    with wirekit.Client(timeout=10) as client:
        record = client.get(echo.base + "/p", params={"q": "a;b"}).json()
    query = _target(record).partition("?")[2]
    assert re.split("[&;]", query) == ["q=a%3Bb"]


# -- 4. client-level None header ----------------------------------------------------------


def test_client_default_header_none_removes_it(echo: EchoServer) -> None:
    # docs/client.md: "a None value removes that default header ({"User-Agent": None})".
    # Per request it works; as a client default (headers= "defaults for every request")
    # the client cannot even be built: TypeError from Headers.update.
    with wirekit.Client(headers={"User-Agent": None}, timeout=10) as client:
        record = client.get(echo.base + "/h").json()
    assert "user-agent" not in [name.lower() for name, _ in record["headers"]]


def test_request_header_pairs_none_removes_default(echo: EchoServer) -> None:
    # The same documented None, given in the documented "list of pairs" form of headers=,
    # raises TypeError instead of removing the default (merge_headers only looks for None
    # in a Mapping).
    with wirekit.Client(timeout=10) as client:
        record = client.get(echo.base + "/h", headers=[("User-Agent", None)]).json()
    assert "user-agent" not in [name.lower() for name, _ in record["headers"]]
