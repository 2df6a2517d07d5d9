"""A malformed ``Retry-After`` crashes the request with a bare ValueError/OverflowError.
(Found by a differential review of retries and redirects; fixed since.)

``parse_retry_after`` (src/wirekit/client/flows.py) means to ignore a value it cannot read
(it returns None for "-1", "soon", "1.5"...), but two kinds of garbage escape it:

* ``value.isdigit()`` is true for the Latin-1 superscripts ``¹ ² ³`` (bytes 0xB9, 0xB2,
  0xB3: headers are decoded as Latin-1), and ``float("²")`` raises ValueError;
* an HTTP-date with an absurd zone offset (``+99999999999999999999``) makes
  ``email.utils.parsedate_to_datetime`` raise OverflowError, which is not caught.

What a user sees: ``client.get(url)`` raises ``ValueError``/``OverflowError`` (not a
``WirekitError``, so neither ``except wirekit.WirekitError`` nor ``fetch(default=)`` catches
it) because a server answered 503 with a junk header. The same junk in any other form
("soon", "-1") is ignored and the 503 is returned. RFC 9110 §10.2.3 defines Retry-After as
an HTTP-date or delta-seconds (ASCII digits only); urllib3 matches ``^\\s*[0-9]+\\s*$``
(ASCII) and turns anything else it cannot parse into its own ``InvalidHeader``, never a
bare ValueError/OverflowError.
"""

from __future__ import annotations

import pytest

import wirekit
from tests.client.retry_redirect_edges._server import RawServer, response

GARBAGE = [
    pytest.param(b"\xb2", id="superscript-two"),
    pytest.param(b"Mon, 01 Jan 2024 00:00:00 +99999999999999999999", id="huge-zone-offset"),
]


def _busy(value: bytes):
    def handler(seen):
        return response(503, [(b"Retry-After", value)], b"busy")

    return handler


@pytest.mark.parametrize("value", GARBAGE)
def test_garbage_retry_after_is_ignored(value: bytes) -> None:
    with RawServer(_busy(value)) as server:
        with wirekit.Client(trust_env=False, timeout=5.0) as client:
            result = client.get(
                server.url + "/"
            )  # raised ValueError / OverflowError before the fix
    assert result.status_code == 503  # the unreadable Retry-After is ignored: no retry


@pytest.mark.parametrize("value", GARBAGE)
@pytest.mark.anyio
async def test_async_garbage_retry_after_is_ignored(value: bytes) -> None:
    with RawServer(_busy(value)) as server:
        async with wirekit.AsyncClient(trust_env=False, timeout=5.0) as client:
            result = await client.get(server.url + "/")
    assert result.status_code == 503
