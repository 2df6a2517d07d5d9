"""iter_text / iter_lines ignore a body's byte-order mark, which ``text`` honours.

Response._stream_encoding (messages.py) calls guess_encoding(content_type, b"") with an
empty body, so without a Content-Type charset the streamed text is always decoded as
utf-8: a UTF-16 body (BOM, no charset: what Windows tools and some APIs send) comes out as
mojibake, and a UTF-8 BOM is kept as U+FEFF at the start of the first line (json.loads of
the first NDJSON/CSV line fails). ``response.text`` on the same body is right (it sees the
BOM), and so differs from "".join(iter_text()). The same happens after a non-streamed get:
iter_text() ignores the body already in memory.
"""

from __future__ import annotations

import codecs
import json

import pytest

import wirekit
from tests.client.body_edges._common import reply
from tests.support.scripted import ScriptedServer, expect, send

TEXT = "Grüße aus Köln\r\nzweite Zeile €\r\n"
UTF16 = reply(TEXT.encode("utf-16"), b"Content-Type: text/plain", chunk=5)
NDJSON = reply(
    codecs.BOM_UTF8 + b'{"a": 1}\n{"b": 2}\n', b"Content-Type: application/x-ndjson", chunk=3
)


def test_stream_iter_text_honours_utf16_bom_sync() -> None:
    with ScriptedServer([expect(), send(UTF16)]) as server:
        with wirekit.Client(retry=0) as client:
            with client.stream("GET", server.url + "/") as response:
                text = "".join(response.iter_text())
    assert text == TEXT


@pytest.mark.anyio
async def test_stream_aiter_lines_honours_utf16_bom_async() -> None:
    with ScriptedServer([expect(), send(UTF16)]) as server:
        async with wirekit.AsyncClient(retry=0) as client:
            async with client.stream("GET", server.url + "/") as response:
                lines = [line async for line in response.aiter_lines()]
    assert lines == ["Grüße aus Köln", "zweite Zeile €"]


def test_stream_iter_lines_strips_utf8_bom_sync() -> None:
    with ScriptedServer([expect(), send(NDJSON)]) as server:
        with wirekit.Client(retry=0) as client:
            with client.stream("GET", server.url + "/") as response:
                records = [json.loads(line) for line in response.iter_lines()]
    assert records == [{"a": 1}, {"b": 2}]


def test_iter_text_after_get_matches_text_sync() -> None:
    with ScriptedServer([expect(), send(UTF16)]) as server:
        with wirekit.Client(retry=0) as client:
            response = client.get(server.url + "/")
    assert "".join(response.iter_text()) == TEXT
    assert response.text == TEXT
