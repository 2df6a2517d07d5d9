"""``wirekit serve --reload`` restarts a child that keeps every option of the parent.

Two ways of starting the reloader (``python -m wirekit.cli.serve`` and ``python -m
wirekit.cli serve``) must both hand their options to the child, and with ``--ssl-dev`` the
certificate served before and after a restart must be the same one (made once by the
reloader, deleted when it exits).
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.server.process_support import (
    PROCESS_WAIT,
    ServeProcess,
    get,
    running_in_group,
    wait_until,
)
from tests.support.helpers import free_port

pytestmark = pytest.mark.slow

APP_TEMPLATE = '''"""A WSGI app the reload tests edit."""


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [{answer!r}]
'''

#: Reads at most this many chunks of one answer (bounds the loop; answers here are small).
MAX_READS = 1_000


class CommandServeProcess(ServeProcess):
    """A :class:`ServeProcess` for an explicit command line, run in ``cwd``."""

    def __init__(self, command: Sequence[str], *, log_path: Path, cwd: Path) -> None:
        self.log_path = log_path
        self.command = list(command)
        self._spawn(cwd=cwd)


def edit(module: Path, answer: bytes) -> None:
    module.write_text(APP_TEMPLATE.format(answer=answer))
    # Moved forward in time: a change no file system can round away.
    stamp = module.stat().st_mtime + 10
    os.utime(module, (stamp, stamp))


def new_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "reload_app.py").write_text(APP_TEMPLATE.format(answer=b"first version"))
    return project


@pytest.mark.parametrize(
    "entry_point",
    [["wirekit.cli.serve"], ["wirekit.cli", "serve"]],
    ids=["python-m-wirekit.cli.serve", "python-m-wirekit.cli-serve"],
)
def test_reloaded_child_keeps_every_option(tmp_path: Path, entry_point: list[str]) -> None:
    project = new_project(tmp_path)
    port = free_port()
    command = [sys.executable, "-m", *entry_point, "reload_app:app", "--reload",
               "--port", str(port), "--health-path", "/healthz"]  # fmt: skip
    with CommandServeProcess(command, log_path=tmp_path / "serve.log", cwd=project) as server:
        assert server.wait_serving() == port
        assert get(port, "/healthz") == (200, b"ok\n"), server.log()
        assert get(port, "/") == (200, b"first version")

        edit(project / "reload_app.py", b"second version")
        server.wait_serving(count=2)
        assert "change detected" in server.log()
        assert get(port, "/") == (200, b"second version"), server.log()
        assert get(port, "/healthz") == (200, b"ok\n"), server.log()

        server.signal(signal.SIGTERM)
        assert server.wait_exit() == 0
        wait_until(
            lambda: running_in_group(server.pid) == [],
            "the reloaded server to exit with the reloader",
        )


def served_over_tls(port: int) -> tuple[str, bytes]:
    """GET / over TLS without verifying: (SHA-256 of the served certificate, body)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=PROCESS_WAIT) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        served = tls.getpeercert(binary_form=True)
        assert served is not None
        tls.sendall(b"GET / HTTP/1.1\r\nHost: dev\r\nConnection: close\r\n\r\n")
        received = b""
        for _ in range(MAX_READS):
            chunk = tls.recv(65536)
            if not chunk:
                break
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), received[:200]
    return hashlib.sha256(served).hexdigest(), body


def test_ssl_dev_certificate_survives_a_reload_and_is_deleted_at_exit(tmp_path: Path) -> None:
    project = new_project(tmp_path)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    with ServeProcess(
        "reload_app:app",
        ["--reload", "--ssl-dev"],
        log_path=tmp_path / "serve.log",
        app_dir=project,
        environment={"TMPDIR": str(temporary)},
    ) as server:
        port = server.wait_serving()
        before, body = served_over_tls(port)
        assert body == b"first version"

        edit(project / "reload_app.py", b"second version")
        server.wait_serving(count=2)
        after, body = served_over_tls(port)
        assert body == b"second version", server.log()
        assert after == before, f"a new certificate after the reload:\n{server.log()}"
        printed = server.log().count("development certificate")
        assert printed == 1, f"{printed} certificates announced:\n{server.log()}"
        assert before.upper() in server.log().replace(":", "")  # the printed fingerprint

        server.signal(signal.SIGTERM)
        assert server.wait_exit() == 0
    assert list(temporary.iterdir()) == [], "the development certificate outlived the server"
