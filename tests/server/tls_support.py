"""Certificates for the TLS server tests: a throwaway CA (trustme) and a server certificate
for 127.0.0.1, written to files as `wirekit serve --ssl-certfile/--ssl-keyfile` takes them."""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme


class Certs:
    def __init__(self, folder: Path) -> None:
        self.ca = trustme.CA()
        issued = self.ca.issue_cert("127.0.0.1")
        self.certfile = str(folder / "cert.pem")
        self.keyfile = str(folder / "key.pem")
        issued.cert_chain_pems[0].write_to_path(self.certfile)
        issued.private_key_pem.write_to_path(self.keyfile)

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this CA only."""
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context

    def client_hello(self) -> bytes:
        """The bytes of a real ClientHello for this server."""
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = self.client_context().wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
        try:
            tls.do_handshake()
        except ssl.SSLWantReadError:
            pass
        return outgoing.read()
