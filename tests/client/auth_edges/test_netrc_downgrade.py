"""netrc credentials go out in clear after an HTTPS to HTTP redirect.
(Found by a differential review of client auth; fixed since.)

docs/client.md: "an HTTPS to HTTP downgrade is an origin change, so secrets never go back
in clear". With a netrc entry for a host, a request to ``https://host/`` that the server
redirects to ``http://host/`` is sent with ``Authorization: Basic <netrc password>`` in
clear text: the redirect flow drops the caller's auth on the origin change, then looks the
new hop up in netrc again without regard to the downgrade. httpx (``NetRCAuth``) does not
send it on the http hop; requests and curl --netrc -L do (checked on loopback).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

import wirekit
from tests.support.certs import Certs
from tests.support.wsgi_server import ThreadedWSGIServer


@pytest.fixture
def netrc_for_loopback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "netrc"
    path.write_text("machine 127.0.0.1 login alice password hunter2\n")
    monkeypatch.setenv("NETRC", str(path))
    return path


def _downgrade_url(tls: ThreadedWSGIServer, plain: ThreadedWSGIServer) -> str:
    target = f"http://127.0.0.1:{plain.port}/headers"
    return f"{tls.url}/redirect-to?url={quote(target, safe='')}"


def test_netrc_not_sent_after_https_to_http_redirect_sync(
    netrc_for_loopback: Path,
    certs: Certs,
    httpbin_tls_server: ThreadedWSGIServer,
    httpbin_server: ThreadedWSGIServer,
) -> None:
    """httpbin over TLS redirects to plain-http httpbin /headers, which echoes what it
    got: the netrc password must not be there."""
    with wirekit.Client(verify=str(certs.ca_file), timeout=10.0) as client:
        response = client.get(_downgrade_url(httpbin_tls_server, httpbin_server))
    assert response.url.scheme == "http"
    assert response.history
    assert response.history[0].url.scheme == "https"
    assert "Authorization" not in response.json()["headers"]


@pytest.mark.anyio
async def test_netrc_not_sent_after_https_to_http_redirect_async(
    netrc_for_loopback: Path,
    certs: Certs,
    httpbin_tls_server: ThreadedWSGIServer,
    httpbin_server: ThreadedWSGIServer,
) -> None:
    """AsyncClient twin of test_netrc_not_sent_after_https_to_http_redirect_sync."""
    async with wirekit.AsyncClient(verify=str(certs.ca_file), timeout=10.0) as client:
        response = await client.get(_downgrade_url(httpbin_tls_server, httpbin_server))
    assert response.url.scheme == "http"
    assert response.history
    assert response.history[0].url.scheme == "https"
    assert "Authorization" not in response.json()["headers"]
