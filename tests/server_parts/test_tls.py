"""Server TLS contexts and the development certificate, over real loopback handshakes."""

from __future__ import annotations

import hashlib
import os
import socket
import ssl
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trustme

from wirekit.errors import TLSError
from wirekit.server.tls import dev_certificate, server_ssl_context


@dataclass
class HandshakeResult:
    alpn: str | None = None
    client_subject: object = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_files(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("server-cert")
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    certfile, keyfile = folder / "cert.pem", folder / "key.pem"
    leaf.private_key_pem.write_to_path(str(keyfile))
    leaf.cert_chain_pems[0].write_to_path(str(certfile))
    with open(certfile, "ab") as chain:
        for pem in leaf.cert_chain_pems[1:]:
            chain.write(pem.bytes())
    return certfile, keyfile


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def serve_once(context: ssl.SSLContext) -> tuple[int, HandshakeResult, threading.Thread]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    port = listener.getsockname()[1]
    result = HandshakeResult()

    def run() -> None:
        try:
            connection, _ = listener.accept()
            connection.settimeout(10)
            with context.wrap_socket(connection, server_side=True) as tls:
                result.alpn = tls.selected_alpn_protocol()
                result.client_subject = (tls.getpeercert() or {}).get("subject")
                tls.sendall(b"ok")
                tls.recv(1)  # wait for the client to close
        except (OSError, ssl.SSLError) as exc:
            result.error = exc
        finally:
            listener.close()
            result.done.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return port, result, thread


def talk(port: int, client: ssl.SSLContext, server_hostname: str = "localhost") -> bytes:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        client.wrap_socket(raw, server_hostname=server_hostname) as tls,
    ):
        return tls.recv(2)


def refused(port: int, client: ssl.SSLContext) -> bool:
    """Whether the server turned the client away: an alert, a reset, or a close with no data."""
    try:
        reply = talk(port, client)
    except (ssl.SSLError, ConnectionError):
        return True
    return reply == b""


@pytest.fixture
def client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ca.configure_trust(context)
    return context


def test_plain_tls_handshake(
    server_files: tuple[Path, Path], client_context: ssl.SSLContext
) -> None:
    context = server_ssl_context(*server_files)
    port, result, thread = serve_once(context)
    assert talk(port, client_context) == b"ok"
    thread.join(10)
    assert result.error is None
    assert result.client_subject is None


def test_modern_defaults(server_files: tuple[Path, Path]) -> None:
    context = server_ssl_context(*server_files)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.options & ssl.OP_NO_COMPRESSION
    assert context.options & ssl.OP_CIPHER_SERVER_PREFERENCE
    assert context.verify_mode == ssl.CERT_NONE


def test_alpn_negotiated(server_files: tuple[Path, Path], client_context: ssl.SSLContext) -> None:
    port, result, thread = serve_once(server_ssl_context(*server_files, alpn=("h2", "http/1.1")))
    client_context.set_alpn_protocols(["http/1.1"])
    assert talk(port, client_context) == b"ok"
    thread.join(10)
    assert result.alpn == "http/1.1"


def test_mutual_tls_accepted(
    ca: trustme.CA,
    server_files: tuple[Path, Path],
    ca_file: Path,
    client_context: ssl.SSLContext,
) -> None:
    context = server_ssl_context(*server_files, ca_certs=ca_file, require_client_cert=True)
    assert context.verify_mode == ssl.CERT_REQUIRED
    ca.issue_cert("client@example.test").configure_cert(client_context)
    port, result, thread = serve_once(context)
    assert talk(port, client_context) == b"ok"
    thread.join(10)
    assert result.error is None
    assert result.client_subject is not None


def test_mutual_tls_rejects_client_without_certificate(
    server_files: tuple[Path, Path], ca_file: Path, client_context: ssl.SSLContext
) -> None:
    context = server_ssl_context(*server_files, ca_certs=ca_file, require_client_cert=True)
    port, result, thread = serve_once(context)
    # TLS 1.3 finishes the client's side before the server checks its certificate, so
    # the refusal arrives on the first read as an alert (or a reset).
    assert refused(port, client_context), "server answered a client with no certificate"
    thread.join(10)
    assert isinstance(result.error, ssl.SSLError)
    assert "certificate" in str(result.error).lower()


def test_mutual_tls_rejects_certificate_from_another_ca(
    server_files: tuple[Path, Path], ca_file: Path, client_context: ssl.SSLContext
) -> None:
    trustme.CA().issue_cert("intruder@example.test").configure_cert(client_context)
    context = server_ssl_context(*server_files, ca_certs=ca_file, require_client_cert=True)
    port, result, thread = serve_once(context)
    assert refused(port, client_context), "server answered a certificate from another CA"
    thread.join(10)
    assert isinstance(result.error, ssl.SSLError)


def test_missing_files_are_named(tmp_path: Path, server_files: tuple[Path, Path]) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(TLSError, match=r"certificate file .*nope\.pem"):
        server_ssl_context(missing, server_files[1])
    with pytest.raises(TLSError, match=r"key file .*nope\.pem"):
        server_ssl_context(server_files[0], missing)
    with pytest.raises(TLSError, match=r"client CA file .*nope\.pem"):
        server_ssl_context(*server_files, ca_certs=missing)


def test_garbage_and_mismatched_key_are_named(
    tmp_path: Path, server_files: tuple[Path, Path], ca: trustme.CA
) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(TLSError, match=r"garbage\.pem"):
        server_ssl_context(garbage, server_files[1])
    other_key = tmp_path / "other-key.pem"
    ca.issue_cert("other.test").private_key_pem.write_to_path(str(other_key))
    with pytest.raises(TLSError, match=r"does not belong|other-key\.pem"):
        server_ssl_context(server_files[0], other_key)


def test_bad_cipher_list_is_named(server_files: tuple[Path, Path]) -> None:
    with pytest.raises(TLSError, match="NO-SUCH-CIPHER"):
        server_ssl_context(*server_files, ciphers="NO-SUCH-CIPHER")


def test_require_client_cert_needs_ca(server_files: tuple[Path, Path]) -> None:
    with pytest.raises(ValueError, match="ca_certs"):
        server_ssl_context(*server_files, require_client_cert=True)


def test_dev_certificate_is_trusted_by_a_client_that_pins_it(tmp_path: Path) -> None:
    dev = dev_certificate(directory=tmp_path)
    for path in (dev.certfile, dev.keyfile):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    client = ssl.create_default_context(cafile=str(dev.certfile))
    # Python 3.13 turns on strict X.509 checks by default; the certificate must pass them.
    client.verify_flags |= getattr(ssl, "VERIFY_X509_STRICT", 0)
    port, result, thread = serve_once(server_ssl_context(dev.certfile, dev.keyfile))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        client.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
        assert tls.recv(2) == b"ok"
    thread.join(10)
    assert result.error is None
    assert der is not None
    assert hashlib.sha256(der).hexdigest().upper() == dev.fingerprint_sha256.replace(":", "")
    assert len(dev.fingerprint_sha256.split(":")) == 32


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_dev_certificate_covers_ip_addresses(tmp_path: Path, address: str) -> None:
    dev = dev_certificate(directory=tmp_path)
    client = ssl.create_default_context(cafile=str(dev.certfile))
    port, result, thread = serve_once(server_ssl_context(dev.certfile, dev.keyfile))
    assert talk(port, client, server_hostname=address) == b"ok"
    thread.join(10)
    assert result.error is None


def test_dev_certificate_wrong_name_fails(tmp_path: Path) -> None:
    dev = dev_certificate(("localhost",), tmp_path)
    client = ssl.create_default_context(cafile=str(dev.certfile))
    port, _result, thread = serve_once(server_ssl_context(dev.certfile, dev.keyfile))
    with pytest.raises(ssl.SSLCertVerificationError, match=r"127\.0\.0\.1"):
        talk(port, client, server_hostname="127.0.0.1")
    thread.join(10)


def test_dev_certificate_default_directory_is_private() -> None:
    dev = dev_certificate()
    try:
        assert stat.S_IMODE(os.stat(dev.certfile.parent).st_mode) == 0o700
        assert dev.certfile.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    finally:
        dev.certfile.unlink()
        dev.keyfile.unlink()
        dev.certfile.parent.rmdir()
