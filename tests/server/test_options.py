"""Server options wired to the parts around the core: proxy headers, PROXY protocol, access
log, TLS, worker processes, and the ``serve`` command's own checks."""

from __future__ import annotations

import argparse
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.server.support import WAIT, read_response, running
from wirekit.cli import serve as serve_command


async def who(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    host = dict(scope["headers"]).get(b"host", b"").decode()
    body = json.dumps({"client": scope["client"], "scheme": scope["scheme"], "host": host})
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body.encode()})


def test_proxy_headers_from_a_trusted_proxy() -> None:
    with running(who, proxy_headers=True, forwarded_host=True) as server:
        _, _, body = server.get(
            "/",
            headers={
                "X-Forwarded-For": "203.0.113.9",
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Host": "example.org",
            },
        )
    seen = json.loads(body)
    assert seen["client"][0] == "203.0.113.9"
    assert seen["scheme"] == "https"
    assert seen["host"] == "example.org"


def test_proxy_headers_ignored_unless_enabled() -> None:
    with running(who) as server:
        _, _, body = server.get("/", headers={"X-Forwarded-For": "203.0.113.9"})
    assert json.loads(body)["client"][0] == "127.0.0.1"


def test_proxy_protocol_v1_gives_the_real_client() -> None:
    with running(who, proxy_protocol=True) as server, server.connect() as sock:
        sock.sendall(
            b"PROXY TCP4 198.51.100.7 127.0.0.1 4242 80\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        _, _, body = read_response(sock)
    assert json.loads(body)["client"] == ["198.51.100.7", 4242]


def test_proxy_protocol_required_when_enabled() -> None:
    with running(who, proxy_protocol=True) as server, server.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(WAIT)
        try:
            data = sock.recv(1024)
        except ConnectionResetError:
            data = b""
    assert data == b""


def test_access_log_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    with running(who, access_log="json") as server:
        server.get("/some/path?x=1", headers={"User-Agent": "tester/1"})
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    record = json.loads(lines[-1])
    assert record["status"] == 200
    assert "/some/path?x=1" in json.dumps(record)
    assert "tester/1" in json.dumps(record)


def test_tls_with_trustme_certificate(tmp_path: Path) -> None:
    import trustme

    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    certificate.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    certificate.private_key_pem.write_to_path(str(keyfile))
    context = ssl.create_default_context()
    authority.configure_trust(context)
    with running(who, ssl_certfile=str(certfile), ssl_keyfile=str(keyfile)) as server:
        import http.client

        conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=context, timeout=WAIT)
        conn.request("GET", "/")
        body = conn.getresponse().read()
        conn.close()
    assert json.loads(body)["scheme"] == "https"


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    serve_command.add_parser(parser.add_subparsers())
    return parser.parse_args(["serve", *argv])


def test_serve_command_reports_a_missing_module(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert serve_command.run(_parse("nosuchmodule:app", "--app-dir", str(tmp_path))) == 1
    assert "could not import module 'nosuchmodule'" in capsys.readouterr().err


def test_serve_command_reports_a_missing_attribute(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "emptyapp.py").write_text("")
    assert serve_command.run(_parse("emptyapp:app", "--app-dir", str(tmp_path))) == 1
    assert "has no attribute 'app'" in capsys.readouterr().err
    sys.modules.pop("emptyapp", None)


def test_serve_command_rejects_bad_limits(capsys: pytest.CaptureFixture[str]) -> None:
    assert serve_command.run(_parse("x:y", "--threads", "0")) == 1
    assert "threads must be at least 1" in capsys.readouterr().err


def test_options_reach_the_config() -> None:
    config = serve_command.config_from_args(
        _parse("m:a", "--host", "::", "--port", "0", "--interface", "wsgi", "--threads", "3",
               "--health-path", "/healthz", "--forwarded-allow-ips", "10.0.0.1, 10.0.0.2")
    )  # fmt: skip
    assert (config.host, config.port, config.interface, config.threads) == ("::", 0, "wsgi", 3)
    assert config.health_path == "/healthz"
    assert config.forwarded_allow_ips == ("10.0.0.1", "10.0.0.2")


def test_two_worker_processes_serve_and_stop_on_sigterm(tmp_path: Path) -> None:
    (tmp_path / "pidapp.py").write_text(
        "import os\n"
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [str(os.getpid()).encode()]\n"
    )
    socket_path = str(tmp_path / "w.sock")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wirekit.cli.serve",
            "pidapp:app",
            "--uds",
            socket_path,
            "--workers",
            "2",
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        pids = set()
        deadline = time.monotonic() + WAIT * 3
        for _ in range(400):
            if len(pids) == 2 or time.monotonic() > deadline:
                break
            if not os.path.exists(socket_path):
                time.sleep(0.05)
                continue
            result = subprocess.run(
                ["curl", "-sS", "--max-time", str(WAIT), "--unix-socket", socket_path, "http://x/"],
                capture_output=True,
                timeout=WAIT * 2,
            )
            if result.returncode == 0 and result.stdout.isdigit():
                pids.add(int(result.stdout))
            else:
                # Bound but not listening yet, or a worker still starting: wait instead of
                # spending the bounded attempts in a burst.
                time.sleep(0.05)
        assert len(pids) >= 1
        assert process.pid not in pids  # answered by workers, not the supervisor
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=WAIT * 3) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
