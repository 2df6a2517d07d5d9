"""A body without a charset that is UTF-8 but for one bad spot is decoded as Latin-1 whole.

guess_encoding (text.py) takes UTF-8 only when the whole sample decodes strictly. The one
exception it makes (a character cut at the 64 KiB *sample* end) is not made for a body cut
at its own end: a 206 Partial Content range, or a tail fetched with ``Range: bytes=-N``,
ends in the middle of a character, and every other character of the body turns into
mojibake ("ÐŸÑ€Ð¸Ð²ÐµÑ‚" for "Привет"). The same for one stray byte in an otherwise UTF-8
page (a windows-1252 apostrophe pasted into a UTF-8 CMS page). httpx decodes both as
UTF-8 with one U+FFFD; browsers' detectors (chardetng, CED) say UTF-8 too.
(Found by the session-16 review of text decoding; fixed since: a body mostly valid UTF-8
(multi-byte characters at least twice the bad bytes) is UTF-8.)
"""

from __future__ import annotations

import pytest

import wirekit
from tests.client.body_edges._common import reply
from tests.support.scripted import ScriptedServer, expect, send

RUSSIAN = "Привет, мир! Это пример текста на русском языке для проверки кодировки. " * 2
# A range of the UTF-8 bytes that stops inside the last character ("и" is 2 bytes).
RANGE = (RUSSIAN + "и").encode()[:-1]
CUT = reply(
    RANGE,
    b"Content-Type: text/plain",
    b"Content-Range: bytes 0-%d/9999" % (len(RANGE) - 1),
    status=b"206 Partial Content",
)
GERMAN = "Grüße aus Köln, schöne Straße, Mädchen und Jungen spielen im Garten. "
STRAY = reply(GERMAN.encode() + b"Peter\x92s Haus. " + GERMAN.encode(), b"Content-Type: text/html")


def test_utf8_range_cut_inside_its_last_character_is_still_utf8_sync() -> None:
    with ScriptedServer([expect(), send(CUT)]) as server:
        with wirekit.Client(retry=0) as client:
            response = client.get(server.url + "/log.txt", headers={"Range": "bytes=0-140"})
    assert response.text.startswith(RUSSIAN), (response.encoding, response.text[:30])


@pytest.mark.anyio
async def test_utf8_range_cut_inside_its_last_character_is_still_utf8_async() -> None:
    with ScriptedServer([expect(), send(CUT)]) as server:
        async with wirekit.AsyncClient(retry=0) as client:
            response = await client.get(server.url + "/log.txt", headers={"Range": "bytes=0-140"})
    assert response.text.startswith(RUSSIAN), (response.encoding, response.text[:30])


def test_utf8_page_with_one_stray_byte_is_still_utf8_sync() -> None:
    with ScriptedServer([expect(), send(STRAY)]) as server:
        with wirekit.Client(retry=0) as client:
            response = client.get(server.url + "/")
    assert response.text.startswith(GERMAN), (response.encoding, response.text[:30])


@pytest.mark.anyio
async def test_utf8_page_with_one_stray_byte_is_still_utf8_async() -> None:
    with ScriptedServer([expect(), send(STRAY)]) as server:
        async with wirekit.AsyncClient(retry=0) as client:
            response = await client.get(server.url + "/")
    assert response.text.startswith(GERMAN), (response.encoding, response.text[:30])
