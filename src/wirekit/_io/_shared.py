"""Code both backends share: socket set-up, IP-literal parsing and error translation.

Library exceptions (``OSError``, ``ssl.SSLError``) become wirekit errors here, once, with
messages that name the host, the address and the phase (DESIGN.md invariant 7).
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import unquote

from wirekit._io.base import Address, SocketOption, Trace
from wirekit._io.happy_eyeballs import format_address
from wirekit.errors import (
    ConnectError,
    ConnectTimeout,
    NameResolutionError,
    ReadError,
    ReadTimeout,
    TLSError,
    WriteError,
    WriteTimeout,
)

_REASONS = {
    errno.ECONNREFUSED: "connection refused by",
    errno.ECONNRESET: "connection reset by",
    errno.ECONNABORTED: "connection aborted by",
    errno.EHOSTUNREACH: "host unreachable:",
    errno.ENETUNREACH: "network unreachable for",
    errno.ETIMEDOUT: "connection timed out (by the kernel) to",
    errno.EADDRNOTAVAIL: "local address not available to reach",
    errno.EPIPE: "connection closed (broken pipe) by",
}


def literal_addresses(host: str, port: int, family: int) -> list[Address] | None:
    """The address itself when ``host`` is an IP literal (no DNS needed), else None.

    A literal of another family than a forced ``family`` is a ConnectError: it is not a
    name a resolver could answer for the other family (curl -6 with an IPv4 URL fails to
    connect, not to resolve)."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    found: list[Address] | None = None
    try:
        socket.inet_pton(socket.AF_INET, bare)
    except OSError:
        if ":" in bare:
            try:
                socket.inet_pton(socket.AF_INET6, bare.split("%", 1)[0])
            except OSError:
                pass
            else:
                # A zone in a URL is written "%25eth0" (RFC 6874): the socket wants "%eth0".
                found = [(socket.AF_INET6, (unquote(bare), port, 0, 0))]
    else:
        found = [(socket.AF_INET, (bare, port))]
    if found is not None and family and found[0][0] != family:
        names = {int(socket.AF_INET): "IPv4", int(socket.AF_INET6): "IPv6"}
        raise ConnectError(
            f"cannot connect to {host_port(host, port)}: it is an "
            f"{names[int(found[0][0])]} address and family= asks for "
            f"{names.get(family, f'address family {family}')}"
        )
    return found


def keep_family(host: str, addresses: Sequence[Address], family: int) -> list[Address]:
    """Addresses of the forced family; a resolver may have ignored the hint."""
    kept = [a for a in addresses if not family or a[0] == family]
    if not kept:
        wanted = {int(socket.AF_INET): " IPv4", int(socket.AF_INET6): " IPv6"}.get(family, "")
        raise NameResolutionError(f"cannot resolve {host!r}: no{wanted} address", host=host)
    return kept


def resolution_failure(host: str, exc: BaseException) -> NameResolutionError:
    """The error for a name that could not be resolved (getaddrinfo's or a resolver's)."""
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
    return NameResolutionError(f"cannot resolve {host!r}: {detail}", host=host)


def new_socket(
    family: int, *, local_address: str | None, socket_options: Sequence[SocketOption]
) -> socket.socket:
    """A TCP socket with Nagle off (requests are written in one or two sends) and options set."""
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for level, option, value in socket_options:
            sock.setsockopt(level, option, value)
        if local_address is not None:
            sock.bind((local_address, 0))
    except BaseException:
        sock.close()
        raise
    return sock


def unix_socket(socket_options: Iterable[SocketOption] | None) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        for level, option, value in socket_options or ():
            sock.setsockopt(level, option, value)
    except BaseException:
        sock.close()
        raise
    return sock


def describe(exc: OSError, where: str) -> str:
    """``connection refused by 127.0.0.1:8080`` and the like."""
    if isinstance(exc, ssl.SSLEOFError):
        return f"connection closed or reset by {where} (the TLS stream ended early)"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error {exc.reason or exc} from {where}"
    reason = _REASONS.get(exc.errno or -1)
    if reason is not None:
        return f"{reason} {where}"
    return f"{exc.strerror or exc} ({where})"


def connect_failure(
    host: str, port: int, errors: Sequence[tuple[Address, OSError]]
) -> ConnectError:
    """One ConnectError for every failed attempt of a ``connect_tcp`` call."""
    parts = [describe(error, format_address(address)) for address, error in errors]
    target = host_port(host, port)
    if len(parts) == 1 and parts[0].endswith(target):
        return ConnectError(parts[0])
    return ConnectError(f"cannot connect to {target}: " + "; ".join(parts))


def host_port(host: str, port: int) -> str:
    """``example.com:80``, ``[::1]:80``."""
    if ":" in host and not host.startswith("["):
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def connect_timeout(target: str, timeout: float | None, phase: str = "connect") -> ConnectTimeout:
    return ConnectTimeout(f"{phase} to {target} timed out after {timeout} s")


def resolve_timeout(target: str, timeout: float | None) -> ConnectTimeout:
    """Name resolution stalled: the connect timeout bounds DNS too, and says it was DNS."""
    return ConnectTimeout(f"resolving {target} timed out after {timeout} s")


#: OpenSSL's names for common handshake failures, in plain words.
_TLS_REASONS = {
    "WRONG_VERSION_NUMBER": "the server did not answer in TLS: is it a plain http:// port?",
    "TLSV1_ALERT_PROTOCOL_VERSION": "no TLS version in common (wirekit needs TLS 1.2+)",
    "UNSUPPORTED_PROTOCOL": "no TLS version in common (wirekit needs TLS 1.2+)",
    "SSLV3_ALERT_HANDSHAKE_FAILURE": "the server refused the handshake: no cipher or "
    "setting in common",
    "TLSV1_ALERT_UNKNOWN_CA": "the server does not trust our client certificate's CA",
    "SSLV3_ALERT_BAD_CERTIFICATE": "the server refused our client certificate",
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": "the server wants a client certificate: cert=",
    "TLSV1_UNRECOGNIZED_NAME": "the server has no certificate for this name (SNI)",
}


def tls_failure(host: str | None, exc: BaseException) -> TLSError | ConnectError:
    """TLSError naming the host and the reason (hostname mismatch, self-signed...).

    A reset during the handshake is a ConnectError: the network's or an overloaded peer's
    doing, worth trying again (as requests and httpx class it), where a certificate that
    does not verify or a peer that hangs up on our hello is not."""
    who = host or "the peer"
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or exc.reason or str(exc)
        return TLSError(f"TLS certificate verification failed for {who}: {reason}")
    if isinstance(exc, ssl.SSLEOFError) or (
        # asyncio's word for the same EOF: a ConnectionResetError without an errno.
        isinstance(exc, ConnectionResetError) and exc.errno is None
    ):
        return TLSError(
            f"TLS handshake with {who} failed: {who} closed the connection during the handshake"
        )
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or str(exc)
        words = _TLS_REASONS.get(reason)
        if words is not None:
            reason = f"{reason} ({words})"
        return TLSError(f"TLS handshake with {who} failed: {reason}")
    if isinstance(exc, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        return ConnectError(f"TLS handshake with {who} failed: {describe(exc, who)}")
    if isinstance(exc, OSError):
        return TLSError(f"TLS handshake with {who} failed: {describe(exc, who)}")
    return TLSError(f"TLS handshake with {who} failed: {exc}")


def tls_timeout(host: str | None, timeout: float | None) -> ConnectTimeout:
    return ConnectTimeout(f"TLS handshake with {host or 'the peer'} timed out after {timeout} s")


def read_timeout(peer: str, timeout: float | None) -> ReadTimeout:
    return ReadTimeout(f"read from {peer} timed out after {timeout} s")


def write_timeout(peer: str, timeout: float | None) -> WriteTimeout:
    return WriteTimeout(f"write to {peer} timed out after {timeout} s")


def _tls_refusal(peer: str, exc: BaseException, doing: str) -> TLSError | None:
    """A TLS alert or error after the handshake (TLS 1.3 sends "certificate required"
    only then): a TLSError, as during the handshake; a plain EOF is not one."""
    if not isinstance(exc, ssl.SSLError) or isinstance(
        exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)
    ):
        return None
    reason = exc.reason or str(exc)
    words = _TLS_REASONS.get(reason)
    if words is not None:
        reason = f"{reason} ({words})"
    return TLSError(f"{doing} {peer} failed: TLS error {reason}")


def read_failure(peer: str, exc: BaseException) -> ReadError | TLSError:
    refusal = _tls_refusal(peer, exc, "receiving from")
    if refusal is not None:
        return refusal
    if isinstance(exc, OSError):
        return ReadError(f"receiving from {peer} failed: {describe(exc, peer)}")
    return ReadError(f"receiving from {peer} failed: {exc}")


def write_failure(peer: str, exc: BaseException | None) -> WriteError | TLSError:
    refusal = None if exc is None else _tls_refusal(peer, exc, "sending to")
    if refusal is not None:
        return refusal
    if exc is None:
        return WriteError(f"sending to {peer} failed: the connection is closed")
    if isinstance(exc, OSError):
        return WriteError(f"sending to {peer} failed: {describe(exc, peer)}")
    return WriteError(f"sending to {peer} failed: {exc}")


def trace_done(trace: Trace, event: str, info: dict[str, Any], close: Callable[[], object]) -> None:
    """Report a ``*.done`` event of something just opened and not yet handed to anyone:
    if the tracer raises, ``close`` closes it first, so nothing leaks (DESIGN invariant 5)."""
    try:
        trace(event, info)
    except BaseException:
        close()
        raise


def trace_unfinished(
    trace: Trace, addresses: Iterable[Address], error: BaseException | None
) -> None:
    """Close the ``connect.start`` of attempts a Happy Eyeballs race left under way:
    ``error`` ended them (the time ran out), or None when another address connected first
    (then the info says ``"abandoned": True``). Every start gets its end (docs/client.md)."""
    for address in addresses:
        if error is None:
            where = host_port(str(address[1][0]), int(address[1][1]))
            abandoned = ConnectError(f"attempt to {where} abandoned: another address connected")
            trace("connect.failed", {"address": address[1], "error": abandoned, "abandoned": True})
        else:
            trace("connect.failed", {"address": address[1], "error": error})


def tls_details(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> dict[str, object]:
    """The "tls.done" trace payload."""
    if ssl_object is None:
        return {"version": None, "cipher": None, "alpn": None}
    cipher = ssl_object.cipher()
    return {
        "version": ssl_object.version(),
        "cipher": cipher[0] if cipher else None,
        "alpn": ssl_object.selected_alpn_protocol(),
    }
