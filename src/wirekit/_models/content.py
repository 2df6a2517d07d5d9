"""Request bodies: turn ``content=``/``data=``/``json=``/``files=`` into headers and a stream.

``RequestContent`` is the one body type the client sends: iterable both sync and async, in
chunks of at most 64 KiB, with a length when known and a rewind for redirects and retries.
"""

from __future__ import annotations

import inspect
import io
import json as jsonlib
import os
import stat
import sys
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from typing import Any, TypeAlias
from urllib.parse import urlencode

from wirekit.errors import StreamConsumed

__all__ = [
    "CHUNK_SIZE",
    "AsyncIteratorContent",
    "BytesContent",
    "FileContent",
    "IteratorContent",
    "RequestContent",
    "encode_request",
    "multipart_boundary",
]

#: Largest chunk a body yields: 64 KiB is the sweet spot for socket writes (it matches the
#: default socket buffer scale) and bounds memory per in-flight request.
CHUNK_SIZE = 64 * 1024

RequestData: TypeAlias = "Mapping[str, Any] | Iterable[tuple[str, Any]] | str | bytes | Any"


class RequestContent:
    """A request body. Iterate with ``for`` or ``async for``; each chunk is ``bytes``.

    * ``content_length``: the size in bytes, or ``None`` when only sending tells
      (the request then uses ``Transfer-Encoding: chunked``);
    * ``is_replayable``: whether the body can be sent again (307/308 redirects, retries);
    * ``rewind()``: get ready to send again (raises :class:`StreamConsumed` when impossible);
    * ``as_bytes()``: the whole body when it is already in memory, else ``None``;
    * ``needs_event_loop``: only ``async for`` can read it (an async iterator or file).
    """

    content_length: int | None = None
    is_replayable: bool = False
    needs_event_loop: bool = False

    def __iter__(self) -> Iterator[bytes]:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    async def __aiter__(self) -> AsyncIterator[bytes]:
        # Sync sources iterated from async code: reads are of local files or in-memory data
        # in 64 KiB chunks, each short; handing them to a thread would cost more than it
        # saves (httpx makes the same choice) and src may not depend on anyio.to_thread.
        for chunk in self:
            yield chunk

    def rewind(self) -> None:
        if not self.is_replayable:
            raise StreamConsumed(f"{type(self).__name__} body cannot be sent twice")

    def as_bytes(self) -> bytes | None:
        return None


class BytesContent(RequestContent):
    """A body already in memory. Always replayable."""

    is_replayable = True

    def __init__(self, body: bytes) -> None:
        self._body = body
        self.content_length = len(body)

    def __iter__(self) -> Iterator[bytes]:
        body = self._body
        if len(body) <= CHUNK_SIZE:
            if body:
                yield body
            return
        view = memoryview(body)
        for start in range(0, len(body), CHUNK_SIZE):
            yield bytes(view[start : start + CHUNK_SIZE])

    def as_bytes(self) -> bytes:
        return self._body

    def __repr__(self) -> str:
        return f"BytesContent(<{len(self._body)} bytes>)"


def _as_bytes_chunk(chunk: Any) -> bytes:
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, str):
        return chunk.encode("utf-8")
    if isinstance(chunk, (bytearray, memoryview)):
        return bytes(chunk)
    raise TypeError(f"a request body chunk must be bytes or str, not {type(chunk).__name__}")


def _split(chunk: bytes) -> Iterator[bytes]:
    if len(chunk) <= CHUNK_SIZE:
        if chunk:
            yield chunk
        return
    for start in range(0, len(chunk), CHUNK_SIZE):
        yield chunk[start : start + CHUNK_SIZE]


def _is_os_file(file: Any) -> bool:
    """Whether ``file.read()`` returns the bytes of the OS file ``file.fileno()`` names: a
    FileIO, or a buffered file (or a wrapper like NamedTemporaryFile's) over one."""
    return isinstance(file, io.FileIO) or isinstance(getattr(file, "raw", None), io.FileIO)


def _has_fileno(file: Any) -> bool:
    try:
        file.fileno()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False
    return True


def remaining_file_size(file: Any) -> int | None:
    """Bytes left to read in a binary file object, or ``None`` when it cannot tell."""
    if isinstance(file, io.TextIOBase):
        return None  # characters, not bytes: the encoded size is unknown until read
    if _is_os_file(file):
        try:
            info = os.fstat(file.fileno())
            if stat.S_ISREG(info.st_mode):
                if not info.st_size:
                    # Empty, or a /proc, /sys or FUSE file that reports 0 bytes and has
                    # content: one byte read where the file stands tells them apart (the
                    # latter goes chunked). An empty one is 0: a multipart form holding it
                    # keeps its Content-Length, which some servers need to read the form.
                    return 0 if not os.pread(file.fileno(), 1, int(file.tell())) else None
                return max(0, info.st_size - int(file.tell()))
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            pass
    elif isinstance(file, io.IOBase) and not _is_spooled(file) and _has_fileno(file):
        # A file object over an OS file whose bytes it transforms (gzip.open, bz2.open,
        # lzma.open: decompressed): the OS file's size is not the body's, and seeking to
        # the end would decompress it all. Only reading tells. (Objects that merely
        # delegate to a file, as Django's File does, are measured by seeking, below.)
        return None
    try:
        if file.seekable():
            position = int(file.tell())
            end = int(file.seek(0, io.SEEK_END))
            file.seek(position)
            return max(0, end - position)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        pass
    return None


def _is_spooled(file: Any) -> bool:
    """A tempfile.SpooledTemporaryFile (its fileno() would move it to disk; seeking is
    cheap and exact whether it is in memory or not)."""
    tempfile = sys.modules.get("tempfile")  # not imported: no such file can exist
    return tempfile is not None and isinstance(file, tempfile.SpooledTemporaryFile)


def _start_position(file: Any) -> int | None:
    try:
        return int(file.tell()) if file.seekable() else None
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


class FileContent(RequestContent):
    """A file-like object (anything with ``.read``), read in chunks; never whole."""

    def __init__(self, file: Any) -> None:
        self._file = file
        self._start = _start_position(file)
        self.content_length = remaining_file_size(file)
        self.is_replayable = self._start is not None
        self._started = False

    def rewind(self) -> None:
        super().rewind()
        self._file.seek(self._start)
        self._started = False

    def __iter__(self) -> Iterator[bytes]:
        if self._started:
            self.rewind()  # replayable bodies start over; others raise StreamConsumed
        self._started = True
        read = self._file.read
        while True:
            chunk = read(CHUNK_SIZE)
            if not chunk:
                return
            yield _as_bytes_chunk(chunk)

    def __repr__(self) -> str:
        return f"FileContent({self._file!r})"


class IteratorContent(RequestContent):
    """A sync iterable of bytes (a generator...). Sent once: not replayable, unless it is a
    list or tuple, which can be iterated again (a 307/308 redirect resends it)."""

    def __init__(self, iterable: Iterable[Any], *, content_length: int | None = None) -> None:
        self._iterable = iterable
        self.content_length = content_length
        self._started = False
        self.is_replayable = isinstance(iterable, (list, tuple))

    def rewind(self) -> None:
        super().rewind()
        self._started = False

    def __iter__(self) -> Iterator[bytes]:
        if self._started:
            raise StreamConsumed("a streamed (iterator) request body cannot be sent twice")
        self._started = True
        for chunk in self._iterable:
            yield from _split(_as_bytes_chunk(chunk))


class AsyncIteratorContent(RequestContent):
    """An async iterable of bytes, or an async file (``await file.read(n)``). Async only."""

    needs_event_loop = True

    def __init__(self, source: Any, *, content_length: int | None = None) -> None:
        self._source = source
        self.content_length = content_length
        self._started = False

    def __iter__(self) -> Iterator[bytes]:
        raise TypeError("this request body is an async iterator: send it with an async client")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._started:
            raise StreamConsumed("a streamed (async iterator) request body cannot be sent twice")
        self._started = True
        if isinstance(self._source, AsyncIterable):
            async for chunk in self._source:
                for piece in _split(_as_bytes_chunk(chunk)):
                    yield piece
            return
        while True:
            chunk = await self._source.read(CHUNK_SIZE)
            if not chunk:
                return
            yield _as_bytes_chunk(chunk)


def _stream(source: Any) -> RequestContent:
    """Pick the body type for a non-mapping ``content=``/``data=`` value."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return BytesContent(bytes(source))
    if isinstance(source, str):
        return BytesContent(source.encode("utf-8"))
    read = getattr(source, "read", None)
    if read is not None:
        if inspect.iscoroutinefunction(read):
            return AsyncIteratorContent(source)
        if isinstance(source, io.TextIOBase) and not isinstance(source, io.StringIO):
            # Read as text, the file's line endings and charset would change on the way
            # (files= refuses it too). A StringIO has no bytes to keep: sent as UTF-8.
            raise TypeError(
                "the request body is a file open in text mode; open it in binary mode "
                "('rb'), or pass its .buffer, so its bytes are sent as they are"
            )
        return FileContent(source)
    if isinstance(source, AsyncIterable):
        return AsyncIteratorContent(source)
    if isinstance(source, Mapping):
        # Iterated, a dict gives its keys: the values would be dropped without a word.
        raise TypeError(
            f"cannot send a {type(source).__name__} as content=: pass json= to send it as "
            "JSON, or data= to send it as a form"
        )
    if isinstance(source, Iterable):
        return IteratorContent(source)
    raise TypeError(
        f"cannot send {type(source).__name__} as a request body: pass bytes, str, a file, "
        "or an iterator of bytes"
    )


def _length_headers(body: RequestContent) -> dict[str, str]:
    if body.content_length is None:
        return {"Transfer-Encoding": "chunked"}
    return {"Content-Length": str(body.content_length)}


def _form_name(name: Any) -> str | bytes:
    # bytes names are sent as their octets (as requests and httpx do), not as their repr.
    return name if isinstance(name, (str, bytes)) else str(name)


def _form_value(value: Any) -> str | bytes:
    # Same spelling as query parameters (url.py): None -> "", booleans as "true"/"false";
    # bytes are sent as their own octets (as requests does), not as their repr.
    if isinstance(value, bytes):
        return value
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def form_pairs(
    data: Mapping[Any, Any] | Iterable[tuple[Any, Any]],
) -> list[tuple[str | bytes, str | bytes]]:
    """Form fields as (name, value) pairs; list values become repeated names. Names and
    values given as bytes stay bytes (their octets are sent)."""
    items = data.items() if isinstance(data, Mapping) else data
    pairs: list[tuple[str | bytes, str | bytes]] = []
    for name, value in items:
        key = _form_name(name)
        if isinstance(value, (list, tuple)):
            pairs.extend((key, _form_value(v)) for v in value)
        else:
            pairs.append((key, _form_value(value)))
    return pairs


def multipart_boundary(content_type: str | None) -> str | None:
    """The ``boundary`` of a caller's ``multipart/...`` Content-Type (quotes removed), or
    None: a body sent under that header must be framed with that boundary."""
    if not content_type:
        return None
    kind, _, params = content_type.partition(";")
    if not kind.strip().lower().startswith("multipart/"):
        return None
    for param in params.split(";"):
        name, equals, value = param.partition("=")
        if equals and name.strip().lower() == "boundary":
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            return value
    return None


def _is_form(data: Any) -> bool:
    if isinstance(data, Mapping):
        return True
    return isinstance(data, (list, tuple)) and all(
        isinstance(item, tuple) and len(item) == 2 for item in data
    )


def request_body(
    headers: Any,
    *,
    content: Any = None,
    data: Any = None,
    files: Any = None,
    json: Any = None,
) -> RequestContent:
    """The body for ``content=``/``data=``/``files=``/``json=``, with its framing and
    Content-Type added to ``headers`` (a :class:`~wirekit.Headers`) where the caller set
    none: what the client's ``build_request`` and a hand-built ``Request`` both do.

    A Content-Length the caller gave is kept for a body of unknown size (sent with that
    length, not chunked, as httpx and requests do); a Transfer-Encoding the caller gave
    drops the measured Content-Length (RFC 9112 §6.2: the two must not both be sent)."""
    # A caller's multipart Content-Type names the boundary the body must use.
    boundary = None if files is None else multipart_boundary(headers.get("content-type"))
    body_headers, body = encode_request(
        content=content, data=data, files=files, json=json, boundary=boundary
    )
    given = headers.get("content-length") or ""
    if body.content_length is None and given.strip().isdigit():
        body.content_length = int(given)
        body_headers.pop("Transfer-Encoding", None)
    elif "transfer-encoding" in headers and "Content-Length" in body_headers:
        body.content_length = None
        del body_headers["Content-Length"]
    for name, value in body_headers.items():
        if name not in headers:
            headers[name] = value
    return body


def encode_request(
    *,
    content: Any = None,
    data: RequestData | None = None,
    files: Any = None,
    json: Any = None,
    boundary: str | None = None,
) -> tuple[dict[str, str], RequestContent]:
    """Headers and body for a request, following requests/httpx conventions.

    * ``content=``: bytes/str (UTF-8), a file, or a (sync or async) iterator of bytes;
    * ``data=``: a dict or list of pairs is form-encoded; bytes/str/files/iterators are sent
      as they are (requests' behaviour);
    * ``json=``: compact UTF-8 JSON (NaN and Infinity refused: they are not JSON);
    * ``files=``: ``multipart/form-data`` with any ``data=`` fields first.

    Nothing given: empty headers and an empty body (a GET needs neither). An explicitly empty
    ``content=b""`` gets ``Content-Length: 0``.
    """
    if files is not None and not files:
        files = None  # files={} or []: no files, so no multipart (as requests and httpx)
    given = [name for name, v in (("content", content), ("json", json)) if v is not None]
    if data is not None and (files is None or not _is_form(data)):
        given.append("data")
    if files is not None:
        given.append("files")
    if len(given) > 1:
        raise TypeError(f"pass only one of content=, data=, json=, files= (got {given})")

    if files is not None:
        from wirekit._models.multipart import MultipartContent  # multipart imports us

        multipart = MultipartContent(data=data, files=files, boundary=boundary)  # type: ignore[arg-type]
        headers = {"Content-Type": multipart.content_type, **_length_headers(multipart)}
        return headers, multipart
    if json is not None:
        try:
            text = jsonlib.dumps(json, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except ValueError as exc:
            raise ValueError(f"json= body cannot be encoded: {exc}") from exc
        try:
            body = text.encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate (json.loads gives one for "\ud83d"): UTF-8 cannot carry it,
            # JSON's \u escape can (what requests sends, and JSON.stringify writes).
            body = jsonlib.dumps(json, separators=(",", ":"), allow_nan=False).encode("ascii")
        return {"Content-Type": "application/json", "Content-Length": str(len(body))}, (
            BytesContent(body)
        )
    if data is not None and _is_form(data):
        encoded = urlencode(form_pairs(data)).encode("ascii")  # type: ignore[arg-type]
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": str(len(encoded)),
        }
        return headers, BytesContent(encoded)
    source = content if content is not None else data
    if source is None:
        return {}, BytesContent(b"")
    stream = _stream(source)
    return _length_headers(stream), stream
