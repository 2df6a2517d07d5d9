"""A redirect hop whose small body is chunked is kept in ``history`` with an unreadable body.
(Found by a differential review of retries and redirects; fixed since.)

``_discard`` (src/wirekit/client/_async/client.py and the sync twin) reads a hop's body only
when ``Content-Length`` is present and at most 1 MiB; a body sent with
``Transfer-Encoding: chunked`` (or delimited by the connection's close) is never read, the
response is closed, and it is still put in ``response.history``. Its own comment says
"History responses are kept with their bodies up to this size".

What a user sees: ``response.history[0].content`` (or ``.text``) raises ``StreamError``
"the body of a streamed response was not read" on a plain ``client.get()`` that was not
streamed, for a 19-byte redirect page. (The connection is also closed instead of reused.)
requests and httpx both return ``b'<a href=/next>x</a>'`` for ``history[0].content``.
"""

from __future__ import annotations

import pytest

import wirekit
from tests.client.retry_redirect_edges._server import RawServer, response

PAGE = b"<a href=/next>x</a>"
CHUNKED_302 = (
    b"HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Type: text/html\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(PAGE), PAGE)
)


def _handler(seen):
    if seen.target == "/start":
        return CHUNKED_302
    return response(200, body=b"final")


def test_history_keeps_small_chunked_redirect_body() -> None:
    with RawServer(_handler) as server:
        with wirekit.Client(trust_env=False, timeout=5.0) as client:
            result = client.get(server.url + "/start")
    assert result.content == b"final"
    assert [hop.status_code for hop in result.history] == [302]
    assert result.history[0].content == PAGE  # StreamError before the fix


@pytest.mark.anyio
async def test_async_history_keeps_small_chunked_redirect_body() -> None:
    with RawServer(_handler) as server:
        async with wirekit.AsyncClient(trust_env=False, timeout=5.0) as client:
            result = await client.get(server.url + "/start")
    assert result.content == b"final"
    assert [hop.status_code for hop in result.history] == [302]
    assert result.history[0].content == PAGE
