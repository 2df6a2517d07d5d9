"""Client SSL contexts: OS trust store by default, built once per configuration.

``create_ssl_context`` returns the same object for the same arguments and the same file
contents (an LRU cache keyed by absolute paths and each file's inode, size and mtime), since
building a context and loading a CA bundle costs milliseconds (DESIGN.md invariant 9).
Contexts from the cache are shared: do not mutate them; pass your own ``ssl.SSLContext``.
"""

from __future__ import annotations

import functools
import os
import ssl
from collections.abc import Sequence
from typing import TypeAlias

from wirekit.errors import TLSError

__all__ = [
    "DEFAULT_ALPN",
    "SSL_CONTEXT_CACHE_SIZE",
    "CertTypes",
    "VerifyTypes",
    "create_ssl_context",
]

#: ``verify``: True (OS trust store), False (no verification), a CA file or directory path,
#: or a ready ``ssl.SSLContext`` (used as is).
VerifyTypes: TypeAlias = "bool | str | os.PathLike[str] | ssl.SSLContext"

#: ``cert``: a PEM file holding certificate and key, ``(certfile, keyfile)`` or
#: ``(certfile, keyfile, password)``; the files as str or path objects, the pair or triple
#: as a tuple or a list (as requests takes them).
CertTypes: TypeAlias = "str | os.PathLike[str] | Sequence[str | os.PathLike[str]]"

#: HTTP/1.1 only until the HTTP/2 layer exists (RFC 7301 ALPN identifiers).
DEFAULT_ALPN: tuple[str, ...] = ("http/1.1",)

#: How many distinct configurations keep a cached context. A client uses one or two; the
#: bound only stops a program that builds contexts from ever-changing paths from growing.
SSL_CONTEXT_CACHE_SIZE = 32


def create_ssl_context(
    verify: VerifyTypes = True,
    *,
    cert: CertTypes | None = None,
    trust_env: bool = True,
    alpn: Sequence[str] | None = DEFAULT_ALPN,
) -> ssl.SSLContext:
    """A client context: CERT_REQUIRED and hostname checking unless ``verify=False``.

    ``verify=True`` uses the OS trust store through ``truststore`` (certifi's bundle when
    truststore cannot be used); with ``trust_env``, ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``
    replace it. A path uses only the CA certificates found there. ``verify=False`` gets its
    own context, never one shared with verifying configurations. An ``SSLContext`` given as
    ``verify`` is used as it is, with ``cert`` loaded into it (as httpx does).
    """
    cert_key: tuple[str, ...] | None = None
    if cert is not None:
        files = [cert] if isinstance(cert, (str, os.PathLike)) else list(cert)
        if not 1 <= len(files) <= 3:
            raise TypeError(
                "cert= takes a file, (certfile, keyfile) or (certfile, keyfile, password)"
            )
        cert_key = tuple(os.fspath(part) for part in files)
    if isinstance(verify, ssl.SSLContext):
        if cert_key is not None:
            _load_client_certificate(verify, cert_key)
        return verify
    # Paths made absolute, and each file's identity (inode, size, mtime) in the cache key:
    # a CA bundle or client certificate renewed in place, or a relative path after a
    # chdir, gets a new context for the next client, as a fresh load would.
    verify_key: bool | str = verify if isinstance(verify, bool) else _absolute(verify)
    if cert_key is not None:
        cert_key = (*map(_absolute, cert_key[:2]), *cert_key[2:])
    env_file = env_dir = None
    if trust_env and verify_key is True:
        env_file = os.environ.get("SSL_CERT_FILE") or None
        env_dir = os.environ.get("SSL_CERT_DIR") or None
    # SSLKEYLOGFILE: TLS secrets for Wireshark, as curl, requests and Python's own default
    # context write them (only when the environment is trusted).
    keylog = (os.environ.get("SSLKEYLOGFILE") or None) if trust_env else None
    alpn_key = tuple(alpn) if alpn else ()
    # Without trust_env the environment must not choose the trust store, not even through
    # OpenSSL's default paths (which read SSL_CERT_FILE/SSL_CERT_DIR themselves).
    ignore_env = not trust_env and verify_key is True
    paths = [verify_key, env_file, env_dir, *(cert_key[:2] if cert_key else ())]
    stamps = tuple(_stamp(path) for path in paths if isinstance(path, str))
    return _build_context(
        verify_key, cert_key, alpn_key, env_file, env_dir, ignore_env, stamps, keylog
    )


def _absolute(path: str | os.PathLike[str]) -> str:
    return os.path.abspath(os.fspath(path))


def _stamp(path: str) -> tuple[int, int, int] | None:
    """What tells a file's new contents from its old: None if missing (the build says so)."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_ino, status.st_size, status.st_mtime_ns)


@functools.lru_cache(maxsize=SSL_CONTEXT_CACHE_SIZE)
def _build_context(
    verify: bool | str,
    cert: tuple[str, ...] | None,
    alpn: tuple[str, ...],
    env_file: str | None,
    env_dir: str | None,
    ignore_env: bool = False,
    stamps: tuple[tuple[int, int, int] | None, ...] = (),  # only part of the cache key
    keylog: str | None = None,
) -> ssl.SSLContext:
    if verify is False:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif isinstance(verify, str):
        context = _context_from_locations(verify, what="verify")
    elif env_file or env_dir:
        context = _context_from_locations(env_file, env_dir, what="SSL_CERT_FILE/SSL_CERT_DIR")
    else:
        context = _os_trust_context(ignore_env=ignore_env)
    # TLS 1.0/1.1 are deprecated by RFC 8996.
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if alpn:
        context.set_alpn_protocols(list(alpn))
    if cert is not None:
        _load_client_certificate(context, cert)
    if keylog is not None:
        context.keylog_filename = keylog
    return context


def _load_client_certificate(context: ssl.SSLContext, cert: tuple[str, ...]) -> None:
    certfile = cert[0]
    keyfile = cert[1] if len(cert) > 1 else None
    password = cert[2] if len(cert) > 2 else None
    try:
        context.load_cert_chain(certfile, keyfile, password)
    except (OSError, ssl.SSLError) as exc:
        raise TLSError(f"cannot load client certificate {certfile!r}: {exc}") from exc


def _os_trust_context(*, ignore_env: bool = False) -> ssl.SSLContext:
    """truststore's context (verifies against the OS store); certifi's bundle if unusable.

    ``ignore_env``: on Linux truststore (through OpenSSL) honours SSL_CERT_FILE/SSL_CERT_DIR;
    then the distribution's bundle is loaded from OpenSSL's compiled-in paths instead."""
    import sys

    if ignore_env and sys.platform not in ("win32", "darwin"):
        paths = ssl.get_default_verify_paths()
        cafile = paths.openssl_cafile if os.path.isfile(paths.openssl_cafile) else None
        capath = paths.openssl_capath if os.path.isdir(paths.openssl_capath) else None
        if cafile is None and capath is None:
            return _certifi_context()
        bundle = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        bundle.load_verify_locations(cafile=cafile, capath=capath)
        return bundle
    try:
        import truststore
    except ImportError:  # pragma: no cover - truststore is a dependency; kept for vendors
        return _certifi_context()
    try:
        context: ssl.SSLContext = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    except (OSError, ssl.SSLError, NotImplementedError):  # pragma: no cover - odd platforms
        return _certifi_context()
    if not _os_store_present():
        # truststore on Linux reads the distribution's bundle; a minimal container may have
        # none, and then nothing would verify: certifi's bundle is the useful fallback.
        return _certifi_context()
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = True
    return context


def _os_store_present() -> bool:
    import sys

    if sys.platform in ("win32", "darwin"):  # pragma: no cover - the OS asks its own store
        return True
    paths = ssl.get_default_verify_paths()
    if paths.cafile:
        return True
    if paths.capath and os.path.isdir(paths.capath) and os.listdir(paths.capath):
        return True
    return any(
        os.path.isfile(p)
        for p in (
            "/etc/ssl/cert.pem",
            "/etc/ssl/certs/ca-certificates.crt",
            "/etc/pki/tls/cert.pem",
        )
    )


def _certifi_context() -> ssl.SSLContext:
    import certifi

    return _context_from_locations(certifi.where(), what="certifi")


def _context_from_locations(
    path: str | None, directory: str | None = None, *, what: str
) -> ssl.SSLContext:
    """A verifying context that trusts only the CA certificates at ``path`` (file or dir)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cafile = path
    if path is not None and directory is None and os.path.isdir(path):
        cafile, directory = None, path
    try:
        context.load_verify_locations(cafile=cafile, capath=directory)
    except (OSError, ssl.SSLError) as exc:
        raise TLSError(
            f"cannot load CA certificates from {what} {path or directory!r}: {exc}"
        ) from exc
    return context
