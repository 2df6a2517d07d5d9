"""A tiny loopback HTTP/1.1 peer for tests: one request per connection, answered by a handler.

``Peer(handler)`` where ``handler(req) -> bytes`` (the whole raw response) and ``req`` is a
``Seen`` record (method, target, headers dict lower-cased (last wins) + list, body).
Every wait is bounded.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Seen:
    method: str
    target: str
    header_list: list[tuple[str, str]]
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _read_request(sock: socket.socket) -> Seen | None:
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            return None
        buf += data
        if len(buf) > 1 << 20:
            return None
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    pairs = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        pairs.append((name.strip().lower(), value.strip()))
    headers = dict(pairs)
    body = rest
    if "content-length" in headers:
        need = int(headers["content-length"])
        while len(body) < need:
            data = sock.recv(65536)
            if not data:
                break
            body += data
        body = body[:need]
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        raw = body
        out = b""
        while True:
            while b"\r\n" not in raw:
                data = sock.recv(65536)
                if not data:
                    return Seen(method, target, pairs, out, headers)
                raw += data
            size_line, _, raw = raw.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(raw) < size + 2:
                data = sock.recv(65536)
                if not data:
                    break
                raw += data
            if size == 0:
                break
            out += raw[:size]
            raw = raw[size + 2 :]
        body = out
    return Seen(method, target, pairs, body, headers)


def response(
    status: int = 200,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    reason: str = "X",
) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}"]
    hs = list(headers or [])
    if not any(n.lower() in ("content-length", "transfer-encoding") for n, _ in hs):
        hs.append(("Content-Length", str(len(body))))
    hs.append(("Connection", "close"))
    lines += [f"{n}: {v}" for n, v in hs]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Peer:
    def __init__(self, handler: Callable[[Seen, Peer], bytes], host: str = "127.0.0.1") -> None:
        self.handler = handler
        self.seen: list[Seen] = []
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.host = host
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        h = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{h}:{self.port}"

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            with conn:
                req = _read_request(conn)
                if req is None:
                    return
                self.seen.append(req)
                conn.sendall(self.handler(req, self))
                try:
                    conn.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
        except OSError:
            pass

    def __enter__(self) -> Peer:
        self._thread.start()
        return self

    def __exit__(self, *a: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()
