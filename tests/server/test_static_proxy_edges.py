"""Static files, the access log and proxy headers at their edges (found by a review; each
test failed before its fix)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.server.support import read_until_closed, running
from wirekit.server.static import StaticFiles


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello, world\n"})


def _exchange(server: Any, request: bytes) -> bytes:
    with server.connect() as sock:
        sock.sendall(request)
        return read_until_closed(sock)


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


# -- access log + --static + --proxy-headers ---------------------------------------------------
def test_static_request_access_log_names_the_forwarded_client(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # docs/server.md: the access log shows "the client (the one a trusted proxy named, with
    # --proxy-headers)". Requests for --static files are dispatched before the proxy headers
    # are read (main.py _start_cycle), so they are logged with the proxy's address.
    (tmp_path / "a.txt").write_bytes(b"0123456789")
    with running(
        hello, access_log="combined", proxy_headers=True, static_dir=str(tmp_path)
    ) as server:
        response = _exchange(
            server,
            b"GET /static/a.txt HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.9\r\n"
            b"Connection: close\r\n\r\n",
        )
    assert _status(response) == 200
    lines = [line for line in capsys.readouterr().err.splitlines() if "/static/a.txt" in line]
    assert lines, "no access log line written"
    assert lines[-1].startswith("203.0.113.9 "), lines[-1]


# -- listing links --------------------------------------------------------------------------
def test_listing_link_to_a_non_utf8_file_name_is_served(tmp_path: Path) -> None:
    # The listing percent-encodes the raw name bytes ("bad%FF.txt"), but the path is decoded
    # as UTF-8 with replacement before lookup, so following the link gives 404.
    with open(os.fsencode(tmp_path) + b"/bad\xff.txt", "wb") as file:
        file.write(b"payload")
    with running(StaticFiles(tmp_path)) as server:
        status, _, body = server.get("/")
        assert status == 200
        hrefs = re.findall(rb'href="([^"]*bad[^"]*)"', body)
        assert hrefs, body
        status, _, body = server.get("/" + hrefs[0].decode("ascii"))
    assert status == 200, (hrefs[0], body)
    assert body == b"payload"


def test_listing_does_not_show_symlinks_that_leave_the_root(tmp_path: Path) -> None:
    # With follow_symlinks=False a link out of the root is refused (404), yet the listing
    # shows it, with the *target's* size and modification time (entry.stat() follows it):
    # e.g. a link to a secret file leaks its size. List what is served, nothing more.
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "secret.bin"
    outside.write_bytes(b"s" * 12345)
    os.symlink(outside, root / "escape.bin")
    (root / "ok.txt").write_bytes(b"ok")
    with running(StaticFiles(root)) as server:
        assert server.get("/escape.bin")[0] == 404
        status, _, body = server.get("/")
    assert status == 200
    assert b"ok.txt" in body
    assert b"escape.bin" not in body, body
    assert b"12345" not in body, body


# -- file URLs with a trailing slash ----------------------------------------------------------
def test_file_with_trailing_slash_is_not_found(tmp_path: Path) -> None:
    # "/page.html/" is served as page.html (the empty last segment is dropped), so its
    # relative links resolve under "/page.html/..." and every file gets a second URL.
    # A file is not a directory: nginx and Apache answer 404 (ENOTDIR).
    (tmp_path / "page.html").write_bytes(b"<a href='other.html'>x</a>")
    with running(StaticFiles(tmp_path)) as server:
        assert server.get("/page.html")[0] == 200
        status, _, _ = server.get("/page.html/")
    assert status == 404


# -- absolute-form targets ----------------------------------------------------------------------
def test_absolute_form_target_reaches_the_static_mount(tmp_path: Path) -> None:
    # RFC 9112 §3.2.2: a server MUST accept the absolute-form. The app gets it right
    # (build_scope splits it), but the --static prefix is matched on the raw target, so
    # "GET http://x/static/a.txt" goes to the app instead of the file.
    (tmp_path / "a.txt").write_bytes(b"0123456789")
    with running(hello, static_dir=str(tmp_path)) as server:
        response = _exchange(
            server, b"GET http://x/static/a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
    assert _status(response) == 200
    assert response.endswith(b"\r\n\r\n0123456789"), response


# -- wirekit serve --static with a bad directory ------------------------------------------------
def test_serve_static_missing_directory_is_a_clean_error(tmp_path: Path) -> None:
    # `wirekit serve --static ./pubic` (typo) ends in a ValueError traceback from
    # Server.__init__ -> StaticFiles(): run() only turns config/import/OSError failures into
    # one-line "wirekit serve: ..." errors.
    import subprocess
    import sys

    from tests.cli.conftest import cli_environment

    root = Path(__file__).resolve().parents[2]
    env = cli_environment(PYTHONPATH=str(root), PYTHONUNBUFFERED="1")
    missing = tmp_path / "pubic"
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "wirekit.cli",
            "serve",
            "--static",
            str(missing),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        timeout=30,
    )
    assert process.returncode in (1, 2), process.stdout
    assert "Traceback" not in process.stdout, process.stdout
    assert str(missing) in process.stdout, process.stdout


# -- unreadable directories ------------------------------------------------------------------
def test_unreadable_directory_is_a_clean_4xx_not_a_500(tmp_path: Path) -> None:
    # StaticFiles._lookup calls index_path.is_file(), which re-raises PermissionError
    # (pathlib ignores only ENOENT-like errors): GET /locked/ on a directory the server may
    # not search answers 500 and logs a traceback. It should be 403 or 404 like a refused
    # file. As root, DAC_OVERRIDE is dropped for the server process so modes apply.
    import re as _re
    import shutil
    import subprocess
    import sys
    import time

    from tests.cli.conftest import cli_environment
    from tests.server.process_support import get

    site = tmp_path / "site"
    (site / "locked").mkdir(parents=True)
    (site / "ok.txt").write_bytes(b"ok")
    (site / "locked").chmod(0)
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: file modes cannot be tested")
        caps = "-dac_override,-dac_read_search"
        prefix = [setpriv, f"--bounding-set={caps}", f"--inh-caps={caps}"]
    root = Path(__file__).resolve().parents[2]
    env = cli_environment(PYTHONPATH=str(root), PYTHONUNBUFFERED="1")
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                *prefix,
                sys.executable,
                "-m",
                "wirekit.cli",
                "serve",
                "--static",
                str(site),
                "--host",
                "127.0.0.1",
                "--port",
                "0",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            port = 0
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and process.poll() is None:
                match = _re.search(r"on \('127\.0\.0\.1', (\d+)\)", log_path.read_text())
                if match:
                    port = int(match.group(1))
                    break
                time.sleep(0.05)
            assert port, log_path.read_text()
            assert get(port, "/ok.txt") == (200, b"ok")
            status, body = get(port, "/locked/")
        finally:
            process.terminate()
            process.wait(20)
            (site / "locked").chmod(0o755)
    output = log_path.read_text()
    assert status in (403, 404), (status, body, output)
    assert "Traceback" not in output, output


# -- --static with --root-path, proxy that keeps the prefix -------------------------------------
def test_static_mount_under_root_path_when_the_proxy_keeps_the_prefix(tmp_path: Path) -> None:
    # docs/server.md: with --root-path /api "a path already under /api is left as it is"
    # (the app sees path /api/static/a.txt, root_path /api). The --static prefix is matched
    # on the raw target only, so /api/static/a.txt goes to the app, while /static/a.txt
    # (prefix stripped) is a file: the mount works for one proxy setup only.
    (tmp_path / "a.txt").write_bytes(b"0123456789")
    with running(hello, root_path="/api", static_dir=str(tmp_path)) as server:
        assert server.get("/static/a.txt")[2] == b"0123456789"
        status, _, body = server.get("/api/static/a.txt")
    assert (status, body) == (200, b"0123456789")


# -- --static-path without its leading slash ---------------------------------------------------
def test_static_path_without_leading_slash_is_refused_or_works(tmp_path: Path) -> None:
    # `--static-path static` is accepted, but the prefix is compared with the raw target
    # ("/static/a.txt" never starts with "static"), so the files are silently never served
    # and every request goes to the app. health_path gets "must start with '/'"; static_path
    # should be validated the same way (or normalised to "/static").
    (tmp_path / "a.txt").write_bytes(b"0123456789")
    refused = ""
    try:
        context = running(hello, static_dir=str(tmp_path), static_path="static")
        server = context.__enter__()
    except ValueError as exc:
        refused = str(exc)
    if refused:
        assert "static" in refused
        return
    try:
        status, _, body = server.get("/static/a.txt")
    finally:
        context.__exit__(None, None, None)
    assert (status, body) == (200, b"0123456789")


# -- proxy headers: a client's own Forwarded header passed through by nginx -----------------
async def who(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = f"{scope['client'][0]} {scope['scheme']}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def test_client_forwarded_header_does_not_override_the_proxys_x_forwarded_for() -> None:
    # docs/deployment.md's nginx config sets X-Forwarded-For/-Proto and passes any other
    # request header through, including a client's own "Forwarded". proxy_headers.resolve()
    # lets Forwarded win whenever present, so any client of that deployment chooses its
    # address and scheme: here it becomes 127.0.0.1 over https (IP allow-lists bypassed).
    # What the trusted proxy appended (X-Forwarded-For) must decide, not the client.
    with running(who, proxy_headers=True) as server:
        status, _, body = server.get(
            "/",
            headers={
                "Forwarded": "for=127.0.0.1;proto=https",  # from the client, passed through
                "X-Forwarded-For": "203.0.113.9",  # set by nginx ($proxy_add_x_forwarded_for)
                "X-Forwarded-Proto": "http",  # set by nginx ($scheme)
            },
        )
    assert status == 200
    assert body == b"203.0.113.9 http", body


async def host_echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = dict(scope["headers"]).get(b"host", b"?")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def test_client_x_forwarded_host_does_not_replace_host_behind_documented_nginx() -> None:
    # docs/deployment.md's nginx sets Host $host, X-Forwarded-For and X-Forwarded-Proto, not
    # X-Forwarded-Host, so a client's own X-Forwarded-Host reaches wirekit unchanged and
    # (from the trusted nginx) replaces Host: password-reset links, absolute redirects and
    # virtual-host routing then use the attacker's host. (uvicorn ignores X-Forwarded-Host;
    # werkzeug's ProxyFix trusts it only when asked, x_host=1.)
    with running(host_echo, proxy_headers=True) as server:
        status, _, body = server.get(
            "/",
            headers={
                "Host": "mysite.example",  # nginx: proxy_set_header Host $host
                "X-Forwarded-For": "203.0.113.9",  # nginx: $proxy_add_x_forwarded_for
                "X-Forwarded-Proto": "https",  # nginx: $scheme
                "X-Forwarded-Host": "evil.example",  # from the client, passed through
            },
        )
    assert status == 200
    assert body == b"mysite.example", body
