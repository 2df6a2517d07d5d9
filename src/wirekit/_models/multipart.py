"""Streaming ``multipart/form-data`` encoder (RFC 7578) for ``files=`` uploads.

Parts are produced lazily: a ``pathlib.Path`` is opened when its turn comes and read in
64 KiB chunks, so uploading a large file never holds it in memory.
"""

from __future__ import annotations

import inspect
import io
import mimetypes
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping
from pathlib import PurePath
from typing import Any

from wirekit._models.content import (
    CHUNK_SIZE,
    RequestContent,
    _as_bytes_chunk,
    _split,
    _start_position,
    form_pairs,
    remaining_file_size,
)
from wirekit.errors import StreamConsumed

__all__ = ["DataField", "FileField", "MultipartContent", "quote_field"]

# RFC 2046 §5.1.1: a boundary is 1-70 of these characters and does not end in a space.
_BOUNDARY_CHARS = frozenset(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'()+_,-./:=? "
)


def quote_field(value: str) -> str:
    """Escape a name or filename for a Content-Disposition parameter.

    The HTML standard (multipart/form-data encoding algorithm) percent-encodes the three
    characters that would break the quoted-string: ``"`` -> %22, CR -> %0D, LF -> %0A.
    """
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _utf8(value: bytes, what: str) -> str:
    """Bytes a part's head carries as text: UTF-8, what the head is written in."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{what} {value!r} is not UTF-8") from exc


def _field_name(name: Any) -> str:
    """A part's name as text: bytes are UTF-8 (what the part's head is written in)."""
    if isinstance(name, str):
        return name
    if isinstance(name, bytes):
        return _utf8(name, "multipart field name")
    return str(name)


def _check_header_text(name: str, what: str, value: Any) -> None:
    # CR or LF would end the line and start another header of the part (an injection, as
    # with request headers, which the client refuses too); NUL is never valid there.
    text = value if isinstance(value, str) else str(value)  # as the f-string writes it
    if "\r" in text or "\n" in text or "\0" in text:
        raise ValueError(
            f"file part {name!r}: {what} {value!r} contains CR, LF or NUL (not allowed in a header)"
        )


class DataField:
    """A plain form field: ``Content-Disposition: form-data; name="..."`` and its value."""

    def __init__(self, name: str, value: str | bytes) -> None:
        self.name = name
        self._body = value if isinstance(value, bytes) else value.encode("utf-8")
        self._head = f'Content-Disposition: form-data; name="{quote_field(name)}"\r\n\r\n'.encode()

    @property
    def size(self) -> int:
        return len(self._head) + len(self._body)

    is_replayable = True

    def chunks(self) -> Iterator[bytes]:
        yield from _split(self._head + self._body)

    def rewind(self) -> None:
        pass


class FileField:
    """A file part. ``source`` is bytes/str, an open binary file, or a path (opened late)."""

    def __init__(
        self,
        name: str,
        source: Any,
        *,
        filename: str | None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.filename = filename
        if content_type is None and filename is not None:
            # A part without a filename is a plain form field (requests' ``(None, value)``
            # idiom): no type, as requests and httpx send it, so servers read it as text.
            guessed = mimetypes.guess_type(filename)[0] if filename else None
            content_type = guessed or "application/octet-stream"
        self.content_type = content_type
        lines = [f'Content-Disposition: form-data; name="{quote_field(name)}"']
        if filename is not None:
            lines[0] += f'; filename="{quote_field(filename)}"'
        extra = dict(headers or {})
        for key, value in extra.items():
            _check_header_text(name, "header name", key)
            _check_header_text(name, f"header {key}", value)
        if content_type is not None and not any(key.lower() == "content-type" for key in extra):
            _check_header_text(name, "content type", content_type)
            lines.append(f"Content-Type: {content_type}")
        lines.extend(f"{key}: {value}" for key, value in extra.items())
        self._head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
        self._path: str | None = None
        self._file: Any = None
        self._bytes: bytes | None = None
        if isinstance(source, (bytes, bytearray, memoryview)):
            self._bytes = bytes(source)
        elif isinstance(source, str):
            self._bytes = source.encode("utf-8")
        elif isinstance(source, (PurePath, os.PathLike)):
            self._path = os.fspath(source)
        elif isinstance(source, io.TextIOBase):
            # Read as text, a file's line endings and charset would change on the way.
            raise TypeError(
                f"file part {name!r}: the file is open in text mode; open it in binary mode "
                "('rb') so its bytes are sent as they are"
            )
        elif inspect.iscoroutinefunction(getattr(source, "read", None)):
            # Parts are read with plain calls, also by AsyncClient (as httpx does): a
            # coroutine would only show up, unawaited, once the head was already sent.
            raise TypeError(
                f"file part {name!r}: the file is async (its read() is a coroutine); pass "
                "its path or a binary file opened with open()"
            )
        elif hasattr(source, "read"):
            self._file = source
        else:
            raise TypeError(
                f"file part {name!r}: expected bytes, str, a path or a binary file, "
                f"not {type(source).__name__}"
            )
        self._start = _start_position(self._file) if self._file is not None else None
        self._consumed = False

    @property
    def body_size(self) -> int | None:
        if self._bytes is not None:
            return len(self._bytes)
        if self._path is not None:
            size = os.stat(self._path).st_size
            if size:
                return size
            # 0: empty, or a /proc or /sys file with content all the same (then unknown).
            with open(self._path, "rb") as file:
                return None if file.read(1) else 0
        return remaining_file_size(self._file)

    @property
    def size(self) -> int | None:
        body = self.body_size
        return None if body is None else len(self._head) + body

    @property
    def is_replayable(self) -> bool:
        return self._file is None or self._start is not None

    def rewind(self) -> None:
        if self._file is not None:
            if self._start is None:
                raise StreamConsumed(f"file part {self.name!r} cannot be read twice")
            self._file.seek(self._start)
        self._consumed = False

    def chunks(self) -> Iterator[bytes]:
        if self._consumed:
            self.rewind()
        elif self._file is not None and self._start is not None:
            # From where it stood when the part was made, whatever read it since (the same
            # file object in two parts): the size announced was measured from there.
            self._file.seek(self._start)
        self._consumed = True
        if self._bytes is not None:
            yield from _split(self._head + self._bytes)
            return
        yield from _split(self._head)
        if self._path is not None:
            with open(self._path, "rb") as file:
                yield from _read_chunks(file)
        else:
            yield from _read_chunks(self._file)


def _read_chunks(file: Any) -> Iterator[bytes]:
    while True:
        chunk = file.read(CHUNK_SIZE)
        if not chunk:
            return
        yield _as_bytes_chunk(chunk)


def _file_fields(files: Any) -> list[FileField]:
    """requests-style ``files=``: a dict or list of (name, value); value is a source or a
    tuple ``(filename, source[, content_type[, headers]])``."""
    items: Iterable[tuple[str, Any]] = files.items() if isinstance(files, Mapping) else files
    fields: list[FileField] = []
    for key, value in items:
        name = _field_name(key)
        filename: str | None
        content_type: str | None = None
        headers: Mapping[str, str] | None = None
        if isinstance(value, tuple):
            if not 2 <= len(value) <= 4:
                raise TypeError(
                    f"file part {name!r}: expected (filename, file[, content_type[, headers]])"
                )
            filename, source = _filename(name, value[0]), value[1]
            if len(value) > 2:
                content_type = value[2]
            if len(value) > 3:
                headers = value[3]
        else:
            source = value
            filename = _default_filename(source) or name
        fields.append(
            FileField(name, source, filename=filename, content_type=content_type, headers=headers)
        )
    return fields


def _filename(name: str, value: Any) -> str | None:
    """A part's filename as given: text, UTF-8 bytes (as requests takes them), or None."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return _utf8(value, f"file part {name!r}: filename")
    raise TypeError(
        f"file part {name!r}: the filename must be str, bytes or None, not {type(value).__name__}"
    )


def _default_filename(source: Any) -> str | None:
    if isinstance(source, (PurePath, os.PathLike)):
        return os.path.basename(os.fspath(source))
    name = getattr(source, "name", None)
    if isinstance(name, str) and name and not name.startswith("<"):
        return os.path.basename(name)
    return None


class MultipartContent(RequestContent):
    """A ``multipart/form-data`` body: ``data=`` fields then ``files=`` parts.

    ``content_length`` is known up front when every part's size is (bytes, paths, regular or
    seekable files); otherwise the body goes out chunked.
    """

    def __init__(
        self,
        *,
        data: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
        files: Any = None,
        boundary: str | None = None,
    ) -> None:
        if boundary is None:
            boundary = secrets.token_hex(16)  # 128 random bits: cannot occur in the data
        elif (
            not 1 <= len(boundary) <= 70
            or not _BOUNDARY_CHARS.issuperset(boundary)
            or boundary.endswith(" ")
        ):
            raise ValueError(f"invalid multipart boundary {boundary!r} (RFC 2046 §5.1.1)")
        self.boundary = boundary
        self.content_type = f"multipart/form-data; boundary={boundary}"
        parts: list[DataField | FileField] = [
            DataField(_field_name(name), value) for name, value in form_pairs(data or {})
        ]
        parts.extend(_file_fields(files or {}))
        self.parts = parts
        self._delimiter = f"--{boundary}\r\n".encode("ascii")
        self._close = f"--{boundary}--\r\n".encode("ascii")
        self.content_length = self._total_size()
        self.is_replayable = all(part.is_replayable for part in parts)
        self._started = False

    def _total_size(self) -> int | None:
        total = len(self._close)
        for part in self.parts:
            size = part.size
            if size is None:
                return None
            total += len(self._delimiter) + size + 2  # +2: the CRLF that ends each part
        return total

    def rewind(self) -> None:
        super().rewind()
        for part in self.parts:
            part.rewind()
        self._started = False

    def __iter__(self) -> Iterator[bytes]:
        if self._started:
            self.rewind()
        self._started = True
        for part in self.parts:
            yield self._delimiter
            yield from part.chunks()
            yield b"\r\n"
        yield self._close

    def __repr__(self) -> str:
        return f"MultipartContent(<{len(self.parts)} parts, boundary={self.boundary!r}>)"
