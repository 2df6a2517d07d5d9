"""Throwaway TLS certificates (trustme): a CA, a server cert for localhost/127.0.0.1/::1 and a
client cert, written as PEM files so external programs (nginx, curl) can use them too.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme

__all__ = ["Certs", "make_certs"]


@dataclass(frozen=True)
class Certs:
    """Paths to PEM files, plus the trustme objects for building contexts."""

    ca: trustme.CA
    server: trustme.LeafCert
    client: trustme.LeafCert
    ca_file: Path
    server_cert_file: Path  # leaf + chain
    server_key_file: Path
    client_cert_file: Path
    client_key_file: Path

    def server_context(self, *, require_client_cert: bool = False) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.server_cert_file, self.server_key_file)
        if require_client_cert:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(cafile=self.ca_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(cafile=self.ca_file)
        return context


def make_certs(directory: Path) -> Certs:
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    server = ca.issue_cert("localhost", "127.0.0.1", "::1")
    client = ca.issue_cert("client.wirekit.test")
    paths = {
        "ca_file": directory / "ca.pem",
        "server_cert_file": directory / "server.crt",
        "server_key_file": directory / "server.key",
        "client_cert_file": directory / "client.crt",
        "client_key_file": directory / "client.key",
    }
    ca.cert_pem.write_to_path(str(paths["ca_file"]))
    with paths["server_cert_file"].open("wb") as f:
        for blob in server.cert_chain_pems:
            f.write(blob.bytes())
    server.private_key_pem.write_to_path(str(paths["server_key_file"]))
    with paths["client_cert_file"].open("wb") as f:
        for blob in client.cert_chain_pems:
            f.write(blob.bytes())
    client.private_key_pem.write_to_path(str(paths["client_key_file"]))
    return Certs(ca=ca, server=server, client=client, **paths)
