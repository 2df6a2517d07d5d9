"""The decompression ratio limit (100x past 1 MiB) cannot be configured on a client.

A legitimate 3 MB JSON body of zeros compresses ~680x with gzip, so ``client.get`` raises
DecompressionLimitError("gzip body expanded more than max_ratio=100x ..."), and nothing the
user can pass to Client/AsyncClient changes that: Response._decoder (messages.py) forwards
only max_decoded_bytes to make_decoder, the clients accept only max_decoded_bytes.
DESIGN.md 6 ("decompressed size and ratio ... each has a documented default, a
configuration knob"); errors.py documents the knob as ``max_decompression_ratio``.
"""

from __future__ import annotations

import gzip
import json

import pytest

import wirekit
from tests.client.body_edges._common import reply
from tests.support.scripted import ScriptedServer, expect, send

PAYLOAD = json.dumps({"values": [0.0] * 600_000}).encode()  # 3 MB, gzip ratio ~680x
REPLY = reply(gzip.compress(PAYLOAD), b"Content-Encoding: gzip", b"Content-Type: application/json")


def test_ratio_limit_can_be_raised_on_the_client_sync() -> None:
    with ScriptedServer([expect(), send(REPLY)]) as server:
        with wirekit.Client(retry=0, max_decompression_ratio=10_000) as client:
            response = client.get(server.url + "/")
    assert response.content == PAYLOAD


@pytest.mark.anyio
async def test_ratio_limit_can_be_raised_on_the_client_async() -> None:
    with ScriptedServer([expect(), send(REPLY)]) as server:
        async with wirekit.AsyncClient(retry=0, max_decompression_ratio=10_000) as client:
            response = await client.get(server.url + "/")
    assert response.content == PAYLOAD
