"""TLS for the server: a hardened ``ssl.SSLContext`` from certificate files, and a throwaway
self-signed development certificate (``wirekit serve --ssl-dev``).

Contexts are built once per configuration and shared by every connection (building one
reads and parses files: never per connection).
"""

from __future__ import annotations

import atexit
import datetime
import ipaddress
import logging
import os
import shutil
import ssl
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from wirekit.errors import TLSError

__all__ = [
    "DEV_CERTIFICATE_DAYS",
    "DevCertificate",
    "dev_certificate",
    "server_ssl_context",
    "serving_dev_certificate",
]

#: How long a development certificate stays valid: long enough for a working session,
#: short enough that a leaked one soon stops mattering.
DEV_CERTIFICATE_DAYS: Final = 30

Password = str | bytes | Callable[[], str | bytes]


def server_ssl_context(
    certfile: str | os.PathLike[str],
    keyfile: str | os.PathLike[str] | None = None,
    *,
    password: Password | None = None,
    ca_certs: str | os.PathLike[str] | None = None,
    require_client_cert: bool = False,
    alpn: Sequence[str] = ("http/1.1",),
    ciphers: str | None = None,
) -> ssl.SSLContext:
    """A server-side context: TLS 1.2 or newer, server cipher order, no TLS compression.

    ``ca_certs`` lets the server verify client certificates (optional unless
    ``require_client_cert``, which sets ``CERT_REQUIRED`` for mutual TLS). ``alpn`` is the
    protocols offered, in preference order. ``ciphers`` (OpenSSL syntax) replaces the TLS
    1.2 cipher list; Python's default list is already modern. Raises
    :class:`~wirekit.errors.TLSError` naming the file that could not be loaded.
    """
    if require_client_cert and ca_certs is None:
        raise ValueError("require_client_cert needs ca_certs: the CAs client certificates chain to")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # OP_NO_COMPRESSION: CRIME (CVE-2012-4929). Server preference: our list, not the
    # client's, picks the cipher. Single (EC)DH use: fresh key shares per handshake.
    context.options |= (
        ssl.OP_NO_COMPRESSION
        | ssl.OP_CIPHER_SERVER_PREFERENCE
        | ssl.OP_SINGLE_DH_USE
        | ssl.OP_SINGLE_ECDH_USE
    )
    if ciphers is not None:
        try:
            context.set_ciphers(ciphers)
        except ssl.SSLError as exc:
            raise TLSError(f"TLS cipher list {ciphers!r} selects no usable cipher") from exc
    _load_chain(context, certfile, keyfile, password)
    if ca_certs is not None:
        _check_readable(ca_certs, "client CA file")
        try:
            context.load_verify_locations(cafile=os.fspath(ca_certs))
        except (ssl.SSLError, OSError) as exc:
            raise TLSError(f"could not load client CA file {os.fspath(ca_certs)}: {exc}") from exc
        context.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    if alpn:
        context.set_alpn_protocols(list(alpn))
    return context


def _check_readable(path: str | os.PathLike[str], role: str) -> None:
    if not os.path.isfile(path):
        raise TLSError(f"TLS {role} {os.fspath(path)} does not exist or is not a file")
    if not os.access(path, os.R_OK):
        raise TLSError(f"TLS {role} {os.fspath(path)} is not readable by this user")


def _load_chain(
    context: ssl.SSLContext,
    certfile: str | os.PathLike[str],
    keyfile: str | os.PathLike[str] | None,
    password: Password | None,
) -> None:
    _check_readable(certfile, "certificate file")
    if keyfile is not None:
        _check_readable(keyfile, "key file")
    where = os.fspath(certfile) + (f" with key {os.fspath(keyfile)}" if keyfile else "")

    def no_password() -> str:
        # Without it OpenSSL prompts on the terminal (once per worker), or fails with
        # "[Errno 22] Invalid argument" when there is none: say what is wrong instead.
        raise TLSError(f"TLS key file {os.fspath(keyfile or certfile)} is encrypted")

    try:
        context.load_cert_chain(
            os.fspath(certfile),
            None if keyfile is None else os.fspath(keyfile),
            no_password if password is None else password,
        )
    except TLSError:
        raise
    except ssl.SSLError as exc:
        reason = exc.reason or str(exc)
        if "KEY_VALUES_MISMATCH" in str(reason).upper():
            reason = "the key does not belong to the certificate"
        raise TLSError(f"could not load TLS certificate {where}: {reason}") from exc
    except (OSError, ValueError, TypeError) as exc:
        # OSError here is usually "no start line" on a file that is not PEM, or a wrong
        # password (raised as a plain SSLError subclass on some OpenSSL versions).
        raise TLSError(f"could not load TLS certificate {where}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class DevCertificate:
    """A self-signed development certificate written to disk.

    ``fingerprint_sha256`` is upper-case hex pairs joined by colons, as browsers show it.
    """

    certfile: Path
    keyfile: Path
    fingerprint_sha256: str


def dev_certificate(
    hostnames: Sequence[str] = ("localhost", "127.0.0.1", "::1"),
    directory: str | os.PathLike[str] | None = None,
    *,
    days: int = DEV_CERTIFICATE_DAYS,
) -> DevCertificate:
    """Make a self-signed certificate for ``hostnames`` (names or IP addresses), valid
    ``days`` days, and write it and its key (mode 0600) to ``directory`` (default: a new
    private temporary directory). Needs the ``cryptography`` package (``wirekit[dev]``).

    For development only: clients must be told to trust this exact certificate.
    """
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "dev_certificate() needs the 'cryptography' package: pip install 'wirekit[dev]'"
        ) from exc
    if not hostnames:
        raise ValueError("dev_certificate() needs at least one host name or address")
    if days < 1:
        raise ValueError(f"dev certificate validity must be at least 1 day, got {days}")
    names: list[x509.GeneralName] = []
    for name in hostnames:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            names.append(x509.DNSName(name))
    # P-256: generated in microseconds (an RSA key takes ~100 ms), accepted by every client.
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "wirekit development"),
            x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0]),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    public_key = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        # Back-dated a little so a client whose clock is slightly behind still accepts it.
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    folder = (
        Path(directory)
        if directory is not None
        else Path(tempfile.mkdtemp(prefix="wirekit-dev-cert-"))
    )
    certfile = folder / "dev-cert.pem"
    keyfile = folder / "dev-key.pem"
    _write_private(certfile, certificate.public_bytes(serialization.Encoding.PEM))
    _write_private(
        keyfile,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    fingerprint = certificate.fingerprint(hashes.SHA256()).hex(":").upper()
    return DevCertificate(certfile, keyfile, fingerprint)


def _write_private(path: Path, data: bytes) -> None:
    # Created 0600 from the start (no window where another user could read the key), and
    # any older file of that name is replaced rather than written through.
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def serving_dev_certificate(log: logging.Logger) -> DevCertificate:
    """A development certificate for ``wirekit serve --ssl-dev``: made once, announced (its
    path and fingerprint are what a developer needs to make one client trust it, e.g.
    ``curl --cacert``), and its private directory removed when the process exits."""
    certificate = dev_certificate()
    directory = Path(certificate.certfile).parent
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    log.warning(
        "serving with a throwaway development certificate %s "
        "(SHA-256 fingerprint %s); trust only this exact certificate",
        certificate.certfile,
        certificate.fingerprint_sha256,
    )
    return certificate
