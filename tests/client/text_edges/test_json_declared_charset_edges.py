"""json() ignores a declared charset and calls a valid JSON body "not valid JSON".

``application/json; charset=iso-8859-1`` (older Java/PHP stacks send it) with Latin-1
bytes: ``response.text`` is '{"name": "café"}', valid JSON, but ``response.json()``
parses the raw bytes as UTF-8 only (json.loads(bytes), messages.py Response.json) and
raises "response body ... is not valid JSON: 'utf-8' codec can't decode byte 0xe9".
requests (json() decodes with the declared encoding) and aiohttp (resp.json() uses the
Content-Type charset) both return {"name": "café"}.
(Found by the session-16 review of text decoding; fixed since: json() of a body that is not
UTF-8 reads the declared charset.)
"""

from __future__ import annotations

import pytest

import wirekit
from tests.client.body_edges._common import reply
from tests.support.scripted import ScriptedServer, expect, send

SCRIPT = reply(
    '{"name": "café", "city": "Besançon"}'.encode("latin-1"),
    b"Content-Type: application/json; charset=iso-8859-1",
)
EXPECTED = {"name": "café", "city": "Besançon"}


def test_json_decodes_with_the_declared_charset_sync() -> None:
    with ScriptedServer([expect(), send(SCRIPT)]) as server:
        with wirekit.Client(retry=0) as client:
            response = client.get(server.url + "/api")
    assert response.json() == EXPECTED


@pytest.mark.anyio
async def test_json_decodes_with_the_declared_charset_async() -> None:
    with ScriptedServer([expect(), send(SCRIPT)]) as server:
        async with wirekit.AsyncClient(retry=0) as client:
            response = await client.get(server.url + "/api")
    assert response.json() == EXPECTED
