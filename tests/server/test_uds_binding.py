"""``uds=PATH`` / ``--uds PATH``: who can connect, and a live server's socket is not taken."""

from __future__ import annotations

import os
import socket
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.server.apps import wsgi_hello
from tests.server.support import WAIT
from wirekit.server import Server


@contextmanager
def _serving_uds(path: str) -> Iterator[tuple[Server, threading.Thread, list[BaseException]]]:
    server = Server(wsgi_hello, uds=path, shutdown_timeout=2.0)
    errors: list[BaseException] = []

    def main() -> None:
        try:
            server.run()
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    for _ in range(int(WAIT / 0.05)):
        if server.started.is_set() or not thread.is_alive():
            break
        server.started.wait(0.05)
    try:
        yield server, thread, errors
    finally:
        server.shutdown()
        thread.join(WAIT)


def _status_over_uds(path: str) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(WAIT)
        sock.connect(path)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return sock.recv(64).split(b"\r\n")[0]


def test_uds_socket_is_connectable_by_the_proxy_user(tmp_path: Path) -> None:
    """deployment.md runs wirekit as user `mysite` with `--uds /run/mysite/http.sock` and
    nginx (another user) connecting to it. connect() on a Unix socket needs write
    permission; under the usual umask 022 the file was srwxr-xr-x, so nginx got EACCES."""
    path = str(tmp_path / "http.sock")
    previous = os.umask(0o022)
    try:
        with _serving_uds(path) as (server, _, errors):
            assert server.started.is_set(), errors
            mode = stat.S_IMODE(os.stat(path).st_mode)
    finally:
        os.umask(previous)
    assert mode & 0o002, f"socket mode {oct(mode)}: other users (nginx) cannot connect"


def test_second_server_does_not_steal_a_live_uds_path(tmp_path: Path) -> None:
    """Only a *stale* socket file is replaced (docs/server.md). Starting a second server on
    the path of a running one unlinked it: the first kept running but unreachable, and the
    path vanished altogether once the second stopped."""
    path = str(tmp_path / "app.sock")
    with _serving_uds(path) as (first, _, first_errors):
        assert first.started.is_set(), first_errors
        assert _status_over_uds(path) == b"HTTP/1.1 200 OK"
        with _serving_uds(path):
            pass  # whether it refuses (expected) or starts and stops
        assert os.path.exists(path), "the running server's socket file was removed"
        assert _status_over_uds(path) == b"HTTP/1.1 200 OK"
