"""``wirekit serve --reload``: the server child must not outlive the reloader.

When the reloader dies without running its cleanup (SIGKILL from an IDE's stop button or
the OOM killer), the child server it started keeps serving the port with stale code and is
never reloaded again; the next ``wirekit serve --reload`` then fails with "address in use".
The ``--workers`` supervisor guards against exactly this with PR_SET_PDEATHSIG; the
reloader does not.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from tests.server.process_support import ServeProcess, children_of, running_in_group, wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc"),
]

APP = """
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]
"""


def test_server_child_stops_when_the_reloader_is_killed(tmp_path: Path) -> None:
    (tmp_path / "reloadapp.py").write_text(APP)
    with ServeProcess(
        "reloadapp:app", ["--reload"], log_path=tmp_path / "serve.log", app_dir=tmp_path
    ) as server:
        server.wait_serving()
        child = children_of(server.pid)
        assert child, "the reloader started no server child"
        os.kill(server.pid, signal.SIGKILL)
        server.process.wait(10)
        # Bounded: a child told to stop (SIGTERM) stops within a second or two here.
        wait_until(
            lambda: running_in_group(server.pid) == [],
            f"the server child {child} to stop after its reloader was SIGKILLed",
            timeout=8,
        )
