"""SSLKEYLOGFILE, ALPN and handshake errors in plain words.

(Found by a differential review of the client's TLS; fixed since: SSLKEYLOGFILE was
ignored, a server picking h2 by ALPN gave "malformed response", and a plain HTTP peer on
the TLS port gave only OpenSSL's "WRONG_VERSION_NUMBER".)
"""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

import wirekit
from tests.client.tls_edges._peers import TLSPeer
from tests.client.tls_edges.conftest import get
from tests.support.certs import Certs
from tests.support.scripted import ScriptedServer, expect, send


@pytest.mark.parametrize("trust_env", [True, False])
def test_sslkeylogfile_gets_the_session_secrets_when_the_environment_is_trusted(
    certs: Certs, mode: str, trust_env: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keylog = tmp_path / "keys.log"
    monkeypatch.setenv("SSLKEYLOGFILE", str(keylog))
    with TLSPeer(certs.server_context()) as peer:
        response = get(mode, peer.url + "/", verify=certs.ca_file, trust_env=trust_env)
    assert response.status_code == 200
    if trust_env:
        assert "CLIENT_TRAFFIC_SECRET_0" in keylog.read_text()  # what Wireshark needs
    else:
        assert not keylog.exists()


def test_a_server_choosing_h2_by_alpn_is_a_clear_tls_error(certs: Certs, mode: str) -> None:
    server_context = certs.server_context()
    server_context.set_alpn_protocols(["h2", "http/1.1"])
    client_context = ssl.create_default_context(cafile=str(certs.ca_file))
    client_context.set_alpn_protocols(["h2", "http/1.1"])  # the caller's own context
    with TLSPeer(server_context) as peer, pytest.raises(wirekit.TLSError) as caught:
        get(mode, peer.url + "/", verify=client_context)
    assert "chose 'h2' by ALPN" in str(caught.value)
    assert "HTTP/1.1 only" in str(caught.value)


def test_plain_http_on_the_tls_port_is_said_in_words(mode: str) -> None:
    answer = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    with ScriptedServer([expect(b"\x16\x03"), send(answer)]) as server:
        url = server.url.replace("http://", "https://") + "/"
        with pytest.raises(wirekit.TLSError) as caught:
            get(mode, url)
    assert "WRONG_VERSION_NUMBER" in str(caught.value)
    assert "did not answer in TLS: is it a plain http:// port?" in str(caught.value)
