"""Handshake failures: the class of the error, its message, and the time limits.

Peers: raw TCP listeners that misbehave at the TLS handshake, and Python TLS servers with
trustme certificates that do not verify (expired, unknown CA, wrong name, self-signed).

(Found by a differential review of the client's TLS; fixed since.)
"""

from __future__ import annotations

import datetime
import re
import ssl
import tempfile
import time

import pytest
import trustme

import wirekit
from tests.client.tls_edges._peers import (
    RawPeer,
    TLSPeer,
    close_during_handshake,
    plain_http,
    silent,
)
from tests.client.tls_edges.conftest import get
from tests.support.certs import Certs


def test_peer_closing_during_handshake_names_the_close(mode: str) -> None:
    """A peer that reads the ClientHello and closes the connection (FIN) without a word.

    User sees (async): ``TLSError: TLS handshake with 127.0.0.1 failed:  (127.0.0.1)`` -
    the reason is empty (asyncio raises a bare ``ConnectionResetError()`` whose str() is
    ''), so the message says nothing about what happened. The sync client says
    ``... failed: UNEXPECTED_EOF_WHILE_READING``.
    Reference: curl says "Connection reset by peer" / "unexpected eof while reading",
    requests says "EOF occurred in violation of protocol"; wirekit's own contract
    (errors.py, DESIGN invariant 7) is a message naming the host and the reason, and
    Client and AsyncClient must behave the same.
    Why it matters: this is the usual symptom of a load balancer or firewall dropping TLS
    (wrong SNI, blocked client IP); a message with no reason sends the user nowhere.
    """
    with RawPeer(close_during_handshake) as peer:
        with pytest.raises(wirekit.TLSError) as caught:
            get(mode, peer.https_url + "/", verify=False)
    message = str(caught.value)
    assert "127.0.0.1" in message
    assert re.search(r"clos|eof|reset", message, re.IGNORECASE), message
    assert "failed:  (" not in message, message


@pytest.mark.parametrize(
    ("timeout", "expected", "limit"),
    [
        (wirekit.Timeout(connect=0.5), wirekit.ConnectTimeout, 0.5),
        (wirekit.Timeout(0.7, connect=None), wirekit.DeadlineExceeded, 0.7),
    ],
)
def test_guard_silent_handshake_honours_connect_timeout_and_deadline(
    mode: str, timeout: wirekit.Timeout, expected: type, limit: float
) -> None:
    """Guard (passed before the fixes too): a peer that accepts TCP and never answers the ClientHello is
    bounded by the connect timeout (ConnectTimeout naming the TLS handshake) or, without
    one, by the total deadline (DeadlineExceeded), as httpx's connect timeout and curl's
    --connect-timeout bound the handshake."""
    with RawPeer(silent) as peer:
        started = time.monotonic()
        with pytest.raises(expected) as caught:
            get(mode, peer.https_url + "/", verify=False, timeout=timeout)
        elapsed = time.monotonic() - started
    assert elapsed < limit + 1.0
    assert "TLS handshake" in str(caught.value)


def test_guard_plain_http_on_the_tls_port_is_a_tls_error(mode: str) -> None:
    """Guard (passed before the fixes too): a plain HTTP server on the TLS port gives TLSError naming
    the host, not a read error or a parsed 400 (curl: "wrong version number")."""
    with RawPeer(plain_http) as peer:
        with pytest.raises(wirekit.TLSError) as caught:
            get(mode, peer.https_url + "/", verify=False)
    assert "127.0.0.1" in str(caught.value)


def _server_context(leaf: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(context)
    return context


@pytest.mark.parametrize("case", ["expired", "unknown CA", "wrong host", "self-signed"])
def test_guard_certificate_failures_are_tls_errors_with_the_reason(
    certs: Certs, mode: str, case: str
) -> None:
    """Guard (passed before the fixes too): certificate failures are TLSError naming the host and the
    reason in words (curl: "certificate has expired", "unable to get local issuer")."""
    ca = certs.ca
    if case == "expired":
        leaf = ca.issue_cert(
            "localhost",
            "127.0.0.1",
            not_before=datetime.datetime(2019, 1, 1, tzinfo=datetime.UTC),
            not_after=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC),
        )
        reason = "expired"
    elif case == "unknown CA":
        leaf = trustme.CA().issue_cert("localhost", "127.0.0.1")
        reason = "issuer"
    elif case == "wrong host":
        leaf = ca.issue_cert("elsewhere.wirekit.test")
        reason = "mismatch"
    else:
        leaf = None
        reason = "self"
    if leaf is None:
        # A certificate signed by its own key: trustme's CA certificate served as the leaf.
        own = trustme.CA()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory() as directory:
            cert_file = f"{directory}/c.pem"
            key_file = f"{directory}/k.pem"
            own.cert_pem.write_to_path(cert_file)
            own.private_key_pem.write_to_path(key_file)
            context.load_cert_chain(cert_file, key_file)
    else:
        context = _server_context(leaf)
    with TLSPeer(context) as peer:
        with pytest.raises(wirekit.TLSError) as caught:
            get(mode, peer.url + "/", verify=str(certs.ca_file))
    message = str(caught.value)
    assert "127.0.0.1" in message
    assert reason in message.lower(), message
