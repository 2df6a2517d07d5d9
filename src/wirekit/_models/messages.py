"""The client's Request and Response objects.

A ``Response`` body is a byte stream handed over by the transport; decoding
(Content-Encoding, then charset) happens here, once, for both the sync and the async reading
methods, which are thin loops over the same decoder objects.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from http import HTTPStatus
from typing import Any, Protocol, TypeAlias

from mypy_extensions import mypyc_attr

from wirekit._models import decoders
from wirekit._models._async import iterators as async_iterators
from wirekit._models._sync import iterators
from wirekit._models.chunks import AsyncIterableBody, BytesBody, IterableBody
from wirekit._models.content import BytesContent, RequestContent, request_body
from wirekit._models.cookies import Cookies
from wirekit._models.headers import Headers, HeaderTypes
from wirekit._models.text import decoding_codec
from wirekit._models.url import URL, redact
from wirekit.errors import (
    DecodingError,
    HTTPStatusError,
    JSONDecodeError,
    StreamClosed,
    StreamConsumed,
    StreamError,
    WirekitError,
    chained,
)

__all__ = ["AsyncByteStream", "ByteStream", "Request", "Response"]

# Reason phrases for when a peer sends none (HTTP/2 never does): every status Python knows,
# with RFC 9110 §15's newer names where they differ from the older RFCs' that HTTPStatus has.
_REASONS: dict[int, str] = {status.value: status.phrase for status in HTTPStatus}
_REASONS.update(
    {
        413: "Content Too Large",
        414: "URI Too Long",
        416: "Range Not Satisfiable",
        422: "Unprocessable Content",
    }
)
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class ByteStream(Protocol):
    """A response body as the sync transport hands it over (raw, still encoded)."""

    def __iter__(self) -> Iterator[bytes]: ...
    def close(self) -> None: ...


class AsyncByteStream(Protocol):
    """A response body as the async transport hands it over (raw, still encoded)."""

    def __aiter__(self) -> AsyncIterator[bytes]: ...
    async def aclose(self) -> None: ...


@mypyc_attr(allow_interpreted_subclasses=True)
class Request:
    """An HTTP request: method, URL, headers and an optional body.

    Built by hand (``client.send(Request(...))``, a test), it takes the body arguments of
    ``client.request()``: ``content=`` (bytes, str, a file or an iterator), ``data=``,
    ``files=`` or ``json=``, and ``params=``, adding the framing and Content-Type headers
    the caller did not set, as httpx's ``Request`` does. ``request.content`` is then a body
    object from ``wirekit._models.content`` (replayable or streamed), or None for no body;
    ``read()`` gives its bytes. ``extensions`` carries per-request options for the transport
    (``timeout``, ``trace``...).

    >>> request = Request("POST", "http://example.test/items", params={"v": 2}, json={"a": 1})
    >>> request.url, request.headers["Content-Type"], request.read()
    (URL('http://example.test/items?v=2'), 'application/json', b'{"a":1}')
    """

    __slots__ = ("content", "extensions", "headers", "method", "url")

    def __init__(
        self,
        method: str | bytes,
        url: URL | str,
        *,
        headers: HeaderTypes | Any = None,
        content: Any = None,
        extensions: dict[str, Any] | None = None,
        params: Any = None,
        data: Any = None,
        files: Any = None,
        json: Any = None,
    ) -> None:
        if isinstance(method, bytes):  # b"GET", as requests and httpx take it
            method = method.decode("ascii")
        self.method = method.upper()  # as requests and httpx do; retry rules compare upper case
        target = url if isinstance(url, URL) else URL(url)
        self.url = target if params is None else target.copy_merge_params(params)
        # Always a copy: the client adds Authorization and Cookie to these headers, which
        # must not leak into a Headers object the caller reuses for another host.
        self.headers = headers._lazy_copy() if isinstance(headers, Headers) else Headers(headers)
        if (
            data is not None
            or files is not None
            or json is not None
            or (content is not None and not isinstance(content, RequestContent))
        ):
            # Built by hand: bytes, a str, a file, a form... become a body object, as the
            # client's build_request makes them (the client passes one already).
            content = request_body(self.headers, content=content, data=data, files=files, json=json)
        self.content = content
        self.extensions: dict[str, Any] = {} if extensions is None else extensions

    def __repr__(self) -> str:
        return f"<Request [{self.method} {redact(str(self.url))}]>"  # no password in logs

    def read(self) -> bytes:
        """The body's bytes (b"" for none), e.g. in a ``MockTransport`` handler. A streamed
        (iterator or file) body is read once and kept in memory, so it can still be sent."""
        content = self.content
        if content is None:
            return b""
        body: bytes | None = content.as_bytes()
        if body is None:
            if content.needs_event_loop:
                raise TypeError("this request's body is an async iterator: use aread()")
            body = b"".join(content)
            self.content = BytesContent(body)
        return body

    async def aread(self) -> bytes:
        """``read()`` for a body that may be an async iterator or async file."""
        content = self.content
        if content is None:
            return b""
        body: bytes | None = content.as_bytes()
        if body is None:
            chunks: list[bytes] = []
            async for chunk in content:
                chunks.append(chunk)
            body = b"".join(chunks)
            self.content = BytesContent(body)
        return body

    def __getstate__(self) -> dict[str, Any]:
        # Pickled with an error (multiprocessing): the transport's per-request objects
        # (deadline, trace callback, cookie jar) stay behind; a streamed body is not sent.
        content = self.content
        return {
            "method": self.method,
            "url": self.url,
            "headers": self.headers,
            "content": content if getattr(content, "is_replayable", False) else None,
            "extensions": {k: v for k, v in self.extensions.items() if k == "timeout"},
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)


#: What ``Response(content=...)`` takes: bytes-like, a str (UTF-8), or an iterable of bytes
#: (sync or async), streamed.
ResponseContent: TypeAlias = (
    bytes | bytearray | memoryview | str | Iterable[bytes] | AsyncIterable[bytes] | None
)

#: Response's attributes, every one set in __init__: its __slots__ (fixed attributes and no
#: weak references, as in the compiled build, whose instances cannot have others) and what
#: a pickled one keeps.
_RESPONSE_STATE = (
    "status_code", "headers", "http_version", "reason", "_request", "history", "extensions",
    "timings", "elapsed", "_stream", "_content", "_text", "_encoding", "_consumed", "_closed",
    "_max_decoded_bytes", "_max_ratio", "_cookies",
)  # fmt: skip


@mypyc_attr(allow_interpreted_subclasses=True)
class Response:
    """An HTTP response.

    The body is read into ``content`` by the client unless ``stream=True`` was asked; then
    use ``iter_bytes()`` / ``aiter_bytes()`` (decoded), ``iter_raw()`` (as received),
    ``iter_text()``, ``iter_lines()``, or ``read()`` / ``aread()``, and close it (it is a
    context manager) so the connection goes back to the pool.
    """

    __slots__ = _RESPONSE_STATE

    def __init__(
        self,
        status_code: int,
        *,
        headers: HeaderTypes | Any = None,
        content: ResponseContent = None,
        stream: ByteStream | AsyncByteStream | None = None,
        request: Request | None = None,
        http_version: str = "HTTP/1.1",
        reason: str | None = None,
        extensions: dict[str, Any] | None = None,
        max_decoded_bytes: int | None = None,
        text: str | None = None,
        json: Any = None,
    ) -> None:
        self.status_code = int(status_code)  # an HTTPStatus too: the same in both builds
        # A copy, as in Request: never the caller's object.
        self.headers = headers._lazy_copy() if isinstance(headers, Headers) else Headers(headers)
        if text is not None or json is not None or content is not None:
            content, stream = self._given_body(content, stream, text, json)
        self.http_version = http_version
        # No reason phrase (or an empty one, RFC 9112 allows it): the standard one.
        self.reason = reason or _REASONS.get(status_code, "")
        self._request = request
        self.history: list[Response] = []
        self.extensions: dict[str, Any] = {} if extensions is None else extensions
        #: Seconds from the start of the request to each phase's end (see docs/client.md).
        self.timings: dict[str, float] = {}
        self.elapsed: float | None = None
        if content is None and stream is None:
            content = b""  # Response(204) built by hand (a MockTransport handler): no body
        elif content is not None and stream is None and content:
            coding = self.headers.get("content-encoding")
            if coding and coding.strip().lower() != "identity":
                # A body given encoded (a MockTransport handler's gzip answer): decoded on
                # reading, as from the network (and as httpx does).
                stream = BytesBody(bytes(content))
                content = None
        self._stream = stream
        self._content = content if content is None or type(content) is bytes else bytes(content)
        self._text: str | None = None
        self._encoding: str | None = None
        self._consumed = content is not None
        self._closed = content is not None
        self._max_decoded_bytes = max_decoded_bytes
        #: The client's max_decompression_ratio (None: the decoders' default).
        self._max_ratio: float | None = None
        self._cookies: Cookies | None = None  # built from Set-Cookie when first asked for

    def _given_body(
        self, content: ResponseContent, stream: Any, text: str | None, json: Any
    ) -> tuple[bytes | bytearray | memoryview | None, Any]:
        """A body built by hand (a MockTransport handler's answer), as httpx's Response takes
        it: ``text=`` (UTF-8, text/plain), ``json=`` (application/json), or ``content=`` as
        bytes, a str (UTF-8) or an iterable of bytes (sync or async: streamed)."""
        given = [
            n for n, v in (("content", content), ("text", text), ("json", json)) if v is not None
        ]
        if len(given) > 1:
            raise TypeError(f"pass only one of content=, text=, json= (got {given})")
        if text is not None:
            self.headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            return text.encode("utf-8"), stream
        if json is not None:
            self.headers.setdefault("Content-Type", "application/json")
            body = jsonlib.dumps(json, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
            return body.encode("utf-8"), stream
        if isinstance(content, (bytes, bytearray, memoryview)):
            return content, stream
        if isinstance(content, str):
            return content.encode("utf-8"), stream
        if stream is None and isinstance(content, Iterable):
            return None, IterableBody(content)
        if stream is None and isinstance(content, AsyncIterable):
            return None, AsyncIterableBody(content)
        raise TypeError(
            f"a Response's content= takes bytes, a str or an iterable of bytes, not "
            f"{type(content).__name__}"
        )

    # -- metadata ----------------------------------------------------------------------
    @property
    def request(self) -> Request:
        if self._request is None:
            raise RuntimeError("this Response has no request attached")
        return self._request

    @request.setter
    def request(self, value: Request) -> None:
        self._request = value

    @property
    def url(self) -> URL:
        return self.request.url

    @property
    def stream(self) -> Any:
        """The raw body stream handed over by the transport (None once content is set)."""
        return None if self._content is not None else self._stream

    @property
    def cookies(self) -> Cookies:
        """A :class:`~wirekit.Cookies` jar of the cookies this response set (its Set-Cookie
        headers, read for the request's URL), as requests and httpx give it."""
        jar = self._cookies
        if jar is None:
            jar = Cookies()
            if self._request is not None and "set-cookie" in self.headers:
                jar.extract_cookies(self._request.url, self.headers)
            self._cookies = jar
        return jar

    @cookies.setter
    def cookies(self, value: Cookies) -> None:
        self._cookies = value

    @property
    def ok(self) -> bool:
        """True for 1xx, 2xx and 3xx statuses (as requests does)."""
        return self.status_code < 400

    @property
    def is_redirect(self) -> bool:
        # An empty Location is none: followed, it would name this URL again until
        # TooManyRedirects (requests, aiohttp and curl return the response).
        return self.status_code in _REDIRECT_STATUSES and any(
            value.strip() for value in self.headers.get_list("location")
        )

    @property
    def is_closed(self) -> bool:
        return self._closed

    def raise_for_status(self) -> Response:
        """Raise :class:`HTTPStatusError` for a 4xx or 5xx answer; return self otherwise."""
        if self.status_code < 400:
            return self
        kind = "client error" if self.status_code < 500 else "server error"
        request = self.request
        raise HTTPStatusError(
            f"{kind} '{self.status_code} {self.reason}' for {request.method} {redact(str(request.url))}",
            request=request,
            response=self,
        )

    # -- decoded content ---------------------------------------------------------------
    @property
    def content(self) -> bytes:
        if self._content is None:
            raise StreamError(
                "the body of a streamed response was not read: call read() or aread() first"
            )
        return self._content

    @property
    def encoding(self) -> str:
        """The charset: from Content-Type, else detected from the body, else utf-8.

        Asked before the body is read (a hook, a log line), it is not detected yet: the
        answer then comes from the headers alone and is not kept, so ``text`` still detects.
        """
        if self._encoding is None:
            if self._content is None:
                return decoders.guess_encoding(self.headers.get("content-type"), b"")
            self._encoding = decoders.guess_encoding(
                self.headers.get("content-type"), self._content
            )
        return self._encoding

    @encoding.setter
    def encoding(self, value: str) -> None:
        self._encoding = value
        self._text = None

    @property
    def text(self) -> str:
        if self._text is None:
            content = self.content
            try:
                self._text = content.decode(decoding_codec(self.encoding), errors="replace")
            except LookupError as exc:
                # Content-Type's charset is used only when known: this one was set by hand.
                raise chained(
                    DecodingError(
                        f"unknown text encoding {self.encoding!r} (set as response.encoding)"
                    ),
                    exc,
                ) from exc
            except UnicodeError as exc:
                # A codec that ignores errors="replace" ("idna" set as .encoding by hand).
                raise chained(
                    DecodingError(f"body cannot be decoded as {self.encoding!r}: {exc}"), exc
                ) from exc
        return self._text

    def json(self, **kwargs: Any) -> Any:
        """The body parsed as JSON (UTF-8/16/32 detected per RFC 8259 §8.1).

        Invalid JSON raises :class:`~wirekit.errors.JSONDecodeError`, both a DecodingError
        and a :class:`json.JSONDecodeError` (what requests and httpx raise)."""
        try:
            return jsonlib.loads(self.content, **kwargs)
        except UnicodeDecodeError as exc:
            failure: ValueError | RecursionError = exc
            declared = decoders.charset_from_content_type(self.headers.get("content-type"))
            if declared is not None:
                # Not UTF-8 (RFC 8259 asks for it) but labelled: the label is read, as
                # requests and aiohttp do, so json() agrees with .text.
                try:
                    return jsonlib.loads(
                        self.content.decode(decoding_codec(declared), errors="strict"), **kwargs
                    )
                except (ValueError, RecursionError) as second:
                    failure = second
            raise chained(self._json_error(failure), failure) from failure
        except (ValueError, RecursionError) as exc:
            raise chained(self._json_error(exc), exc) from exc

    def _json_error(self, exc: ValueError | RecursionError) -> JSONDecodeError:
        # Not self.url: a Response built by hand (a MockTransport handler) has no request.
        source = "" if self._request is None else f" from {redact(str(self._request.url))}"
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        return JSONDecodeError(
            f"response body{source} is not valid JSON: {reason}",
            getattr(exc, "doc", ""),
            getattr(exc, "pos", 0),
        )

    def _decoder(self) -> decoders.ContentDecoder:
        # None limits mean the decoders' defaults.
        return decoders.make_decoder(
            self.headers.get("content-encoding"),
            max_decoded_bytes=self._max_decoded_bytes,
            max_ratio=self._max_ratio,
        )

    # -- sync reading ------------------------------------------------------------------
    def _sync_stream(self) -> ByteStream:
        if self._consumed:
            raise StreamConsumed("the response body was already read")
        if self._closed:
            raise StreamClosed("the response was closed before its body was read")
        stream = self._stream
        if stream is None or not hasattr(stream, "__iter__"):
            raise RuntimeError("this response has an async body: use aread()/aiter_bytes()")
        self._consumed = True
        return stream  # type: ignore[return-value]

    def read(self) -> bytes:
        """Read (and decode) the whole body, close the stream, and return it."""
        if self._content is None:
            encoding = self.headers.get("content-encoding")
            identity = not encoding or encoding == "identity"
            read_all = getattr(self._stream, "read_all", None) if identity else None
            if read_all is not None:
                # The client's own bodies hand over every chunk in one call (no generators).
                self._sync_stream()  # the consumed/closed checks
                try:
                    chunks: list[bytes] = read_all()
                except WirekitError as exc:
                    if exc.request is None:
                        exc.request = self._request  # as the iterators say (_blame)
                    raise
                finally:
                    self._closed = True  # read_all() leaves its stream finished (see aread)
                self._content = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            else:
                # Decoded as it arrives, so a decompression bomb stops the reading early.
                self._content = iterators.collect(
                    self.iter_raw() if identity else self.iter_bytes()
                )
        return self._content

    def iter_raw(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """The body as received, Content-Encoding not undone."""
        return iterators.raw(self, chunk_size)

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """The body decoded (gzip, br, zstd... undone)."""
        return iterators.decoded(self, chunk_size)

    def iter_text(self, chunk_size: int | None = None) -> Iterator[str]:
        return iterators.text(self, chunk_size)

    def iter_lines(self, *, max_line_length: int | None = None) -> Iterator[str]:
        """The body's text a line at a time; a line longer than ``max_line_length``
        characters (None: 1 MiB) raises LimitExceeded."""
        return iterators.lines(self, max_line_length)

    def close(self) -> None:
        """Release the connection (it returns to the pool if the body was fully read)."""
        if not self._closed:
            stream = self._stream
            if stream is not None and not hasattr(stream, "close") and hasattr(stream, "aclose"):
                # Marked closed, an async body would keep its connection for good.
                raise RuntimeError("this response has an async body: use aclose()/async with")
            self._closed = True
            if stream is not None and hasattr(stream, "close"):
                stream.close()

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    # -- async reading -----------------------------------------------------------------
    def _async_stream(self) -> AsyncByteStream:
        if self._consumed:
            raise StreamConsumed("the response body was already read")
        if self._closed:
            raise StreamClosed("the response was closed before its body was read")
        stream = self._stream
        if stream is None or not hasattr(stream, "__aiter__"):
            raise RuntimeError("this response has a sync body: use read()/iter_bytes()")
        self._consumed = True
        return stream  # type: ignore[return-value]

    async def aread(self) -> bytes:
        """Read (and decode) the whole body, close the stream, and return it."""
        if self._content is None:
            encoding = self.headers.get("content-encoding")
            identity = not encoding or encoding == "identity"
            read_all = getattr(self._stream, "read_all", None) if identity else None
            if read_all is not None:
                # The client's own bodies hand over every chunk in one call (no generators).
                self._async_stream()  # the consumed/closed checks
                try:
                    chunks: list[bytes] = await read_all()
                except WirekitError as exc:
                    if exc.request is None:
                        exc.request = self._request  # as the iterators say (_blame)
                    raise
                finally:
                    # read_all() leaves its stream finished whatever happens (the connection
                    # released or closed): only our flag is left to set, no aclose() chain.
                    self._closed = True
                self._content = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            else:
                # Decoded as it arrives, so a decompression bomb stops the reading early.
                self._content = await async_iterators.collect(
                    self.aiter_raw() if identity else self.aiter_bytes()
                )
        return self._content

    def aiter_raw(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """The body as received, Content-Encoding not undone (``async for``)."""
        return async_iterators.raw(self, chunk_size)

    def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """The body decoded (gzip, br, zstd... undone) (``async for``)."""
        return async_iterators.decoded(self, chunk_size)

    def aiter_text(self, chunk_size: int | None = None) -> AsyncIterator[str]:
        return async_iterators.text(self, chunk_size)

    def aiter_lines(self, *, max_line_length: int | None = None) -> AsyncIterator[str]:
        return async_iterators.lines(self, max_line_length)

    async def aclose(self) -> None:
        if not self._closed:
            stream = self._stream
            if stream is not None and not hasattr(stream, "aclose") and hasattr(stream, "close"):
                # Marked closed, a sync body would keep its connection for good.
                raise RuntimeError("this response has a sync body: use close()/with")
            self._closed = True
            if stream is not None and hasattr(stream, "aclose"):
                await stream.aclose()

    async def __aenter__(self) -> Response:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.aclose()

    # -- helpers -----------------------------------------------------------------------
    def _stream_encoding(self) -> str | None:
        """The charset to decode the body with as it streams: the one set or detected, the
        declared one, or None when only the body can tell (a byte-order mark)."""
        if self._encoding is not None:
            return self._encoding
        if self._content is not None:
            return self.encoding  # read already: the same as .text
        return decoders.charset_from_content_type(self.headers.get("content-type"))

    def __repr__(self) -> str:
        return f"<Response [{self.status_code} {self.reason}]>"

    def __getstate__(self) -> dict[str, Any]:
        # Pickled with an error: the body read so far travels, the connection does not.
        # (Named one by one: the compiled build's instances have no __dict__.)
        state = {name: getattr(self, name) for name in _RESPONSE_STATE}
        state.update(getattr(self, "__dict__", {}))  # a subclass's own attributes
        state["_stream"] = None
        if state["_content"] is None:
            state["_closed"] = True
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)


def reason_phrase(status_code: int) -> str:
    return _REASONS.get(status_code, "")


def merge_headers(base: Headers, extra: Mapping[str, str] | Headers | None) -> Headers:
    merged = base.copy()
    if extra:
        merged.update(extra)
    return merged
