"""The HTTP server over TLS at its edges (found by a review). Each test failed before its
fix (the last five until the server accepted TLS itself: wirekit.server.tls_accept)."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

from tests.server.apps import asgi_hello as hello
from tests.server.process_support import ServeProcess, open_fd_count
from tests.server.support import WAIT, read_response, running

SERVER_DIR = Path(__file__).resolve().parent.parent / "server"


class Files:
    def __init__(self, folder: Path) -> None:
        self.ca = trustme.CA()
        issued = self.ca.issue_cert("127.0.0.1", "localhost")
        self.certfile = folder / "cert.pem"
        self.keyfile = folder / "key.pem"
        self.ca_certs = folder / "ca.pem"
        issued.cert_chain_pems[0].write_to_path(str(self.certfile))
        issued.private_key_pem.write_to_path(str(self.keyfile))
        self.ca.cert_pem.write_to_path(str(self.ca_certs))
        key = serialization.load_pem_private_key(issued.private_key_pem.bytes(), None)
        self.encrypted_keyfile = folder / "encrypted-key.pem"
        self.encrypted_keyfile.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"secret"),
            )
        )


@pytest.fixture
def files(tmp_path: Path) -> Files:
    return Files(tmp_path)


def _unverified_client() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


# -- 1. --ssl-dev silently drops --ssl-ca-certs (mutual TLS not enforced) ---------------------


def test_ssl_dev_with_ca_certs_still_requires_a_client_certificate(files: Files) -> None:
    """``--ssl-dev --ssl-ca-certs ca.pem`` in one process: the CA bundle is ignored and a
    client with no certificate gets the app (with --workers or --reload it IS enforced).
    Either enforce it or refuse the combination at startup."""
    try:
        server_cm = running(hello, ssl_dev=True, ssl_ca_certs=str(files.ca_certs))
        srv = server_cm.__enter__()
    except (ValueError, OSError):
        return  # refusing the combination at startup is a fix too
    try:
        status = None
        raw = srv.connect()
        sock: ssl.SSLSocket | None = None
        try:
            sock = _unverified_client().wrap_socket(raw)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            status = read_response(sock)[0]
            sock.close()
        except (ssl.SSLError, OSError, AssertionError):
            pass  # rejected: what mutual TLS must do
        finally:
            raw.close()
            if sock is not None:
                sock.close()
        assert status is None, "a client without a certificate was served despite --ssl-ca-certs"
    finally:
        server_cm.__exit__(None, None, None)


# -- 2. TLS options without a certificate: plain HTTP served silently ------------------------


@pytest.mark.parametrize("option", ["ssl_keyfile", "ssl_ca_certs"])
def test_tls_option_without_certificate_is_refused(files: Files, option: str) -> None:
    """``--ssl-keyfile`` or ``--ssl-ca-certs`` without ``--ssl-certfile`` serves plain
    HTTP without a word: a user who believes TLS (or mutual TLS) is on is wrong."""
    value = str(files.keyfile if option == "ssl_keyfile" else files.ca_certs)
    try:
        server_cm = running(hello, **{option: value})
        srv = server_cm.__enter__()
    except (ValueError, OSError):
        return  # refused at startup: the fix
    try:
        sock = srv.connect()
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        served = read_response(sock)[0]
        sock.close()
    finally:
        server_cm.__exit__(None, None, None)
    pytest.fail(f"{option} without ssl_certfile served plain HTTP ({served})")


# -- 3. An encrypted private key: pass-phrase prompt and "[Errno 22] Invalid argument" ------


def test_encrypted_key_gives_a_clear_error_and_no_prompt(files: Files, tmp_path: Path) -> None:
    """There is no way to give the key's password; OpenSSL's terminal prompt is left on
    (printed even with no terminal, once per load) and the error is "[Errno 22] Invalid
    argument", which does not say the key is encrypted."""
    (tmp_path / "tlsapp.py").write_text(
        "async def app(scope, receive, send):\n    pass\n", encoding="utf-8"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "wirekit.cli",
            "serve",
            "tlsapp:app",
            "--app-dir",
            str(tmp_path),
            "--port",
            "0",
            "--ssl-certfile",
            str(files.certfile),
            "--ssl-keyfile",
            str(files.encrypted_keyfile),
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=WAIT * 2,
        cwd=tmp_path,
    )
    output = (done.stdout + done.stderr).decode(errors="replace")
    assert done.returncode != 0, output
    assert "Enter PEM pass phrase" not in output, output
    assert str(files.encrypted_keyfile) in output, output
    lowered = output.lower()
    assert "encrypt" in lowered or "password" in lowered or "pass phrase" in lowered, output


# -- 4. max_connections does not bound connections still in the TLS handshake ----------------


def test_stalled_tls_handshakes_are_bounded_by_max_connections(
    files: Files, tmp_path: Path
) -> None:
    """Connections that never send a ClientHello are not counted (HTTPServerProtocol's
    connection_made only runs after the handshake): 60 bare TCP connects hold 60 server
    descriptors for header_timeout with max_connections=5. At the open-file limit the
    server's accept() fails and real clients are cut off, the EMFILE the docs promise
    max_connections prevents (plain HTTP answers 503 and closes)."""
    with ServeProcess(
        "apps:asgi_hello",
        [
            "--ssl-certfile",
            str(files.certfile),
            "--ssl-keyfile",
            str(files.keyfile),
            "--max-connections",
            "5",
            "--header-timeout",
            "5",
        ],
        log_path=tmp_path / "serve.log",
        app_dir=SERVER_DIR,
    ) as process:
        port = process.wait_serving()
        baseline = open_fd_count(process.pid)
        stalled = [socket.create_connection(("127.0.0.1", port), timeout=WAIT) for _ in range(60)]
        try:
            deadline = time.monotonic() + 1.5
            held = open_fd_count(process.pid) - baseline
            while time.monotonic() < deadline and held > 15:
                time.sleep(0.1)
                held = open_fd_count(process.pid) - baseline
            assert held <= 15, (
                f"{held} descriptors held by connections stuck before the TLS handshake "
                f"with max_connections=5"
            )
        finally:
            for sock in stalled:
                sock.close()


# -- 5. A large answer to a slow reader is cut off when the server closes over TLS ----------

BIG = 12_000_000


def big_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Length", str(BIG)), ("Content-Type", "text/plain")])
    return [b"x" * BIG]


def _slow_download(port: int, context: ssl.SSLContext, request: bytes) -> int:
    """Body bytes received by a client that reads the head, is busy for 2 s, then reads
    the rest as fast as it can (bounded to 8 s)."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    raw.settimeout(WAIT)
    raw.connect(("127.0.0.1", port))
    sock = context.wrap_socket(raw, server_hostname="127.0.0.1")
    sock.sendall(request)
    data = bytearray(sock.recv(16384))
    time.sleep(2.0)
    started = time.monotonic()
    try:
        while time.monotonic() - started < 8.0:
            try:
                chunk = sock.recv(16384)
            except (ssl.SSLError, OSError):
                break
            if not chunk:
                break
            data += chunk
    finally:
        sock.close()
    _, _, body = bytes(data).partition(b"\r\n\r\n")
    return len(body)


def test_connection_close_answer_is_not_truncated_for_a_slow_reader(files: Files) -> None:
    """After a ``Connection: close`` answer the server closes the TLS transport; asyncio
    then aborts the socket ssl_shutdown_timeout (1 s, main.py) later even though the
    encrypted answer still sits in the write buffer: the client gets a truncated body.
    Over plain HTTP close() flushes the buffer first and the whole body arrives. (The same
    cut happens at idle_timeout on a keep-alive connection, and at graceful shutdown.)"""
    context = ssl.create_default_context(cafile=str(files.ca_certs))
    with running(big_wsgi, ssl_certfile=str(files.certfile), ssl_keyfile=str(files.keyfile)) as srv:
        received = _slow_download(
            srv.port, context, b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
    assert received == BIG, f"TLS answer truncated: {received} of {BIG} body bytes"


def test_keep_alive_answer_is_not_truncated_at_idle_timeout(files: Files) -> None:
    """The app wrote its whole answer at once, so the TLS layer never told the protocol
    to pause (its own buffer is empty, the bytes wait in the socket transport's): the
    idle timeout starts at once, and its close() cuts the download off 1 s later."""
    context = ssl.create_default_context(cafile=str(files.ca_certs))
    with running(
        big_wsgi,
        ssl_certfile=str(files.certfile),
        ssl_keyfile=str(files.keyfile),
        idle_timeout=0.5,
    ) as srv:
        received = _slow_download(srv.port, context, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert received >= BIG, f"TLS answer truncated: {received} of {BIG} body bytes"


# -- 6. Every client close_notify logs an asyncio WARNING ------------------------------------


def test_client_close_notify_does_not_log_a_warning(
    files: Files, caplog: pytest.LogCaptureFixture
) -> None:
    """HTTPServerProtocol.eof_received returns True (keep a half-closed plain-TCP client's
    answer going); over TLS asyncio ignores that and logs "returning true from
    eof_received() has no effect when using ssl" at WARNING for every client that ends
    with a close_notify (openssl s_client, browsers closing idle connections)."""
    import logging

    caplog.set_level(logging.DEBUG)
    context = ssl.create_default_context(cafile=str(files.ca_certs))
    with running(hello, ssl_certfile=str(files.certfile), ssl_keyfile=str(files.keyfile)) as srv:
        for _ in range(3):
            sock = context.wrap_socket(srv.connect(), server_hostname="127.0.0.1")
            sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert read_response(sock)[0] == 200
            try:
                sock.unwrap().close()  # sends close_notify, as a well-behaved client does
            except (ssl.SSLError, OSError):
                sock.close()
        time.sleep(0.3)
    noisy = [r.getMessage() for r in caplog.records if "eof_received" in r.getMessage()]
    assert not noisy, noisy


# -- 7. Rejected client certificates leave no trace in the server log ------------------------


def test_rejected_client_certificate_is_logged_once(
    files: Files, caplog: pytest.LogCaptureFixture
) -> None:
    """With --ssl-ca-certs, a client certificate from another CA is rejected (good) but
    the server logs nothing at any level, even --log-level debug: asyncio reports
    handshake failures only in its debug mode. An operator setting up mutual TLS cannot
    see why clients fail."""
    import logging

    caplog.set_level(logging.DEBUG)
    stranger = trustme.CA().issue_cert("client.example")
    context = ssl.create_default_context(cafile=str(files.ca_certs))
    stranger.configure_cert(context)
    with running(
        hello,
        ssl_certfile=str(files.certfile),
        ssl_keyfile=str(files.keyfile),
        ssl_ca_certs=str(files.ca_certs),
    ) as srv:
        status = None
        raw = srv.connect()
        sock: ssl.SSLSocket | None = None
        try:
            sock = context.wrap_socket(raw, server_hostname="127.0.0.1")
            sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            status = read_response(sock)[0]
            sock.close()
        except (ssl.SSLError, OSError, AssertionError):
            pass
        finally:
            raw.close()
            if sock is not None:
                sock.close()
        assert status is None, "a certificate from an unknown CA was accepted"
        time.sleep(0.3)
    about = [
        r
        for r in caplog.records
        if r.name.startswith("wirekit")
        and any(w in r.getMessage().lower() for w in ("certificate", "handshake"))
        and "development certificate" not in r.getMessage()
    ]
    assert len(about) == 1, [r.getMessage() for r in caplog.records]
    assert about[0].exc_info is None, "logged with a traceback"


def test_graceful_shutdown_lets_a_tls_download_finish(files: Files) -> None:
    """Graceful shutdown (SIGTERM) closes the connection once its answer is written; over
    TLS the answer still queued in the transport is dropped 1 s later (plain HTTP: whole)."""
    import threading

    context = ssl.create_default_context(cafile=str(files.ca_certs))
    with running(big_wsgi, ssl_certfile=str(files.certfile), ssl_keyfile=str(files.keyfile)) as srv:
        timer = threading.Timer(0.5, srv.server.shutdown)
        timer.start()
        try:
            received = _slow_download(
                srv.port, context, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
            )
        finally:
            timer.cancel()
    assert received == BIG, f"TLS answer truncated at shutdown: {received} of {BIG} body bytes"
