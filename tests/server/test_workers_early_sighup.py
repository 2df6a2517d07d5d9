"""``wirekit serve --workers N``: SIGHUP (``systemctl reload``) means "reload", never "die".

The supervisor installs its SIGHUP handler only once ``Supervisor.run()`` starts; before
that the parent imports the app (seconds for a large app) and binds, and a SIGHUP in that
window has its default action: the whole server is terminated.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.server.process_support import ServeProcess, get

pytestmark = pytest.mark.slow

SLOW_IMPORT_APP = """
import pathlib
import time

pathlib.Path(__file__).with_name("importing").touch()  # the test waits for this
time.sleep(2.0)

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


def test_sighup_while_the_supervisor_imports_the_app_does_not_kill_it(tmp_path: Path) -> None:
    (tmp_path / "slowparent.py").write_text(SLOW_IMPORT_APP)
    with ServeProcess(
        "slowparent:app",
        ["--workers", "2", "--shutdown-timeout", "3"],
        log_path=tmp_path / "serve.log",
        app_dir=tmp_path,
    ) as server:
        # Wait until the supervisor is inside its 2 s import of the app: a fixed sleep
        # raced the interpreter's own start-up on a loaded CI machine (SIGHUP came
        # before Python ran a line of wirekit, and nothing can survive that).
        deadline = time.monotonic() + 30.0
        while not (tmp_path / "importing").exists():
            assert time.monotonic() < deadline, f"the app was never imported:\n{server.log()}"
            assert server.process.poll() is None, f"wirekit serve exited:\n{server.log()}"
            time.sleep(0.02)
        server.signal(signal.SIGHUP)
        port = server.wait_serving(count=2)  # fails at once if the server died
        assert get(port) == (200, b"ok")
