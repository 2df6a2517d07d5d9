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
import time

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
        time.sleep(0.7)  # the supervisor is inside its 2 s import of the app
        server.signal(signal.SIGHUP)
        port = server.wait_serving(count=2)  # fails at once if the server died
        assert get(port) == (200, b"ok")
