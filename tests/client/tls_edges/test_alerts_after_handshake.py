"""TLS alerts that arrive after the client's handshake returned (TLS 1.3 client auth).

Peer: ``openssl s_server -Verify 1 -tls1_3 -www``, which demands a client certificate. In
TLS 1.3 the client's handshake finishes before the server checks the client certificate;
the server's ``certificate_required`` alert (RFC 8446 §6.2, alert 116) reaches the
client on its first read.

(Found by a differential review of the client's TLS; fixed since.)
"""

from __future__ import annotations

import pytest

import wirekit
from tests.client.tls_edges.conftest import OpenSSLServer, get
from tests.support.certs import Certs


def test_certificate_required_alert_is_a_tls_error(
    mtls_openssl_server: OpenSSLServer, certs: Certs, mode: str
) -> None:
    """No client certificate sent to a server that requires one (TLS 1.3).

    User sees: ``ReadError: receiving from 127.0.0.1:PORT failed: TLS error
    TLSV13_ALERT_CERTIFICATE_REQUIRED from ...``: a *read* error, the class wirekit uses
    for a connection that broke while receiving, and which callers treat as transient.
    Reference: requests raises ``requests.exceptions.SSLError`` (urllib3 maps any
    ssl.SSLError raised while getting the response to SSLError); curl reports
    ``OpenSSL SSL_read: ... tlsv13 alert certificate required``. wirekit.errors defines
    TLSError as "the TLS handshake failed, or the peer's certificate did not verify" and
    the review spec wants TLS failures classed as TLSError, not as read errors.
    Why it matters: ``except wirekit.TLSError`` (the "fix your certificates" branch) never
    sees the most common mTLS misconfiguration; see the fetch() test for the worst effect.
    """
    with pytest.raises(wirekit.TLSError) as caught:
        get(mode, mtls_openssl_server.url, verify=str(certs.ca_file))
    assert "127.0.0.1" in str(caught.value)
    assert "certificate" in str(caught.value).lower()


def test_fetch_with_default_raises_when_the_server_requires_a_client_certificate(
    mtls_openssl_server: OpenSSLServer, certs: Certs
) -> None:
    """``wirekit.fetch(url, default=None, verify=ca)`` against a TLS 1.3 server that
    rejects the missing client certificate.

    User sees: ``None`` (the default), no exception: the TLS failure is swallowed as if it
    were a "try again later" network blip.
    Reference: fetch's own docstring and docs/client.md: "a TLS failure, an HTTP error
    status or a bad URL still raise" ("a certificate that does not verify will not verify
    later either"); requests raises SSLError for the same server.
    Why it matters: a program polling with fetch(default=...) silently gets no data
    forever instead of being told its client certificate is missing.
    """
    with pytest.raises(wirekit.TLSError):
        wirekit.fetch(
            mtls_openssl_server.url, default=None, verify=str(certs.ca_file), timeout=10.0
        )


def test_guard_client_certificate_is_accepted_by_openssl_s_server(
    mtls_openssl_server: OpenSSLServer, certs: Certs, mode: str
) -> None:
    """Guard (passed before the fixes too): with ``cert=(certfile, keyfile)`` the same server answers,
    so the failures above are about the missing certificate and nothing else."""
    response = get(
        mode,
        mtls_openssl_server.url,
        verify=str(certs.ca_file),
        cert=(str(certs.client_cert_file), str(certs.client_key_file)),
    )
    assert response.status_code == 200
    assert b"s_server" in response.content
