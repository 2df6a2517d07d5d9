""" "SSL contexts are built once per configuration and shared" (docs/client.md): the cache
is keyed by the *strings* given as paths, so what the files hold when a new Client is made
is ignored once any earlier Client used the same strings.

Peers: Python TLS servers with trustme certificates (one demanding a client certificate
and recording the one it got).

(Found by a differential review of the client's TLS; fixed since.)
"""

from __future__ import annotations

import ssl
import uuid
from pathlib import Path

import pytest
import requests
import trustme

from tests.client.tls_edges._peers import TLSPeer
from tests.client.tls_edges.conftest import get
from tests.support.certs import Certs


def _write_leaf(leaf: trustme.LeafCert, cert_file: Path, key_file: Path) -> None:
    cert_file.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    key_file.write_bytes(leaf.private_key_pem.bytes())


def _names(peer_cert: dict | None) -> list[str]:
    assert peer_cert is not None, "the server got no client certificate"
    return [value for kind, value in peer_cert.get("subjectAltName", ()) if kind == "DNS"]


def test_rotated_client_certificate_is_used_by_a_new_client(
    certs: Certs, mode: str, tmp_path: Path
) -> None:
    """Client certificate files renewed in place (same paths), then a *new* Client.

    User sees: the new Client still presents the old certificate (the server gets
    ``old.wirekit.test``), because ``create_ssl_context`` is an lru_cache keyed by the
    path strings and returns the context loaded before the renewal, for the life of the
    process (until 32 other configurations push it out).
    Reference: requests loads ``cert=`` for every new connection (urllib3's
    ssl_wrap_socket -> load_cert_chain), httpx once per Client: both present the renewed
    certificate (see the guard below for requests). curl reads the files per run.
    Why it matters: short-lived client certificates renewed on disk (cert-manager,
    Vault, SPIFFE: hours-long lifetimes) are the normal mTLS deployment; a long-running
    process keeps presenting the expired one even after re-creating its Client, and
    every request fails until a restart.
    """
    cert_file, key_file = tmp_path / "client.pem", tmp_path / "client.key"
    _write_leaf(certs.ca.issue_cert("old.wirekit.test"), cert_file, key_file)
    with TLSPeer(certs.server_context(require_client_cert=True)) as peer:
        options = {"verify": str(certs.ca_file), "cert": (str(cert_file), str(key_file))}
        assert get(mode, peer.url + "/", **options).status_code == 200
        assert _names(peer.peer_certs[-1]) == ["old.wirekit.test"]

        _write_leaf(certs.ca.issue_cert("new.wirekit.test"), cert_file, key_file)
        assert get(mode, peer.url + "/", **options).status_code == 200
        assert _names(peer.peer_certs[-1]) == ["new.wirekit.test"]


def test_rotated_ca_bundle_is_used_by_a_new_client(certs: Certs, mode: str, tmp_path: Path) -> None:
    """A private CA bundle replaced in place (``verify="/etc/pki/internal-ca.pem"``), the
    servers moved to the new CA, then a *new* Client.

    User sees: ``TLSError: ... unable to get local issuer certificate``: the new Client
    verifies against the old bundle's contents, cached by path string.
    Reference: requests/urllib3 and httpx load ``verify=<path>`` when the session/client
    (requests: each connection) is created, so a new one trusts the new CA; curl reads
    --cacert per run.
    Why it matters: CA rotation is done by replacing the bundle file; with wirekit only a
    process restart picks it up, and the old (possibly retired or compromised) CA stays
    trusted by every new Client.
    """
    bundle = tmp_path / "internal-ca.pem"
    bundle.write_bytes(certs.ca.cert_pem.bytes())
    with TLSPeer(certs.server_context()) as old_server:
        assert get(mode, old_server.url + "/", verify=str(bundle)).status_code == 200

    new_ca = trustme.CA()
    bundle.write_bytes(new_ca.cert_pem.bytes())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    new_ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    with TLSPeer(context) as new_server:
        assert get(mode, new_server.url + "/", verify=str(bundle)).status_code == 200


def test_relative_ca_path_follows_the_current_directory(
    certs: Certs, mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``verify="ca.pem"`` (a relative path) used from two working directories, each
    with its own ``ca.pem``.

    User sees: after ``os.chdir`` to the second directory, a new Client still trusts the
    first directory's CA and fails with TLSError (unknown issuer): the cache key is the
    unresolved relative string.
    Reference: requests, httpx and curl resolve a relative CA path against the current
    directory when they load it (open() semantics), as every file API does.
    Why it matters: a test suite or a multi-tenant worker that chdirs per job verifies
    against the wrong trust anchors - including trusting a CA it should not.
    """
    name = f"ca-{uuid.uuid4().hex}.pem"
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / name).write_bytes(certs.ca.cert_pem.bytes())
    other_ca = trustme.CA()
    (second / name).write_bytes(other_ca.cert_pem.bytes())
    other_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    other_ca.issue_cert("localhost", "127.0.0.1").configure_cert(other_context)

    monkeypatch.chdir(first)
    with TLSPeer(certs.server_context()) as server:
        assert get(mode, server.url + "/", verify=name).status_code == 200
    monkeypatch.chdir(second)
    with TLSPeer(other_context) as server:
        assert get(mode, server.url + "/", verify=name).status_code == 200


def test_guard_requests_presents_the_rotated_client_certificate(
    certs: Certs, tmp_path: Path
) -> None:
    """Guard / reference (passed before the fixes too): requests, given the same files rewritten in place,
    presents the new certificate on a new Session - the behaviour expected above."""
    cert_file, key_file = tmp_path / "client.pem", tmp_path / "client.key"
    _write_leaf(certs.ca.issue_cert("old.wirekit.test"), cert_file, key_file)
    with TLSPeer(certs.server_context(require_client_cert=True)) as peer:
        for expected in ("old.wirekit.test", "new.wirekit.test"):
            if expected.startswith("new"):
                _write_leaf(certs.ca.issue_cert(expected), cert_file, key_file)
            with requests.Session() as session:
                response = session.get(
                    peer.url + "/",
                    verify=str(certs.ca_file),
                    cert=(str(cert_file), str(key_file)),
                    timeout=10,
                )
            assert response.status_code == 200
            assert _names(peer.peer_certs[-1]) == [expected]
