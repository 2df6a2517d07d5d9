"""``wirekit serve`` in a subprocess against real peers: nginx in front of it, ab and wrk
load clients, and curl trusting the ``--ssl-dev`` certificate.

Every peer is a real program (a missing one fails the test: .ci/run installs them) on
loopback ports; outputs are parsed and asserted, never just run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import re
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tests.server.process_support import (
    PROCESS_WAIT,
    ServeProcess,
    require_tool,
    wait_until,
)

NGINX = "/usr/sbin/nginx"
CURL = "/usr/bin/curl"
AB = "/usr/bin/ab"
WRK = "/usr/bin/wrk"

#: The address the test client connects from: distinct from nginx's own 127.0.0.1, so the
#: client address the app sees tells which hop the server believed.
CLIENT_ADDRESS = "127.0.0.5"

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def accepts_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
    except OSError:
        return False
    return True


# -- 1. nginx as a TLS-terminating reverse proxy --------------------------------------------
NGINX_CONFIG = """
daemon off;
master_process off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {folder}/server.pem;
        ssl_certificate_key {folder}/server.key;
        location / {{
            proxy_pass http://127.0.0.1:{backend};
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
        }}
    }}
}}
"""


@contextlib.contextmanager
def nginx_in_front(folder: Path, backend: int, ca: trustme.CA) -> Iterator[int]:
    """nginx terminating TLS on a free port and proxying to ``backend``; yields its port."""
    require_tool(NGINX)
    certificate = ca.issue_cert("127.0.0.1", "shop.test")
    certificate.private_key_pem.write_to_path(str(folder / "server.key"))
    certificate.cert_chain_pems[0].write_to_path(str(folder / "server.pem"))
    port = free_port()
    config = folder / "nginx.conf"
    config.write_text(NGINX_CONFIG.format(folder=folder, port=port, backend=backend))
    log = open(folder / "nginx.out", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [NGINX, "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def listening() -> bool:
            assert process.poll() is None, (
                f"nginx exited with {process.returncode}: "
                f"{(folder / 'nginx.out').read_text()} {(folder / 'error.log').read_text()}"
            )
            return accepts_connections(port)

        wait_until(listening, f"nginx listening on 127.0.0.1:{port}")
        yield port
    finally:
        process.terminate()
        try:
            process.wait(PROCESS_WAIT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(PROCESS_WAIT)
        log.close()


def whoami(
    port: int, *, context: ssl.SSLContext | None = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """GET / from CLIENT_ADDRESS with Host: shop.test; the JSON the whoami app answered."""
    connection: http.client.HTTPConnection
    if context is not None:
        connection = http.client.HTTPSConnection(
            "127.0.0.1",
            port,
            timeout=PROCESS_WAIT,
            context=context,
            source_address=(CLIENT_ADDRESS, 0),
        )
    else:
        connection = http.client.HTTPConnection(
            "127.0.0.1", port, timeout=PROCESS_WAIT, source_address=(CLIENT_ADDRESS, 0)
        )
    try:
        connection.request("GET", "/", headers={"Host": "shop.test", **(headers or {})})
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200, body
        answer: dict[str, Any] = json.loads(body)
        return answer
    finally:
        connection.close()


@pytest.mark.needs_tool("nginx")
@pytest.mark.parametrize("app", ["peer_apps:wsgi_whoami", "peer_apps:asgi_whoami"])
def test_nginx_forwarded_headers_are_believed_and_forged_ones_ignored(
    tmp_path: Path, app: str
) -> None:
    ca = trustme.CA()
    # This nginx sets X-Forwarded-Host (and not Host): so it is trusted for it.
    arguments = ["--proxy-headers", "--forwarded-host", "--forwarded-allow-ips", "127.0.0.1"]
    with ServeProcess(app, arguments, log_path=tmp_path / "serve.log") as server:
        backend = server.wait_serving()
        with nginx_in_front(tmp_path, backend, ca) as proxy_port:
            context = ssl.create_default_context()
            ca.configure_trust(context)
            through_proxy = whoami(proxy_port, context=context)
            # What nginx said: the real client, the scheme it terminated, the Host asked for.
            assert through_proxy["client"] == CLIENT_ADDRESS
            assert through_proxy["scheme"] == "https"
            assert through_proxy["host"] == "shop.test"

            # The same claims straight from an untrusted peer (127.0.0.5) are ignored.
            forged = whoami(
                backend,
                headers={
                    "X-Forwarded-For": "203.0.113.9",
                    "X-Forwarded-Proto": "https",
                    "X-Forwarded-Host": "evil.test",
                    "Forwarded": "for=203.0.113.9;proto=https;host=evil.test",
                },
            )
            assert forged["client"] == CLIENT_ADDRESS
            assert forged["scheme"] == "http"
            assert forged["host"] == "shop.test"

            # A client trying to smuggle an address through nginx: nginx appends the real
            # one, and only the hop nginx vouches for is believed.
            smuggled = whoami(
                proxy_port, context=context, headers={"X-Forwarded-For": "203.0.113.9"}
            )
            assert smuggled["client"] == CLIENT_ADDRESS


# -- 2. real load clients -------------------------------------------------------------------
@pytest.mark.needs_tool("ab")
@pytest.mark.parametrize("app", ["peer_apps:wsgi_hello", "peer_apps:asgi_hello"])
def test_ab_keep_alive_load_has_no_failures(tmp_path: Path, app: str) -> None:
    require_tool(AB)
    with ServeProcess(app, ["--no-server-header"], log_path=tmp_path / "serve.log") as server:
        port = server.wait_serving()
        result = subprocess.run(
            [AB, "-q", "-n", "2000", "-c", "20", "-k", "-s", "20", f"http://127.0.0.1:{port}/"],
            capture_output=True,
            text=True,
            timeout=PROCESS_WAIT * 2,
            check=False,
        )
        report = result.stdout + result.stderr
        assert result.returncode == 0, report
        assert re.search(r"^Complete requests:\s+2000$", report, re.M), report
        assert re.search(r"^Failed requests:\s+0$", report, re.M), report
        assert "Non-2xx responses" not in report, report
        # ab speaks HTTP/1.0 + "Connection: Keep-Alive": the server must keep those open.
        keep_alive = re.search(r"^Keep-Alive requests:\s+(\d+)$", report, re.M)
        assert keep_alive is not None, report
        assert int(keep_alive.group(1)) > 0, report
        assert server.process.poll() is None, server.log()


@pytest.mark.needs_tool("wrk")
@pytest.mark.parametrize("app", ["peer_apps:wsgi_hello", "peer_apps:asgi_hello"])
def test_wrk_load_has_no_errors(tmp_path: Path, app: str) -> None:
    require_tool(WRK)
    with ServeProcess(app, [], log_path=tmp_path / "serve.log") as server:
        port = server.wait_serving()
        result = subprocess.run(
            [WRK, "-t1", "-c32", "-d2s", "--timeout", "20s", f"http://127.0.0.1:{port}/"],
            capture_output=True,
            text=True,
            timeout=PROCESS_WAIT * 2,
            check=False,
        )
        report = result.stdout + result.stderr
        assert result.returncode == 0, report
        done = re.search(r"^\s*(\d+) requests in ", report, re.M)
        assert done is not None, report
        assert int(done.group(1)) > 0, report
        assert "Socket errors" not in report, report
        assert "Non-2xx or 3xx responses" not in report, report
        assert server.process.poll() is None, server.log()


# -- 5. --ssl-dev -----------------------------------------------------------------------------
_DEV_CERTIFICATE = re.compile(
    r"development certificate (?P<path>\S+) \(SHA-256 fingerprint (?P<fingerprint>[0-9A-F:]+)\)"
)


@pytest.mark.needs_tool("curl")
def test_ssl_dev_certificate_is_printed_and_verifies(tmp_path: Path) -> None:
    require_tool(CURL)
    with ServeProcess(
        "peer_apps:wsgi_hello",
        ["--ssl-dev"],
        log_path=tmp_path / "serve.log",
        # The certificate goes to a new folder under TMPDIR: here, cleaned up by pytest.
        environment={"TMPDIR": str(tmp_path)},
    ) as server:
        port = server.wait_serving()
        found = _DEV_CERTIFICATE.search(server.log())
        assert found is not None, f"no certificate path and fingerprint in:\n{server.log()}"
        certfile = Path(found.group("path"))
        assert certfile.is_relative_to(tmp_path)
        certificate = x509.load_pem_x509_certificate(certfile.read_bytes())
        printed = found.group("fingerprint")
        assert printed == certificate.fingerprint(hashes.SHA256()).hex(":").upper()
        key_file = certfile.with_name("dev-key.pem")
        assert key_file.stat().st_mode & 0o077 == 0, "the dev key must not be group/world readable"

        result = subprocess.run(
            [
                CURL,
                "--silent",
                "--show-error",
                "--noproxy",
                "*",
                "--max-time",
                "20",
                "--cacert",
                str(certfile),
                "--write-out",
                "\n%{http_code}",
                f"https://127.0.0.1:{port}/",
            ],
            capture_output=True,
            text=True,
            timeout=PROCESS_WAIT,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == "hello\n200"

        # Python's ssl with that certificate as the only CA verifies it too, and sees the
        # very certificate whose fingerprint was printed.
        context = ssl.create_default_context(cafile=str(certfile))
        with (
            socket.create_connection(("127.0.0.1", port), timeout=PROCESS_WAIT) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            served = tls.getpeercert(binary_form=True)
            assert served is not None
            served_certificate = x509.load_der_x509_certificate(served)
            assert served_certificate.fingerprint(hashes.SHA256()).hex(":").upper() == printed

        # Without trusting it, curl refuses: the certificate is not silently accepted.
        untrusted = subprocess.run(
            [CURL, "--silent", "--noproxy", "*", "--max-time", "20", f"https://127.0.0.1:{port}/"],
            capture_output=True,
            timeout=PROCESS_WAIT,
            check=False,
        )
        assert untrusted.returncode == 60  # CURLE_PEER_FAILED_VERIFICATION


#: TLS connections made to a two-worker --ssl-dev server (each may reach either worker).
DEV_CERTIFICATE_CONNECTIONS = 20


@dataclasses.dataclass
class TLSAnswer:
    pid: int
    served_fingerprint: str


def whoami_tls(port: int, context: ssl.SSLContext) -> TLSAnswer:
    """GET / over TLS (verified by ``context``); the answering PID and the served certificate."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=PROCESS_WAIT) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        served = tls.getpeercert(binary_form=True)
        assert served is not None
        tls.sendall(b"GET / HTTP/1.1\r\nHost: dev\r\nConnection: close\r\n\r\n")
        received = b""
        for _ in range(1_000):
            chunk = tls.recv(65536)
            if not chunk:
                break
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), received
    fingerprint = x509.load_der_x509_certificate(served).fingerprint(hashes.SHA256())
    return TLSAnswer(int(json.loads(body)["pid"]), fingerprint.hex(":").upper())


def test_ssl_dev_workers_share_one_certificate(tmp_path: Path) -> None:
    with ServeProcess(
        "peer_apps:wsgi_whoami",
        ["--ssl-dev", "--workers", "2"],
        log_path=tmp_path / "serve.log",
        environment={"TMPDIR": str(tmp_path)},
    ) as server:
        port = server.wait_serving(count=2)
        printed = _DEV_CERTIFICATE.findall(server.log())
        assert len(printed) == 1, f"expected one development certificate:\n{server.log()}"
        certfile, fingerprint = printed[0]
        context = ssl.create_default_context(cafile=certfile)
        workers = set()
        for _ in range(DEV_CERTIFICATE_CONNECTIONS):
            answer = whoami_tls(port, context)
            assert answer.served_fingerprint == fingerprint
            workers.add(answer.pid)
        assert server.pid not in workers  # answered by the workers, not the supervisor
