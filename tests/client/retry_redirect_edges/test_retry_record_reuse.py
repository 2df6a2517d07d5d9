"""``request.extensions["retries"]`` reports retries of an earlier send of the same Request.
(Found by a differential review of retries and redirects; fixed since.)

``_pause`` (src/wirekit/client/flows.py) appends to
``request.extensions.setdefault("retries", [])`` and nothing resets it when ``send()``
starts, so a built request sent again (``client.send(request)`` twice, as httpx allows)
carries the first send's list.

What a user sees: the second ``send()`` made exactly one attempt, yet
``response.request.extensions["retries"]`` lists a 429 retry (and a second send that does
retry shows two entries, both "attempt 1"). docs/client.md: "Every attempt is logged ... and
listed in response.request.extensions["retries"]" - the list should describe this send.
"""

from __future__ import annotations

import pytest

import wirekit
from tests.client.retry_redirect_edges._server import RawServer, response


def _first_429():
    calls = {"n": 0}

    def handler(seen):
        calls["n"] += 1
        if calls["n"] == 1:
            return response(429, [(b"Retry-After", b"0")])
        return response(200, body=b"ok")

    return handler


def test_second_send_does_not_report_first_sends_retries() -> None:
    with RawServer(_first_429()) as server:
        with wirekit.Client(trust_env=False, timeout=5.0) as client:
            request = client.build_request("GET", server.url + "/")
            first = client.send(request)
            assert len(first.request.extensions.get("retries", [])) == 1
            second = client.send(request)
        sent = len(server.requests)
    assert second.status_code == 200
    assert sent == 3
    assert second.request.extensions.get("retries", []) == []  # before the fix: the old entry


@pytest.mark.anyio
async def test_async_second_send_does_not_report_first_sends_retries() -> None:
    with RawServer(_first_429()) as server:
        async with wirekit.AsyncClient(trust_env=False, timeout=5.0) as client:
            request = client.build_request("GET", server.url + "/")
            first = await client.send(request)
            assert len(first.request.extensions.get("retries", [])) == 1
            second = await client.send(request)
        sent = len(server.requests)
    assert second.status_code == 200
    assert sent == 3
    assert second.request.extensions.get("retries", []) == []
