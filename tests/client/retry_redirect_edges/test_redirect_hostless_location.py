"""A ``Location`` that resolves to a URL without a host escapes the redirect checks.
(Found by a differential review of retries and redirects; fixed since.)

``redirect_request`` (src/wirekit/client/flows.py) turns an unusable Location into
``RemoteProtocolError("redirect from ... has an invalid Location ...")`` (``InvalidRedirect``
since) (bad port, control
characters) or "unsupported scheme", but ``http:/next`` (and ``http:///x``, ``https:x``)
joins to a host-less ``http:`` URL that passes both checks; the next hop is handed to the
transport, which raises ``InvalidURL("URL http:/next has no host")``.

What a user sees: ``client.get("http://127.0.0.1:PORT/start")`` - a valid URL - raises
``InvalidURL``, the error for the caller's own bad URL, naming neither the redirect nor the
server's Location, and the history is lost. Because InvalidURL is not a TransportError,
``wirekit.fetch(url, default=None)`` raises it too, while the same server sending
``Location: http://127.0.0.1:99999/`` gets ``default`` back. requests follows
``http:/next`` to ``http://127.0.0.1:PORT/next`` (as browsers do: the WHATWG URL parser
reads a same-scheme "http:/path" as relative); at the least the error should be the
redirect's own error.
"""

from __future__ import annotations

import pytest

import wirekit
from tests.client.retry_redirect_edges._server import RawServer, response


def _handler(seen):
    if seen.target == "/start":
        return response(302, [(b"Location", b"http:/next")])
    return response(200, body=b"next")


def _check(outcome: object) -> None:
    if isinstance(outcome, wirekit.Response):
        assert outcome.status_code == 200
        assert outcome.content == b"next"
        return
    assert isinstance(outcome, wirekit.InvalidRedirect), repr(outcome)
    assert "Location" in str(outcome)


def test_hostless_location_is_a_redirect_error() -> None:
    with RawServer(_handler) as server:
        with wirekit.Client(trust_env=False, timeout=5.0) as client:
            try:
                outcome: object = client.get(server.url + "/start")
            except wirekit.WirekitError as exc:
                outcome = exc
    _check(outcome)  # before the fix: InvalidURL('URL http:/next has no host')


def test_fetch_default_covers_hostless_location() -> None:
    with RawServer(_handler) as server:
        try:
            outcome: object = wirekit.fetch(server.url + "/start", default=None, timeout=5.0)
        except wirekit.WirekitError as exc:
            outcome = exc
    assert outcome in (None, b"next"), repr(outcome)  # before the fix: InvalidURL raised


@pytest.mark.anyio
async def test_async_hostless_location_is_a_redirect_error() -> None:
    with RawServer(_handler) as server:
        async with wirekit.AsyncClient(trust_env=False, timeout=5.0) as client:
            try:
                outcome: object = await client.get(server.url + "/start")
            except wirekit.WirekitError as exc:
                outcome = exc
    _check(outcome)
