"""The whole wirekit exception tree, organised by phase and by blame.

Every error wirekit raises is a :class:`WirekitError`. Library exceptions (``OSError``,
``ssl.SSLError``, httptools' parser errors...) are translated only at the boundary where
they happen, with ``raise ... from`` so the original stays on ``__cause__``::

    WirekitError
    ├── TransportError                 the network or the peer failed us
    │   ├── NameResolutionError        DNS: the host name did not resolve
    │   ├── ConnectError               TCP connect failed (refused, unreachable, reset)
    │   ├── TLSError                   handshake or certificate verification failed (a
    │   │                              reset during the handshake is a ConnectError)
    │   ├── ProxyError                 the proxy refused (.status_code) or broke the tunnel
    │   ├── ReadError                  the connection broke while receiving
    │   ├── WriteError                 the connection broke while sending
    │   ├── RemoteProtocolError        the peer broke HTTP (garbage, truncated body...)
    │   │   └── RemoteLimitExceeded    the peer sent more than a limit allows (also LimitExceeded)
    │   └── TimeoutException           (also the builtin TimeoutError)
    │       ├── ConnectTimeout
    │       ├── ReadTimeout
    │       ├── WriteTimeout
    │       ├── PoolTimeout            no pooled connection became free in time
    │       └── DeadlineExceeded       the request's total time budget ran out
    ├── HTTPStatusError                raise_for_status() on a 4xx/5xx; carries .response
    ├── TooManyRedirects
    ├── InvalidRedirect                a Location that cannot be followed (ftp:, no host...)
    ├── DecodingError                  Content-Encoding or charset could not be decoded
    │   ├── DecompressionLimitError    decoded size or ratio over the limit (a "bomb")
    │   └── JSONDecodeError            json() found no valid JSON (also json.JSONDecodeError)
    ├── InvalidURL
    ├── LocalProtocolError             we were asked to send something HTTP forbids
    ├── LimitExceeded                  a configured limit (header size, body size...) was hit
    └── StreamError                    a streamed body was used in a way it cannot be
        ├── StreamConsumed             the body was already read
        └── StreamClosed               the response was closed before the body was read

A refused connection is a :class:`ConnectError`, never a timeout (unlike urllib3#2319).
Timeouts are also instances of the builtin :class:`TimeoutError`, so ``except
TimeoutError`` catches all of them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    from wirekit._models.messages import Request, Response

_Error = TypeVar("_Error", bound=BaseException)

__all__ = [
    "ConnectError",
    "ConnectTimeout",
    "DeadlineExceeded",
    "DecodingError",
    "DecompressionLimitError",
    "HTTPStatusError",
    "InvalidRedirect",
    "InvalidURL",
    "JSONDecodeError",
    "LimitExceeded",
    "LocalProtocolError",
    "NameResolutionError",
    "PoolTimeout",
    "ProxyError",
    "ReadError",
    "ReadTimeout",
    "RemoteLimitExceeded",
    "RemoteProtocolError",
    "StreamClosed",
    "StreamConsumed",
    "StreamError",
    "TLSError",
    "TimeoutException",
    "TooManyRedirects",
    "TransportError",
    "WirekitError",
    "WriteError",
    "WriteTimeout",
]


class WirekitError(Exception):
    """Base of every error raised by wirekit.

    ``request`` is the request being handled when the error happened, where there was one.
    """

    def __init__(self, message: str, *, request: Request | None = None) -> None:
        super().__init__(message)
        self._request = request

    @property
    def request(self) -> Request | None:
        return self._request

    @request.setter
    def request(self, value: Request | None) -> None:
        self._request = value

    def __reduce__(self) -> tuple[Any, ...]:
        # Picklable (multiprocessing sends a worker's exception back): rebuilt from its
        # message and attributes, whatever keyword-only arguments its __init__ wants.
        return (_rebuild_error, (type(self), self.args, dict(self.__dict__)))


class LimitExceeded(WirekitError):
    """A configured limit was exceeded. ``limit`` names the knob, ``value`` its setting."""

    def __init__(
        self,
        message: str,
        *,
        limit: str = "",
        value: Any = None,
        request: Request | None = None,
    ) -> None:
        super().__init__(message, request=request)
        self.limit = limit
        self.value = value


class TransportError(WirekitError):
    """The network or the peer failed: the request may be worth trying again later."""


class NameResolutionError(TransportError):
    """A host name could not be resolved. ``host`` names it."""

    def __init__(self, message: str, *, host: str = "", request: Request | None = None) -> None:
        super().__init__(message, request=request)
        self.host = host


class ConnectError(TransportError):
    """The TCP (or Unix socket) connection could not be made: refused, unreachable, reset."""


class TLSError(TransportError):
    """The TLS handshake failed, or the peer's certificate did not verify."""


class ProxyError(TransportError):
    """The proxy refused the request or the tunnel (CONNECT, SOCKS) failed.

    ``status_code``: the status the proxy refused with (407, 403, 502...), None when it
    did not answer with one (unreachable, closed, not HTTP, a SOCKS failure)."""

    def __init__(
        self, message: str, *, status_code: int | None = None, request: Request | None = None
    ) -> None:
        super().__init__(message, request=request)
        self.status_code = status_code


class ReadError(TransportError):
    """The connection failed while receiving."""


class WriteError(TransportError):
    """The connection failed while sending."""


class RemoteProtocolError(TransportError):
    """The peer broke the protocol: malformed message, truncated body, early close."""


class RemoteLimitExceeded(RemoteProtocolError, LimitExceeded):
    """The peer sent more than a configured limit allows (header bytes, line, body...).

    Both a :class:`RemoteProtocolError` (the peer is to blame) and a :class:`LimitExceeded`
    (``limit`` names the knob to raise if the peer is right).
    """


class TimeoutException(TransportError, TimeoutError):
    """A time limit ran out. Also a builtin :class:`TimeoutError`."""

    #: Which phase ran out: "connect", "read", "write", "pool", "deadline", "dns", "tls".
    phase: str = "unknown"


class ConnectTimeout(TimeoutException):
    phase = "connect"


class ReadTimeout(TimeoutException):
    phase = "read"


class WriteTimeout(TimeoutException):
    phase = "write"


class PoolTimeout(TimeoutException):
    phase = "pool"


class DeadlineExceeded(TimeoutException):
    """The request's total time budget (``Timeout(total)``) ran out, in whatever phase."""

    phase = "deadline"


class HTTPStatusError(WirekitError):
    """Raised by ``Response.raise_for_status()`` for 4xx and 5xx answers."""

    def __init__(self, message: str, *, request: Request, response: Response) -> None:
        super().__init__(message, request=request)
        self.response = response

    @property
    def request(self) -> Request:
        """The request the response answered (always there: ``exc.request.url``)."""
        request = self._request
        if request is None:  # pragma: no cover - only by setting it to None by hand
            raise RuntimeError("this HTTPStatusError has no request attached")
        return request

    @request.setter
    def request(self, value: Request | None) -> None:
        self._request = value


class TooManyRedirects(WirekitError):
    """More redirects than ``max_redirects``. ``history`` holds the hops followed."""

    def __init__(
        self,
        message: str,
        *,
        request: Request | None = None,
        history: list[Response] | None = None,
    ) -> None:
        super().__init__(message, request=request)
        self.history: list[Response] = history or []


class InvalidRedirect(WirekitError):
    """A redirect that cannot be followed: its Location is not a URL, has no host, or names
    a scheme other than http and https. The server's doing, but not a network failure:
    trying again later gets the same redirect (requests raises ``InvalidSchema``)."""


class DecodingError(WirekitError):
    """A body could not be decoded (Content-Encoding, charset, JSON)."""


class DecompressionLimitError(DecodingError):
    """A decoded body grew past ``max_decoded_bytes`` or ``max_decompression_ratio``."""


class JSONDecodeError(DecodingError, json.JSONDecodeError):
    """``Response.json()`` found no valid JSON. Also a :class:`json.JSONDecodeError` (so a
    ``ValueError``), with its ``doc``, ``pos``, ``lineno`` and ``colno``: code written for
    requests or httpx (``except json.JSONDecodeError``, ``except ValueError``) catches it
    unchanged."""

    def __init__(
        self, message: str, doc: str = "", pos: int = 0, *, request: Request | None = None
    ) -> None:
        json.JSONDecodeError.__init__(self, message, doc, pos)  # msg, doc, pos, lineno, colno
        self.args = (message,)  # the message as given: it already says where parsing failed
        self._request = request


class InvalidURL(WirekitError):
    """A URL could not be parsed or is not usable for the request."""


class LocalProtocolError(WirekitError):
    """The caller asked for something the protocol forbids (bad header name, CR/LF...)."""


class StreamError(WirekitError):
    """A streamed body was used in a way it cannot be."""


class StreamConsumed(StreamError):
    """The body was already read once and cannot be read again."""


class StreamClosed(StreamError):
    """The response was closed before its body was read."""


def chained(error: _Error, cause: BaseException | None) -> _Error:
    """``error`` with ``cause`` as its ``__cause__``: ``raise chained(error, exc) from exc``.

    Modules compiled by mypyc (scripts/compile.py) must raise so: mypyc 2.4 ignores the
    ``from`` clause of a raise, so ``__cause__`` came out None on the compiled build. Setting
    ``__cause__`` works on both builds and, like ``from``, also sets ``__suppress_context__``;
    the ``from`` clause stays for readers and linters (it is a no-op once the cause is set).
    """
    error.__cause__ = cause
    return error


def _rebuild_error(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls, *args)
    error.args = args
    for name, value in state.items():  # setattr: a compiled subclass may have no __dict__ yet
        setattr(error, name, value)
    return error
