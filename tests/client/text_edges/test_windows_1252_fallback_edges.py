"""Unlabelled windows-1252 text loses its quotes, dashes and euro sign.

WHATWG Encoding (and guess_encoding's own docstring) name windows-1252 the default for
unlabelled text. guess_encoding (text.py) still ends in ``latin-1`` for bodies under 64
bytes, which turns the bytes 0x80-0x9F (’ “ ” – — €) into invisible C1 control characters
("Don\\x92t panic."). And from 64 bytes on, its "prefer cp1252 on a near tie" rule only
looks at ``match.encoding``: charset-normalizer folds cp1252 into an equivalent cp1250
match (``could_be_from_charset``), so the rule never fires and a lower-chaos cp852 guess
wins ("Itĺs a ôquoteö").
(Found by the session-16 review of text decoding; fixed since: windows-1252 is the last
resort, and is chosen when charset-normalizer lists it among a match's charsets.)
"""

from __future__ import annotations

import pytest

import wirekit
from tests.client.body_edges._common import reply
from tests.support.scripted import ScriptedServer, expect, send

SHORT = "Don\u2019t panic \u2014 it\u2019s \u201conly\u201d \u20ac5."
LONG = "It\u2019s a \u201cquote\u201d \u2014 price \u20ac5, that\u2019s all folks, nothing more to say here."


@pytest.mark.parametrize("text", [SHORT, LONG], ids=["under-64-bytes", "70-bytes"])
def test_unlabelled_windows_1252_text_keeps_its_punctuation_sync(text: str) -> None:
    script = reply(text.encode("cp1252"), b"Content-Type: text/plain")
    with ScriptedServer([expect(), send(script)]) as server:
        with wirekit.Client(retry=0) as client:
            response = client.get(server.url + "/")
    assert response.text == text, response.encoding


@pytest.mark.anyio
@pytest.mark.parametrize("text", [SHORT, LONG], ids=["under-64-bytes", "70-bytes"])
async def test_unlabelled_windows_1252_text_keeps_its_punctuation_async(text: str) -> None:
    script = reply(text.encode("cp1252"), b"Content-Type: text/plain")
    with ScriptedServer([expect(), send(script)]) as server:
        async with wirekit.AsyncClient(retry=0) as client:
            response = await client.get(server.url + "/")
    assert response.text == text, response.encoding
