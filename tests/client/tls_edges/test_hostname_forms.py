"""Host name forms and TLS: what is sent as SNI and what the certificate is checked against.

Peer: a Python TLS server with the trustme certificate for localhost / 127.0.0.1 / ::1,
which records the SNI each handshake carried.

(Found by a differential review of the client's TLS; fixed since.)
"""

from __future__ import annotations

import socket

import pytest

from tests.client.tls_edges._peers import TLSPeer
from tests.client.tls_edges.conftest import get
from tests.support.certs import Certs


class LoopbackResolver:
    """Every name resolves to 127.0.0.1 (the machine cannot resolve ``localhost.``)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def resolve(self, host: str, port: int, *, family: int = 0) -> list[tuple[int, tuple]]:
        self.asked.append(host)
        return [(socket.AF_INET, ("127.0.0.1", port))]

    async def aresolve(self, host: str, port: int, *, family: int = 0) -> list[tuple[int, tuple]]:
        return self.resolve(host, port, family=family)


def test_trailing_dot_hostname_verifies_and_sends_sni_without_the_dot(
    certs: Certs, mode: str
) -> None:
    """A fully qualified name with its trailing dot (``https://localhost.:PORT/``).

    User sees: ``TLSError: TLS certificate verification failed for localhost.: Hostname
    mismatch, certificate is not valid for 'localhost.'`` (sync and async), and the server
    received SNI ``localhost.``.
    Reference: curl (``--resolve localhost.:PORT:127.0.0.1``) succeeds and sends SNI
    ``localhost``; urllib3/requests strip the dot before SNI and hostname matching
    (urllib3/connection.py: "Remove trailing '.' from fqdn hostnames to allow certificate
    validation"). RFC 6066 §3: the SNI HostName is sent "without a trailing dot"; RFC 6125
    §6.2.1 compares the reference identity without the root label.
    Why it matters: FQDNs with a trailing dot are common in Kubernetes and
    resolv.conf-sensitive setups (``svc.cluster.local.``) to skip search domains; every
    HTTPS call to such a name fails with a misleading certificate error.
    """
    resolver = LoopbackResolver()
    with TLSPeer(certs.server_context()) as peer:
        response = get(
            mode,
            f"https://localhost.:{peer.port}/",
            verify=str(certs.ca_file),
            resolver=resolver,
        )
        assert response.status_code == 200
        assert peer.sni == ["localhost"]


def test_guard_ip_literals_send_no_sni_and_match_ip_sans(certs: Certs, mode: str) -> None:
    """Guard (passed before the fixes too): IPv4 and IPv6 literals verify against the certificate's IP
    SANs and send no SNI (RFC 6066 §3 forbids literal addresses in SNI), as curl,
    requests and httpx do."""
    for host in ("127.0.0.1", "::1"):
        with TLSPeer(certs.server_context(), host=host) as peer:
            response = get(mode, peer.url + "/", verify=str(certs.ca_file))
            assert response.status_code == 200
            assert peer.sni == [None]


def test_guard_uppercase_hostname_is_lowercased_for_sni(certs: Certs, mode: str) -> None:
    """Guard (passed before the fixes too): ``https://LOCALHOST:PORT/`` verifies and sends SNI
    ``localhost`` (host names are case-insensitive, RFC 4343), as curl/requests do."""
    with TLSPeer(certs.server_context()) as peer:
        response = get(mode, f"https://LOCALHOST:{peer.port}/", verify=str(certs.ca_file))
        assert response.status_code == 200
        assert peer.sni == ["localhost"]


@pytest.mark.parametrize("verify", ["file", "directory"])
def test_guard_verify_accepts_ca_file_and_hashed_directory(
    certs: Certs, mode: str, tmp_path, verify: str
) -> None:
    """Guard (passed before the fixes too): ``verify=`` as a CA file and as an ``openssl rehash``ed CA
    directory (requests' ``verify=dir`` / curl's ``--capath``)."""
    import shutil
    import subprocess

    if verify == "file":
        location = str(certs.ca_file)
    else:
        if shutil.which("openssl") is None:
            pytest.skip("openssl is not installed")
        directory = tmp_path / "cadir"
        directory.mkdir()
        shutil.copy(certs.ca_file, directory / "ca.pem")
        subprocess.run(["openssl", "rehash", str(directory)], check=True, timeout=30)
        location = str(directory)
    with TLSPeer(certs.server_context()) as peer:
        assert get(mode, peer.url + "/", verify=location).status_code == 200
