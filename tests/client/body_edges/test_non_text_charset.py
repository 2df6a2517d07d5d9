"""A Content-Type charset naming one of Python's non-text codecs (hex, base64, zlib, bz2,
rot13...) is accepted as the body's charset.

charset_from_content_type (text.py) keeps any name codecs.lookup() knows; an unknown
charset ("bogus") is ignored and the body's charset detected, but "zlib" or "hex" are kept.
Then ``response.text`` raises DecodingError("unknown charset 'hex'") for a plain "hello"
body, and ``iter_text()``/``iter_lines()`` crash with a bare AssertionError (zlib, hex,
base64 incremental decoders assert errors == 'strict') or TypeError (rot13): not even a
WirekitError, from one header the server chose. (Under ``python -O`` the zlib codec would
decompress the body with no bomb limit and iter_text would yield bytes.)
"""

from __future__ import annotations

import pytest

import wirekit
from tests.client.body_edges._common import reply
from tests.support.scripted import ScriptedServer, expect, send

CHARSETS = [b"hex", b"zlib", b"base64", b"rot13"]


@pytest.mark.parametrize("charset", CHARSETS, ids=[c.decode() for c in CHARSETS])
def test_stream_iter_text_ignores_non_text_codec_sync(charset: bytes) -> None:
    script = reply(b"hello world", b"Content-Type: text/plain; charset=" + charset)
    with ScriptedServer([expect(), send(script)]) as server:
        with wirekit.Client(retry=0) as client:
            with client.stream("GET", server.url + "/") as response:
                text = "".join(response.iter_text())
    assert text == "hello world"


@pytest.mark.anyio
async def test_text_ignores_non_text_codec_async() -> None:
    script = reply(b"hello world", b"Content-Type: text/plain; charset=hex")
    with ScriptedServer([expect(), send(script)]) as server:
        async with wirekit.AsyncClient(retry=0) as client:
            response = await client.get(server.url + "/")
    assert response.text == "hello world"
