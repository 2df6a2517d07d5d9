"""multipart/form-data encoding, checked by parsing the output with python-multipart."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from python_multipart import MultipartParser

from wirekit._models.content import CHUNK_SIZE, encode_request
from wirekit._models.multipart import MultipartContent, quote_field
from wirekit.errors import StreamConsumed


class Collector:
    """Feeds chunks to python-multipart, keeping each part's headers and a hash of its data
    (or the data itself when small), so big bodies are never held in memory."""

    def __init__(self, boundary: str, *, keep_data: bool = True) -> None:
        self.parts: list[dict[str, Any]] = []
        self._keep = keep_data
        self._field = b""
        self._value = b""
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._begin,
                "on_header_field": lambda d, s, e: self._add_field(d[s:e]),
                "on_header_value": lambda d, s, e: self._add_value(d[s:e]),
                "on_header_end": self._header_end,
                "on_part_data": lambda d, s, e: self._data(d[s:e]),
            },
            max_header_count=16,
        )

    def _begin(self) -> None:
        self.parts.append({"headers": {}, "sha256": hashlib.sha256(), "data": b"", "size": 0})

    def _add_field(self, data: bytes) -> None:
        self._field += data

    def _add_value(self, data: bytes) -> None:
        self._value += data

    def _header_end(self) -> None:
        self.parts[-1]["headers"][self._field.decode().lower()] = self._value.decode()
        self._field = self._value = b""

    def _data(self, data: bytes) -> None:
        part = self.parts[-1]
        part["sha256"].update(data)
        part["size"] += len(data)
        if self._keep:
            part["data"] += data

    def feed(self, chunks: Any) -> int:
        total = 0
        for chunk in chunks:
            assert 0 < len(chunk) <= CHUNK_SIZE
            total += len(chunk)
            self._parser.write(chunk)
        self._parser.finalize()
        return total


def test_round_trip_of_fields_and_every_file_kind(tmp_path: Path) -> None:
    on_disk = tmp_path / "report.csv"
    on_disk.write_bytes(b"a,b\n1,2\n")
    opened = io.BytesIO(b"\x89PNG fake image")
    opened.name = "/some/dir/picture.png"
    headers, body = encode_request(
        data={"title": "Hello", "tags": ["a", "b"]},
        files={
            "raw": b"raw bytes",
            "csv": on_disk,
            "image": opened,
            "typed": ("notes.txt", "some text", "text/x-special"),
            "extra": ("x.bin", b"\x00\x01", None, {"X-Checksum": "abc"}),
            "nameless": (None, b"no filename"),
        },
        boundary="test-boundary",
    )
    assert headers["Content-Type"] == "multipart/form-data; boundary=test-boundary"
    assert isinstance(body, MultipartContent)
    collector = Collector("test-boundary")
    total = collector.feed(body)
    assert headers["Content-Length"] == str(total) == str(body.content_length)

    disposition = [p["headers"]["content-disposition"] for p in collector.parts]
    assert disposition == [
        'form-data; name="title"',
        'form-data; name="tags"',
        'form-data; name="tags"',
        'form-data; name="raw"; filename="raw"',
        'form-data; name="csv"; filename="report.csv"',
        'form-data; name="image"; filename="picture.png"',
        'form-data; name="typed"; filename="notes.txt"',
        'form-data; name="extra"; filename="x.bin"',
        'form-data; name="nameless"',
    ]
    data = [p["data"] for p in collector.parts]
    assert data == [
        b"Hello", b"a", b"b", b"raw bytes", b"a,b\n1,2\n", b"\x89PNG fake image",
        b"some text", b"\x00\x01", b"no filename",
    ]  # fmt: skip
    types = [p["headers"].get("content-type") for p in collector.parts]
    assert types == [
        None, None, None, "application/octet-stream", "text/csv", "image/png",
        "text/x-special", "application/octet-stream", None,  # no filename: a plain field
    ]  # fmt: skip
    assert collector.parts[7]["headers"]["x-checksum"] == "abc"


def test_filenames_are_quoted_per_the_html_standard() -> None:
    assert quote_field('a"b\r\nc.txt') == "a%22b%0D%0Ac.txt"
    _, body = encode_request(files={'fi"eld': ('evil"\r\nX-Injected: 1.txt', b"x")})
    text = b"".join(body)
    assert b'name="fi%22eld"; filename="evil%22%0D%0AX-Injected: 1.txt"' in text
    assert b"\r\nX-Injected" not in text


def test_random_boundary_and_boundary_validation() -> None:
    first = MultipartContent(files={"f": b"x"})
    second = MultipartContent(files={"f": b"x"})
    assert first.boundary != second.boundary
    assert len(first.boundary) == 32
    for bad in ["", "x" * 71, "bad\r\n", "ends with space "]:
        with pytest.raises(ValueError, match="invalid multipart boundary"):
            MultipartContent(files={"f": b"x"}, boundary=bad)


def test_replay_and_unknown_length(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"content")
    _, replayable = encode_request(files={"f": path, "g": io.BytesIO(b"mem")})
    first = b"".join(replayable)
    assert replayable.is_replayable
    assert b"".join(replayable) == first
    replayable.rewind()
    assert b"".join(replayable) == first

    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self._data = io.BytesIO(b"streamed")

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    headers, streamed = encode_request(files={"p": ("p.bin", Pipe())})
    assert headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in headers
    assert streamed.content_length is None
    assert not streamed.is_replayable
    assert b"streamed" in b"".join(streamed)
    with pytest.raises(StreamConsumed):
        streamed.rewind()


@pytest.mark.anyio
async def test_async_iteration(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"async content")
    _, body = encode_request(files={"f": path}, boundary="b")
    chunks = [chunk async for chunk in body]
    assert b"".join(chunks) == b"".join(body)
    assert b"async content" in b"".join(chunks)


def test_bad_file_values_are_named() -> None:
    with pytest.raises(TypeError, match="file part 'f': expected bytes, str, a path"):
        encode_request(files={"f": 42})
    with pytest.raises(TypeError, match="file part 'f': expected \\(filename, file"):
        encode_request(files={"f": ("only-name",)})


@pytest.mark.slow
def test_100_mb_file_streams_with_bounded_memory(tmp_path: Path) -> None:
    size = 100 * 1024 * 1024
    path = tmp_path / "big.bin"
    expected = hashlib.sha256()
    block = os.urandom(1024 * 1024)
    with path.open("wb") as file:
        for _ in range(size // len(block)):
            file.write(block)
            expected.update(block)

    tracemalloc.start()
    try:
        headers, body = encode_request(data={"kind": "big"}, files={"upload": path})
        collector = Collector(body.boundary, keep_data=False)  # type: ignore[attr-defined]
        total = collector.feed(body)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        path.unlink()  # pytest keeps recent tmp dirs: do not leave 100 MiB behind

    assert int(headers["Content-Length"]) == total
    upload = collector.parts[1]
    assert upload["size"] == size
    assert upload["sha256"].hexdigest() == expected.hexdigest()
    assert upload["headers"]["content-disposition"] == (
        'form-data; name="upload"; filename="big.bin"'
    )
    # The whole file is 100 MiB; streaming holds a few 64 KiB chunks at a time.
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes while streaming a 100 MiB file"
