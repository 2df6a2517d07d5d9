"""``wirekit serve --workers N --log-level LEVEL``: the spawned workers log at LEVEL too.

Workers are fresh interpreters (spawn), so they only know the level they are handed. With
``warning`` their INFO startup lines ("serving ... on") must not appear; with ``info`` they do.
"""

from __future__ import annotations

import json
import re
import signal
import socket
from pathlib import Path

import pytest

from tests.server.process_support import ServeProcess, get, wait_until

pytestmark = pytest.mark.slow

_SERVING = re.compile(r"INFO wirekit\.server: serving ")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answering_pid(port: int) -> int | None:
    """The worker PID that answered one ``Connection: close`` request, None if refused."""
    try:
        status, body = get(port, headers={"Connection": "close"})
    except ConnectionRefusedError:
        return None
    assert status == 200, body
    pid: int = json.loads(body)["pid"]
    return pid


def test_workers_at_warning_level_do_not_log_info(tmp_path: Path) -> None:
    port = free_port()
    with ServeProcess(
        "peer_apps:wsgi_whoami",
        ["--workers", "2", "--log-level", "warning"],
        log_path=tmp_path / "serve.log",
        port=port,
    ) as server:
        # A worker logs "serving" before it accepts anything, so once both have answered,
        # both are past the point where that INFO line would have been written.
        answered: set[int] = set()

        def both_answered() -> bool:
            assert server.process.poll() is None, server.log()
            pid = answering_pid(port)
            if pid is not None:
                answered.add(pid)
            return len(answered) == 2

        wait_until(both_answered, "both workers to answer a request")
        assert server.pid not in answered
        assert _SERVING.search(server.log()) is None, server.log()
        assert " INFO " not in server.log(), server.log()
        server.signal(signal.SIGTERM)
        assert server.wait_exit() == 0


def test_workers_at_info_level_log_their_startup(tmp_path: Path) -> None:
    with ServeProcess(
        "peer_apps:wsgi_whoami",
        ["--workers", "2", "--log-level", "info"],
        log_path=tmp_path / "serve.log",
    ) as server:
        server.wait_serving(count=2)
        assert len(_SERVING.findall(server.log())) == 2, server.log()
        server.signal(signal.SIGTERM)
        assert server.wait_exit() == 0
