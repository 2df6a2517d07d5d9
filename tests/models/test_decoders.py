"""Content-Encoding decoders with real compressed data, bomb limits, and text helpers."""

from __future__ import annotations

import gzip
import os
import tracemalloc
import zlib

import brotli
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from wirekit._models.decoders import (
    DEFAULT_MAX_DECODED_BYTES,
    DEFAULT_MAX_RATIO,
    accept_encoding,
    make_decoder,
    supported_encodings,
)
from wirekit.errors import DecodingError, DecompressionLimitError

TEXT = b"".join(b"line %d of a compressible body, with some words\n" % i for i in range(5000))


def deflate_raw(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


ENCODERS = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


def decode_all(encoding: str | None, data: bytes, chunk: int = 1000, **limits: int) -> bytes:
    decoder = make_decoder(encoding, **limits)
    out = [decoder.decode(data[i : i + chunk]) for i in range(0, len(data), chunk)]
    out.append(decoder.flush())
    return b"".join(out)


@pytest.mark.parametrize("encoding", sorted(ENCODERS))
@pytest.mark.parametrize("chunk", [1, 7, 1000, 1 << 20])
def test_each_decoder_with_real_data(encoding: str, chunk: int) -> None:
    data = ENCODERS[encoding](TEXT)
    if chunk == 1:
        data_text, data = TEXT[:3000], ENCODERS[encoding](TEXT[:3000])
        assert decode_all(encoding, data, chunk) == data_text
    else:
        assert decode_all(encoding, data, chunk) == TEXT


@pytest.mark.parametrize("encoding", [None, "", "identity", "IDENTITY"])
def test_identity(encoding: str | None) -> None:
    assert decode_all(encoding, b"plain bytes") == b"plain bytes"


def test_raw_deflate_is_accepted_as_browsers_do() -> None:
    assert decode_all("deflate", deflate_raw(TEXT), 1) == TEXT
    assert decode_all("deflate", deflate_raw(TEXT), 4096) == TEXT


def test_gzip_multi_member() -> None:
    data = gzip.compress(b"first member, ") + gzip.compress(b"second member")
    assert decode_all("gzip", data, 5) == b"first member, second member"
    assert decode_all("gzip", data, len(data)) == b"first member, second member"


def test_zstd_multi_frame() -> None:
    compressor = zstandard.ZstdCompressor()
    data = compressor.compress(b"frame one, ") + compressor.compress(b"frame two")
    assert decode_all("zstd", data, 3) == b"frame one, frame two"


@pytest.mark.parametrize(
    ("header", "layers"),
    [
        ("gzip, br", ["gzip", "br"]),
        ("deflate,zstd", ["deflate", "zstd"]),
        (["gzip", "br"], ["gzip", "br"]),  # two Content-Encoding fields
        ("br, identity, gzip", ["br", "gzip"]),
    ],
)
def test_stacked_encodings_are_decoded_in_reverse(header: object, layers: list[str]) -> None:
    data = TEXT
    for name in layers:  # applied in the order listed
        data = ENCODERS[name](data)
    decoder = make_decoder(header)  # type: ignore[arg-type]
    assert decoder.decode(data) + decoder.flush() == TEXT


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_corrupt_data_names_the_encoding(encoding: str) -> None:
    garbage = (
        b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4
        if encoding == "gzip"
        else b"\x78\x9c" + bytes(range(256)) * 4
    )
    if encoding in ("br", "zstd"):
        garbage = b"\xff" * 64
    with pytest.raises(DecodingError, match=encoding):
        decode_all(encoding, garbage)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_truncated_data_is_an_error(encoding: str) -> None:
    data = ENCODERS[encoding](os.urandom(5000))
    with pytest.raises(DecodingError, match=f"truncated {encoding}"):
        decode_all(encoding, data[: len(data) // 2])


def test_unknown_encoding_is_refused_by_name() -> None:
    with pytest.raises(DecodingError, match="unsupported Content-Encoding 'compress'"):
        make_decoder("compress")


def test_accept_encoding_lists_what_is_installed() -> None:
    assert accept_encoding() == "gzip, deflate, br, zstd"
    assert supported_encodings() == ["gzip", "deflate", "br", "zstd"]


def test_documented_defaults() -> None:
    assert DEFAULT_MAX_DECODED_BYTES == 1 << 30
    assert DEFAULT_MAX_RATIO == 100.0


# -- decompression bombs -------------------------------------------------------------------
TEN_MB = 10 * 1024 * 1024
ZEROS = bytes(TEN_MB)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_bomb_stops_at_max_decoded_bytes_without_allocating_it(encoding: str) -> None:
    bomb = ENCODERS[encoding](ZEROS)
    assert len(bomb) < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(DecompressionLimitError) as info:
            # No ratio limit here: only the size limit can stop it.
            decode_all(encoding, bomb, 1 << 20, max_decoded_bytes=1 << 20, max_ratio=10**9)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "max_decoded_bytes=1048576" in str(info.value)
    assert encoding in str(info.value)
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes while decoding a 10 MB bomb"


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_bomb_stops_at_max_ratio(encoding: str) -> None:
    bomb = ENCODERS[encoding](ZEROS)
    tracemalloc.start()
    try:
        with pytest.raises(DecompressionLimitError) as info:
            decode_all(encoding, bomb, 4096)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "max_decompression_ratio=100x" in str(info.value)
    assert peak < 4 * 1024 * 1024


def test_stacked_bomb_is_stopped() -> None:
    bomb = gzip.compress(gzip.compress(ZEROS))
    with pytest.raises(DecompressionLimitError):
        decode_all("gzip, gzip", bomb, 1 << 20, max_decoded_bytes=1 << 20, max_ratio=10**9)


def test_small_repetitive_body_is_within_the_ratio_grace() -> None:
    body = bytes(500_000)  # 1000x compressible, but under the 1 MiB grace
    assert decode_all("gzip", gzip.compress(body)) == body


def test_limits_none_mean_defaults() -> None:
    decoder = make_decoder("gzip", max_decoded_bytes=None, max_ratio=None)
    assert decoder.decode(gzip.compress(b"x")) + decoder.flush() == b"x"


# -- property tests ------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    body=st.binary(max_size=3000),
    encoding=st.sampled_from(sorted(ENCODERS)),
    cuts=st.lists(st.integers(1, 500), max_size=8),
)
def test_any_chunking_decodes_to_the_original(body: bytes, encoding: str, cuts: list[int]) -> None:
    data = ENCODERS[encoding](body)
    decoder = make_decoder(encoding)
    out, position = [], 0
    for size in cuts:
        out.append(decoder.decode(data[position : position + size]))
        position += size
    out.append(decoder.decode(data[position:]))
    out.append(decoder.flush())
    assert b"".join(out) == body
