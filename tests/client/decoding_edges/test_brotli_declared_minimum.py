"""With brotli 1.1 (what ``wirekit[brotli]`` accepts: pyproject says ``brotli>=1.1``) every
``Content-Encoding: br`` response fails with a bare TypeError.

What the user sees: the client advertises ``Accept-Encoding: gzip, deflate, br, zstd``
(brotli imports fine), servers answer with br, and ``client.get(url)`` raises
``TypeError: process() takes no keyword arguments`` (not a wirekit error, no host named)
for every such response. brotli 1.1.0 is what distributions ship (Ubuntu 24.04
python3-brotli) and what many lock files pin.

Reference libraries: urllib3 2.8 calls ``process(data, output_buffer_limit=...)`` and falls
back to ``process(data)`` on TypeError (with a DependencyWarning); httpx 0.28 calls
``process(data)``: both decode the body.

Cause: ``_BrotliDecoder.decode`` (src/wirekit/_models/decoders.py) passes
``output_buffer_limit=`` and calls ``can_accept_more_data()``, both added in brotli 1.2.0
(google/brotli changelog; python-hyper/brotlicffi#207). Suggested fix: require
``brotli>=1.2`` in pyproject's extra, and where an older brotli is imported treat br as not
installed (``supported_encodings()`` leaves it out of Accept-Encoding) or decode through
``process(data)`` with the limits checked after each call.

The test stands in brotli 1.1's Decompressor API (``process(data)``, ``is_finished()``,
nothing else) around the real decompressor.

(Found by a review of content decoding; fixed since: the extra now requires brotli>=1.2; an
older brotli is not offered in Accept-Encoding and a br response names the version it needs.
The text above describes the bug as it was.)
"""

from __future__ import annotations

import asyncio

import brotli
import pytest

import wirekit
from tests.client.decoding_edges._peer import response, serve
from wirekit._models import decoders

BODY = b"brotli body " * 100


class _Brotli11Decompressor:
    """brotli 1.1.0's Decompressor: ``process(string)`` with no keywords, ``is_finished()``."""

    def __init__(self) -> None:
        self._real = brotli.Decompressor()

    def process(self, data: bytes, /) -> bytes:
        return self._real.process(data)

    def is_finished(self) -> bool:
        return self._real.is_finished()


class _Brotli11:
    Decompressor = _Brotli11Decompressor
    error = brotli.error
    __version__ = "1.1.0"

    @staticmethod
    def decompress(data: bytes) -> bytes:
        return brotli.decompress(data)


@pytest.fixture
def brotli_11(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decoders, "brotli", _Brotli11)


def _replies() -> dict[str, list[bytes]]:
    return {"/": [response(brotli.compress(BODY), b"Content-Encoding: br")]}


def test_br_response_with_brotli_1_1_sync(brotli_11: None) -> None:
    with serve(_replies()) as peer, wirekit.Client(retry=0, timeout=10) as client:
        sent = client.build_request("GET", peer.url + "/").headers.get("accept-encoding", "")
        assert sent == "gzip, deflate, zstd"  # br is not offered
        with pytest.raises(wirekit.DecodingError, match=r"brotli 1\.1\.0 is too old.*1\.2"):
            client.get(peer.url + "/")  # a server that sends br anyway


def test_br_response_with_brotli_1_1_async(brotli_11: None) -> None:
    async def main() -> bytes:
        async with wirekit.AsyncClient(retry=0, timeout=10) as client:
            return (await client.get(peer.url + "/")).content

    assert "br" not in decoders.accept_encoding()
    with serve(_replies()) as peer, pytest.raises(wirekit.DecodingError, match="too old"):
        asyncio.run(main())
