"""Credentials in the URL are percent-decoded to text with errors replaced, so an escape
(Found by a differential review of client auth; fixed since.)
that is not UTF-8 (``%E9``, é in latin-1) is sent as U+FFFD.

RFC 3986 §2.1: a percent-encoding is one octet. curl sends ``http://%E9t%E9:p%E4ss@host/``
as ``Basic`` of the octets ``e9 74 e9 3a 70 e4 73 73``; wirekit sends ``ef bf bd`` (the
UTF-8 of U+FFFD) for each, so a server whose password is latin-1 refuses it, and the user
has no way to write such a password in a URL.
"""

from __future__ import annotations

import base64

import pytest

import wirekit
from tests.support.wsgi_server import ThreadedWSGIServer

EXPECTED = b"\xe9t\xe9:p\xe4ss"


def _sent(response: wirekit.Response) -> bytes:
    value = response.json()["headers"].get("Authorization", "")
    assert value.startswith("Basic ")
    return base64.b64decode(value[6:])


def test_url_credentials_percent_octets_sync(httpbin_server: ThreadedWSGIServer) -> None:
    """``client.get("http://%E9t%E9:p%E4ss@host/headers")``: httpbin echoes the
    Authorization it got; it should decode to the octets written in the URL (as curl
    sends them), not to U+FFFD replacement characters."""
    url = f"http://%E9t%E9:p%E4ss@127.0.0.1:{httpbin_server.port}/headers"
    with wirekit.Client(trust_env=False, timeout=10.0) as client:
        response = client.get(url)
    assert _sent(response) == EXPECTED


@pytest.mark.anyio
async def test_url_credentials_percent_octets_async(httpbin_server: ThreadedWSGIServer) -> None:
    """AsyncClient twin of test_url_credentials_percent_octets_sync."""
    url = f"http://%E9t%E9:p%E4ss@127.0.0.1:{httpbin_server.port}/headers"
    async with wirekit.AsyncClient(trust_env=False, timeout=10.0) as client:
        response = await client.get(url)
    assert _sent(response) == EXPECTED
