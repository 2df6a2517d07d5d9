"""``--shutdown-timeout`` with a negative value: a clean error, not a traceback.

With ``--workers`` the value reaches ``Supervisor(graceful_timeout=...)`` unchecked, after
the port was bound, and the user gets a ValueError traceback about "graceful_timeout and
restart_backoff" (names no flag of theirs); without ``--workers`` it is silently accepted.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_negative_shutdown_timeout_with_workers_is_a_clean_error() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "wirekit.cli",
            "serve",
            "tests.server.apps:wsgi_hello",
            "--app-dir",
            str(REPO),
            "--port",
            "0",
            "--workers",
            "2",
            "--shutdown-timeout=-1",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode in (1, 2), result
    assert "Traceback" not in result.stderr, result.stderr
    assert "shutdown" in result.stderr.lower(), result.stderr
