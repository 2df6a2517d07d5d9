"""``wirekit get|post|put|patch|delete|head`` end to end, against loopback servers only."""

from __future__ import annotations

import base64
import json
import os
import pty
import re
import select
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Result, cli_environment
from tests.support.keepalive import KeepAliveServer
from tests.support.scripted import ScriptedServer, expect, hold
from tests.support.wsgi_server import ThreadedWSGIServer
from wirekit.cli.get import complete_url

Run = Callable[..., Result]


def run_bytes(*args: str) -> subprocess.CompletedProcess[bytes]:
    """Run the command with stdout as a pipe and keep its output as bytes."""
    return subprocess.run(
        [sys.executable, "-m", "wirekit.cli", *args],
        capture_output=True,
        timeout=50,
        env=cli_environment(),
        check=False,
    )


def run_in_terminal(*args: str, cwd: Path | None = None) -> str:
    """Run the command with stdout and stderr on a pseudo-terminal; return what it wrote."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "wirekit.cli", *args],
        stdout=terminal,
        stderr=terminal,
        env=cli_environment(TERM="xterm-256color", COLUMNS="120"),
        cwd=cwd,
    )
    os.close(terminal)
    chunks: list[bytes] = []
    try:
        for _ in range(2000):  # bounded: at most 2000 reads of up to 5 s each
            ready, _, _ = select.select([controller], [], [], 5)
            if not ready:
                break
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        process.wait(timeout=30)
        os.close(controller)
    return b"".join(chunks).decode(errors="replace")


@pytest.fixture
def base(httpbin_server: ThreadedWSGIServer) -> str:
    return str(httpbin_server.url).rstrip("/")


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- building requests -----------------------------------------------------------------
def test_json_fields_headers_and_query(wirekit: Run, base: str) -> None:
    result = wirekit("post", f"{base}/anything", "name=ada", "age:=36", "X-Test:yes", "q==1 2")
    assert result.code == 0, result.stderr
    echo = json.loads(result.stdout)
    assert echo["method"] == "POST"
    assert echo["json"] == {"name": "ada", "age": 36}
    assert echo["args"] == {"q": "1 2"}
    assert echo["headers"]["X-Test"] == "yes"
    assert echo["headers"]["Content-Type"] == "application/json"
    assert echo["headers"]["Accept"].startswith("application/json")


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_each_method_is_sent(wirekit: Run, base: str, method: str) -> None:
    result = wirekit(method, f"{base}/anything")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["method"] == method.upper()


def test_head_prints_the_response_head(wirekit: Run, base: str) -> None:
    result = wirekit("head", f"{base}/get")
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("HTTP/1.1 200 OK")
    assert "Content-Type: application/json" in result.stdout


def test_form_and_file_upload(wirekit: Run, base: str, tmp_path: Path) -> None:
    upload = tmp_path / "notes.txt"
    upload.write_text("hello from a file\n")
    form = json.loads(wirekit("post", f"{base}/anything", "--form", "a=1", "b=two").stdout)
    assert form["form"] == {"a": "1", "b": "two"}
    assert form["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    # Options may come after items, as in httpie.
    result = wirekit("post", f"{base}/anything", "title=report", f"doc@{upload}", "--form")
    assert result.code == 0, result.stderr
    echo = json.loads(result.stdout)
    assert echo["files"] == {"doc": "hello from a file\n"}
    assert echo["form"] == {"title": "report"}
    assert echo["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")


def test_raw_json_in_a_form_is_a_usage_error(wirekit: Run, base: str) -> None:
    result = wirekit("post", f"{base}/anything", "--form", "n:=1")
    assert result.code == 2
    assert "cannot be sent in a form" in result.stderr
    result = wirekit("post", f"{base}/anything", "oops")
    assert result.code == 2
    assert "has no separator" in result.stderr


# -- output ------------------------------------------------------------------------------
def test_verbose_prints_both_heads_then_the_body(wirekit: Run, base: str) -> None:
    result = wirekit("post", f"{base}/anything", "a=1", "q==x", "-v")
    assert result.code == 0, result.stderr
    request_head, response_head, body = result.stdout.split("\n\n", 2)
    lines = request_head.splitlines()
    assert lines[0] == "POST /anything?q=x HTTP/1.1"
    assert f"Host: {base.removeprefix('http://')}" in lines
    assert "Content-Type: application/json" in lines
    assert response_head.startswith("HTTP/1.1 200 OK\n")
    assert json.loads(body)["json"] == {"a": "1"}


def test_headers_option_prints_only_the_response_head(wirekit: Run, base: str) -> None:
    result = wirekit("get", f"{base}/json", "-h")
    assert result.code == 0
    assert result.stdout.startswith("HTTP/1.1 200 OK\n")
    assert "slideshow" not in result.stdout  # the body of /json


def test_body_bytes_are_exact_when_stdout_is_not_a_terminal(base: str) -> None:
    url = f"{base}/bytes/300?seed=7"  # the same seed gives the same bytes
    raw = run_bytes("get", url)
    assert raw.returncode == 0
    summary = json.loads(run_bytes("get", url, "--json").stdout)
    assert raw.stdout == base64.b64decode(summary["body_base64"])
    assert len(raw.stdout) == 300
    assert b"\x1b[" not in run_bytes("get", f"{base}/json").stdout


def test_json_summary(wirekit: Run, base: str) -> None:
    result = wirekit("get", f"{base}/get", "a==1", "--json")
    assert result.code == 0
    document = result.json()
    assert document["ok"] is True
    assert document["status"] == 200
    assert document["reason"] == "OK"
    assert ["Content-Type", "application/json"] in document["headers"]
    assert {"connect", "request_sent", "first_byte", "body_done"} <= set(document["timings_ms"])
    assert json.loads(document["body"])["args"] == {"a": "1"}


def _waterfall_rows(output: str) -> dict[str, str]:
    waterfall = output[output.index("phase") :]
    return {line.split("  ")[0].strip(): line for line in waterfall.splitlines()[1:]}


def test_timing_waterfall(wirekit: Run, base: str) -> None:
    result = wirekit("get", f"{base}/get", "--timing", "-h")
    assert result.code == 0
    rows = _waterfall_rows(result.stdout)  # after the head, on stdout
    assert {"connect", "send", "waiting (first byte)", "download", "total"} <= set(rows)
    assert "█" in rows["waiting (first byte)"]
    float(rows["total"].split()[-1])  # the total in milliseconds


def test_timing_waterfall_goes_to_stderr_after_a_piped_body(wirekit: Run, base: str) -> None:
    # stdout is a pipe here: it holds exactly the body (it used to get the table after it,
    # so "wirekit get URL --timing > body.json" wrote a file that was not the body).
    result = wirekit("get", f"{base}/get", "--timing")
    assert result.code == 0
    assert json.loads(result.stdout)["url"].endswith("/get")
    assert "total" in _waterfall_rows(result.stderr)


def test_colour_and_pretty_json_on_a_terminal(base: str) -> None:
    output = run_in_terminal("get", f"{base}/json")
    assert "\x1b[" in output
    assert '"slideshow"' in output


# -- downloads ---------------------------------------------------------------------------
def test_download_then_resume_then_complete(wirekit: Run, base: str, tmp_path: Path) -> None:
    whole = tmp_path / "whole.bin"
    assert wirekit("get", f"{base}/range/5000", "-o", str(whole)).code == 0
    assert whole.stat().st_size == 5000
    part = tmp_path / "part.bin"
    part.write_bytes(whole.read_bytes()[:1234])
    result = wirekit("get", f"{base}/range/5000", "-o", str(part), "--continue")
    assert result.code == 0, result.stderr
    assert "resumed at byte 1234" in result.stderr
    assert part.read_bytes() == whole.read_bytes()
    # Asked again: the server answers 416 for bytes 5000-, meaning the file is complete.
    again = wirekit("get", f"{base}/range/5000", "-o", str(part), "--continue", "--json")
    assert again.code == 0
    assert again.json()["status"] == 416
    assert "already complete" in again.json()["note"]
    assert part.read_bytes() == whole.read_bytes()


def test_resume_starts_again_when_the_server_ignores_range(wirekit: Run, tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_bytes(b"stale partial content")
    with KeepAliveServer(b"the whole new body\n") as server:
        result = wirekit("get", server.url, "-o", str(target), "-c")
    assert result.code == 0, result.stderr
    assert "started again" in result.stderr
    assert target.read_bytes() == b"the whole new body\n"


def test_resume_refuses_a_file_longer_than_the_resource(
    wirekit: Run, base: str, tmp_path: Path
) -> None:
    target = tmp_path / "long.bin"
    target.write_bytes(b"x" * 6000)
    result = wirekit("get", f"{base}/range/5000", "-o", str(target), "--continue")
    assert result.code == 1
    assert "is not a part of it" in result.stderr
    assert target.read_bytes() == b"x" * 6000


def test_progress_bar_only_on_a_terminal(wirekit: Run, base: str, tmp_path: Path) -> None:
    output = run_in_terminal("get", f"{base}/range/100000", "-o", str(tmp_path / "a.bin"))
    assert "downloading" in output
    assert "100.0/100.0 kB" in output
    assert (tmp_path / "a.bin").stat().st_size == 100000
    piped = wirekit("get", f"{base}/range/100000", "-o", str(tmp_path / "b.bin"))
    assert piped.code == 0
    assert "downloading" not in piped.stderr


# -- options ---------------------------------------------------------------------------
def test_redirects_follow_by_default(wirekit: Run, base: str) -> None:
    followed = wirekit("get", f"{base}/redirect/2", "--json").json()
    assert followed["status"] == 200
    assert len(followed["redirects"]) == 2
    stopped = wirekit("get", f"{base}/redirect/2", "--no-follow", "--json").json()
    assert stopped["status"] == 302
    too_many = wirekit("get", f"{base}/redirect/3", "--max-redirects", "1")
    assert too_many.code == 1
    assert "redirect" in too_many.stderr.lower()


def test_basic_and_digest_auth(wirekit: Run, base: str) -> None:
    assert wirekit("get", f"{base}/basic-auth/ada/pw", "--auth", "ada:pw").code == 0
    refused = wirekit("get", f"{base}/basic-auth/ada/pw", "--auth", "ada:wrong")
    assert refused.code == 4
    digest = wirekit(
        "get", f"{base}/digest-auth/auth/ada/pw", "--auth", "ada:pw", "--auth-type", "digest"
    )
    assert digest.code == 0, digest.stderr
    assert json.loads(digest.stdout) == {"authenticated": True, "user": "ada"}
    assert wirekit("get", base, "--auth", "nocolon").code == 2


def test_insecure_warns_loudly(wirekit: Run, httpbin_tls_server: ThreadedWSGIServer) -> None:
    url = f"{str(httpbin_tls_server.url).rstrip('/')}/get"
    checked = wirekit("get", url)
    assert checked.code == 9  # the test CA is not trusted: verification fails
    insecure = wirekit("get", url, "--insecure")
    assert insecure.code == 0, insecure.stderr
    assert "WARNING: --insecure" in insecure.stderr
    assert "NOT verified" in insecure.stderr


# -- exit codes --------------------------------------------------------------------------
@pytest.mark.parametrize(("status", "code"), [(200, 0), (302, 0), (404, 4), (418, 4), (503, 5)])
def test_status_exit_codes(wirekit: Run, base: str, status: int, code: int) -> None:
    result = wirekit("get", f"{base}/status/{status}", "--no-follow")
    assert result.code == code
    if code:
        assert f"answered {status}" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_refused_connection_exit_code(wirekit: Run, closed_port: int) -> None:
    result = wirekit("get", f"http://127.0.0.1:{closed_port}/")
    assert result.code == 7
    assert result.stderr.strip() == f"error: connection refused by 127.0.0.1:{closed_port}"
    document = wirekit("get", f"http://127.0.0.1:{closed_port}/", "--json").json()
    assert document["exit_code"] == 7
    assert document["ok"] is False


def test_timeout_exit_code(wirekit: Run) -> None:
    with ScriptedServer([expect(), hold()]) as server:
        result = wirekit("get", server.url, "--timeout", "0.5")
    assert result.code == 8
    message = result.stderr.strip()
    assert message.startswith("error: ")
    assert len(message.splitlines()) == 1
    assert f"127.0.0.1:{server.port}" in message  # where it failed, even for a deadline


def test_url_shorthands_and_bad_urls(wirekit: Run, httpbin_server: ThreadedWSGIServer) -> None:
    port = str(httpbin_server.url).rstrip("/").rsplit(":", 1)[1]
    assert complete_url(":8000/x") == "http://localhost:8000/x"
    assert complete_url("example.test/a") == "http://example.test/a"
    assert complete_url("https://h/") == "https://h/"
    result = wirekit("get", f"127.0.0.1:{port}/get", "--json")
    assert result.json()["status"] == 200
    bad = wirekit("get", "http://[bad/")
    assert bad.code == 2
    assert "http://[bad/" in bad.stderr


def _waterfall(timings: dict[str, float], elapsed: float, width: int) -> list[str]:
    """The lines ``wirekit get --timing`` prints for a response with these timings."""
    import io

    from wirekit import Response
    from wirekit.cli._output import Output
    from wirekit.cli.get import _print_waterfall

    response = Response(200)
    response.timings = timings
    response.elapsed = elapsed
    stream = io.StringIO()
    out = Output(stdout=stream)
    out.console.width = width
    _print_waterfall(out, response)
    return stream.getvalue().splitlines()


def test_timing_waterfall_keeps_phase_names_whole_on_a_slow_request() -> None:
    # Seconds-long phases widen the number columns; on an 80-column output the phase names
    # must still come out whole, one row per phase (scripts read this table).
    timings = {"connect": 1.5, "request_sent": 2.25, "first_byte": 95.125, "body_done": 99.5}
    lines = _waterfall(timings, 99.75, 80)
    assert all(len(line) <= 80 for line in lines)
    names = [line.split("  ")[0].strip() for line in lines[1:]]
    assert "waiting (first byte)" in names
    assert "total" in names


def test_timing_waterfall_reads_timings_as_offsets_from_the_start() -> None:
    # docs/client.md: timings are seconds from the start of the request to the end of each
    # phase, dns/connect/tls included (the waterfall once read those three as durations:
    # bars too long, no "send" row, negative durations).
    timings = {
        "dns": 0.010,
        "connect": 0.030,
        "tls": 0.060,
        "request_sent": 0.065,
        "first_byte": 0.100,
        "body_done": 0.120,
    }
    rows = {}
    for line in _waterfall(timings, 0.120, 100)[1:]:
        match = re.match(r"\s*(\S.*?)\s{2,}([\d.]+)\s+([\d.]+)", line)
        if match and match.group(1) != "total":
            rows[match.group(1)] = (float(match.group(2)), float(match.group(3)))
    assert rows == {
        "DNS": (0.0, 10.0),
        "connect": (10.0, 20.0),
        "TLS": (30.0, 30.0),
        "send": (60.0, 5.0),
        "waiting (first byte)": (65.0, 35.0),
        "download": (100.0, 20.0),
    }
