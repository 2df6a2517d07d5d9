"""A response without a body (HEAD, 204, 304) fails when its Content-Encoding is one
wirekit cannot decode, although there is nothing to decode.

read() -> iter_bytes() -> _iterators._Decoded builds make_decoder(content-encoding) up
front, and make_decoder raises DecodingError("unsupported Content-Encoding 'compress'").
So ``client.head(url)`` on a file served with ``Content-Encoding: compress`` (or S3 objects
whose metadata says "aws-chunked", "utf-8"...) and a conditional GET answered 304 with the
stored representation's Content-Encoding both raise instead of returning the response.
"""

from __future__ import annotations

import pytest

import wirekit
from tests.support.scripted import ScriptedServer, expect, send

HEAD_REPLY = b"HTTP/1.1 200 OK\r\nContent-Encoding: compress\r\nContent-Length: 1234\r\n\r\n"
NOT_MODIFIED = b'HTTP/1.1 304 Not Modified\r\nContent-Encoding: aes128gcm\r\nETag: "v1"\r\n\r\n'
NO_CONTENT = b"HTTP/1.1 204 No Content\r\nContent-Encoding: compress\r\n\r\n"


def test_head_with_unknown_content_encoding_sync() -> None:
    with ScriptedServer([expect(), send(HEAD_REPLY)]) as server:
        with wirekit.Client(retry=0) as client:
            response = client.head(server.url + "/archive.tar.Z")
    assert response.status_code == 200
    assert response.headers["content-length"] == "1234"
    assert response.content == b""


@pytest.mark.parametrize("script", [NOT_MODIFIED, NO_CONTENT], ids=["304", "204"])
@pytest.mark.anyio
async def test_bodyless_status_with_unknown_content_encoding_async(script: bytes) -> None:
    with ScriptedServer([expect(), send(script)]) as server:
        async with wirekit.AsyncClient(retry=0) as client:
            response = await client.get(server.url + "/", headers={"If-None-Match": '"v1"'})
    assert response.content == b""
