"""When the deadline leaves no time for the wait a retry needs, no retry happens: the
response comes back at once. But the ``retry`` trace event and the
``request.extensions["retries"]`` entry (docs: "Every attempt is ... listed") were already
emitted, so the caller is told about an attempt that was never made."""

from __future__ import annotations

import pytest

import wirekit
from tests.support.scripted import ScriptedServer, expect, hold, send

R503 = b"HTTP/1.1 503 Busy\r\nRetry-After: 30\r\nContent-Length: 0\r\n\r\n"


def test_no_retry_reported_when_deadline_forbids_it() -> None:
    events: list[str] = []
    with ScriptedServer([expect(), send(R503), hold()]) as server:
        with wirekit.Client(
            trust_env=False, timeout=2.0, trace=lambda e, i: events.append(e)
        ) as client:
            response = client.get(server.url + "/")
        requests_seen = len(server.received)
    assert response.status_code == 503
    assert requests_seen == 1  # no second attempt was made...
    assert response.request.extensions.get("retries", []) == []  # ...so none is listed
    assert "retry" not in events


@pytest.mark.anyio
async def test_async_no_retry_reported_when_deadline_forbids_it() -> None:
    events: list[str] = []
    with ScriptedServer([expect(), send(R503), hold()]) as server:
        async with wirekit.AsyncClient(
            trust_env=False, timeout=2.0, trace=lambda e, i: events.append(e)
        ) as client:
            response = await client.get(server.url + "/")
    assert response.status_code == 503
    assert response.request.extensions.get("retries", []) == []
    assert "retry" not in events
