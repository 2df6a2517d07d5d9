"""`wirekit get` edge cases (each failed before its fix, found by a review)."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stdlib_server import serving


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, status: int, body: bytes, headers: tuple[tuple[str, str], ...] = ()) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.startswith("/moved"):
            self._answer(302, b"redirect page", (("Location", "/file"),))
        elif self.path.startswith("/big"):
            self._answer(200, b"line\n" * 100_000)
        else:
            self._answer(200, f"path={self.path}\n".encode())


@pytest.fixture
def server() -> Iterator[str]:
    with serving(_Handler) as port:
        yield f"127.0.0.1:{port}"


def _run(*args: str, stdout: int | None = subprocess.PIPE) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS")}
    return subprocess.run(
        [sys.executable, "-m", "wirekit.cli", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        timeout=50,
        env=env,
        check=False,
    )


def test_url_without_scheme_but_with_url_in_query_gets_http(server: str) -> None:
    # docs/cli.md: "a URL without a scheme gets http://". complete_url only looks for "://"
    # anywhere, so a query value holding a URL makes the whole thing "relative" (exit 2).
    done = _run("get", f"{server}/go?next=http://example.test/")
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b"path=/go?next=http://example.test/\n"


def test_continue_leaves_the_partial_file_alone_on_a_redirect_answer(
    server: str, tmp_path: Path
) -> None:
    # docs/cli.md, -c/--continue: 206 appends, 200 starts again, 416 may mean complete;
    # "any other answer leaves FILE unchanged (exit 1)". With --no-follow a 302 is such an
    # answer, yet the partial file is overwritten by the redirect page and the exit is 0.
    target = tmp_path / "file.bin"
    target.write_bytes(b"PARTIAL DATA")
    done = _run("get", f"http://{server}/moved", "-o", str(target), "--continue", "--no-follow")
    assert target.read_bytes() == b"PARTIAL DATA"
    assert done.returncode == 1, done.stderr.decode()


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_closed_pipe_gives_no_traceback(server: str, extra: list[str]) -> None:
    # `wirekit get URL | true` (or `| head -1` that exits early): the reader is gone, and
    # the command dumps a Python traceback (BrokenPipeError) on stderr.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = _run("get", f"http://{server}/big", *extra, stdout=write_end)
    finally:
        os.close(write_end)
    assert b"Traceback" not in done.stderr, done.stderr.decode()[-400:]


@pytest.mark.parametrize("item", ["X\\:Y:1", "X-A:a\r\nX-Injected: 1"])
def test_invalid_header_item_is_a_usage_error(server: str, item: str) -> None:
    # docs/cli.md: exit code "2 for a bad item or URL" (and _items.py already turns a
    # header name with white space into exit 2). A header name that is not a token, or a
    # value with CR/LF, gets through the item parser and fails later as exit 1.
    done = _run("get", f"http://{server}/x", item)
    assert done.returncode == 2, done.stderr.decode()
