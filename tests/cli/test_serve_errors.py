"""``wirekit serve`` startup: bad options, apps that fail to import, documented forms."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.cli.conftest import cli_environment

ROOT = Path(__file__).resolve().parents[2]


def _pythonpath() -> str:
    """The repository root (for ``tests.*``), after any PYTHONPATH already set."""
    return os.pathsep.join([*filter(None, [os.environ.get("PYTHONPATH")]), str(ROOT)])


HERE = Path(__file__).resolve().parent

#: A command that should fail at startup gets this long before it counts as "serving".
STARTUP = 15.0


def _serve(*args: str, cwd: Path = HERE, timeout: float = STARTUP) -> tuple[int | None, str]:
    """Run ``wirekit serve ARGS``; (exit code, or None if still running after ``timeout``;
    its output). A server still running is stopped."""
    env = cli_environment(PYTHONPATH=_pythonpath(), PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "wirekit.cli", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=cwd,
        env=env,
    )
    try:
        out, _ = process.communicate(timeout=timeout)
        return process.returncode, out
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            out, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            out, _ = process.communicate(timeout=30)
        return None, out


@pytest.mark.parametrize("port", ["65536", "70000"])
def test_port_out_of_range_is_an_error_naming_the_port(port: str) -> None:
    """--port 70000 used to serve on port 4464 (70000 mod 65536), 65536 on a random port."""
    code, out = _serve("tests.server.apps:wsgi_hello", "--port", port, timeout=8.0)
    assert code is not None, f"--port {port} was accepted and served:\n{out[-1500:]}"
    assert code in (1, 2), out
    assert "port" in out, out
    assert port in out, out
    assert "Traceback" not in out, out


@pytest.mark.parametrize(
    "options",
    [("--host", "::", "--port", "70000"), ("--port", "0", "--backlog", "99999999999")],
    ids=["dual-stack-port", "huge-backlog"],
)
def test_out_of_range_binding_option_is_a_clean_error(options: tuple[str, ...]) -> None:
    """Both ended in an OverflowError traceback (not an OSError, so not reported cleanly)."""
    code, out = _serve("tests.server.apps:wsgi_hello", *options)
    assert code in (1, 2), out
    assert "Traceback" not in out, out


def test_inherited_fd_that_is_not_a_stream_socket_is_a_clean_error() -> None:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    fd = udp.fileno()
    with udp:
        env = cli_environment(PYTHONPATH=_pythonpath(), PYTHONUNBUFFERED="1")
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "wirekit.cli",
                "serve",
                "tests.server.apps:wsgi_hello",
                "--fd",
                str(fd),
            ],
            pass_fds=[fd],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=HERE,
            env=env,
            check=False,
        )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert f"fd {fd}" in done.stderr, done.stderr


def test_value_error_raised_while_importing_the_app_shows_where(tmp_path: Path) -> None:
    """Any exception at import shows its traceback; a ValueError (or JSONDecodeError,
    UnicodeDecodeError...) was printed as its bare message, naming neither module nor line."""
    (tmp_path / "settings_app.py").write_text(
        "import json\n"
        "CONFIG = json.loads('')  # a broken config file\n"
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [])\n"
        "    return [b'ok']\n"
    )
    code, out = _serve("settings_app:app", "--app-dir", str(tmp_path), "--port", "0")
    assert code == 1, out
    assert "settings_app" in out, f"the failing module is not named:\n{out}"
    assert "Traceback" in out, f"no traceback shown:\n{out}"


def test_static_only_server_as_the_readme_and_help_show(tmp_path: Path) -> None:
    """README and `wirekit --help` both show `wirekit serve --static ./public`."""
    public = tmp_path / "public"
    public.mkdir()
    (public / "hello.txt").write_text("static hello")
    log = tmp_path / "serve.log"
    env = cli_environment(PYTHONPATH=_pythonpath(), PYTHONUNBUFFERED="1")
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "wirekit.cli", "serve", "--static", "./public", "--port", "0"],
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            env=env,
        )
    try:
        port = None
        deadline = time.monotonic() + STARTUP
        while time.monotonic() < deadline and port is None:
            assert process.poll() is None, f"exited {process.returncode}:\n{log.read_text()}"
            for line in log.read_text().splitlines():
                if "serving" in line and "', " in line:
                    port = int(line.rsplit("', ", 1)[1].split(")")[0].split(",")[0])
            time.sleep(0.05)
        assert port is not None, log.read_text()
        found = None
        for path in ("/static/hello.txt", "/hello.txt"):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
                    found = r.read()
                    break
            except OSError:
                continue
        assert found == b"static hello", log.read_text()
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)


def test_negative_max_body_bytes_is_refused() -> None:
    """--max-body-bytes -1 was accepted, then every request with a body got 413."""
    code, out = _serve(
        "tests.server.apps:wsgi_hello", "--port", "0", "--max-body-bytes", "-1", timeout=8.0
    )
    assert code in (1, 2), f"--max-body-bytes -1 was accepted:\n{out[-1500:]}"
    assert "max-body-bytes" in out or "max_body_bytes" in out, out
