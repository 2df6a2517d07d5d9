"""wirekit: a Python toolkit for network programming.

Fetch URLs, serve HTTP, resolve names, talk TCP/UDP. The public names are re-exported here
explicitly; ``tests/test_public_api.py`` pins the list.
"""

from typing import TYPE_CHECKING, Any

from wirekit.__version__ import __version__
from wirekit._models.cookies import Cookies
from wirekit._models.headers import Headers
from wirekit._models.messages import Request, Response
from wirekit._models.url import URL
from wirekit.client._sync.client import Client
from wirekit.client._sync.transport import BaseTransport, HTTPTransport
from wirekit.client.api import delete, fetch, get, head, options, patch, post, put, request
from wirekit.client.auth import Auth, BasicAuth, BearerAuth, DigestAuth, FunctionAuth, NetrcAuth
from wirekit.client.config import Limits, Retry, Timeout
from wirekit.errors import (
    ConnectError,
    ConnectTimeout,
    DeadlineExceeded,
    DecodingError,
    DecompressionLimitError,
    HTTPStatusError,
    InvalidRedirect,
    InvalidURL,
    JSONDecodeError,
    LimitExceeded,
    LocalProtocolError,
    NameResolutionError,
    PoolTimeout,
    ProxyError,
    ReadError,
    ReadTimeout,
    RemoteLimitExceeded,
    RemoteProtocolError,
    StreamClosed,
    StreamConsumed,
    StreamError,
    TimeoutException,
    TLSError,
    TooManyRedirects,
    TransportError,
    WirekitError,
    WriteError,
    WriteTimeout,
)

if TYPE_CHECKING:  # pragma: no cover
    from wirekit.client._async.client import AsyncClient
    from wirekit.client._async.transport import AsyncBaseTransport, AsyncHTTPTransport
    from wirekit.client.testing import ASGITransport, MockTransport, WSGITransport
    from wirekit.server import Server, ServerConfig, serve

# The async client, the in-process transports and the server load on first use: a program
# that only fetches with the sync client does not pay for asyncio and the server at import.
_LAZY = {
    "AsyncClient": "wirekit.client._async.client",
    "AsyncBaseTransport": "wirekit.client._async.transport",
    "AsyncHTTPTransport": "wirekit.client._async.transport",
    "ASGITransport": "wirekit.client.testing",
    "MockTransport": "wirekit.client.testing",
    "WSGITransport": "wirekit.client.testing",
    "Server": "wirekit.server",
    "ServerConfig": "wirekit.server",
    "serve": "wirekit.server",
}


if not TYPE_CHECKING:  # seen by type checkers, it would make every name exist (as Any)

    def __getattr__(name: str) -> Any:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'wirekit' has no attribute {name!r}")
        import importlib

        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value


__all__ = [
    "URL",
    "ASGITransport",
    "AsyncBaseTransport",
    "AsyncClient",
    "AsyncHTTPTransport",
    "Auth",
    "BaseTransport",
    "BasicAuth",
    "BearerAuth",
    "Client",
    "ConnectError",
    "ConnectTimeout",
    "Cookies",
    "DeadlineExceeded",
    "DecodingError",
    "DecompressionLimitError",
    "DigestAuth",
    "FunctionAuth",
    "HTTPStatusError",
    "HTTPTransport",
    "Headers",
    "InvalidRedirect",
    "InvalidURL",
    "JSONDecodeError",
    "LimitExceeded",
    "Limits",
    "LocalProtocolError",
    "MockTransport",
    "NameResolutionError",
    "NetrcAuth",
    "PoolTimeout",
    "ProxyError",
    "ReadError",
    "ReadTimeout",
    "RemoteLimitExceeded",
    "RemoteProtocolError",
    "Request",
    "Response",
    "Retry",
    "Server",
    "ServerConfig",
    "StreamClosed",
    "StreamConsumed",
    "StreamError",
    "TLSError",
    "Timeout",
    "TimeoutException",
    "TooManyRedirects",
    "TransportError",
    "WSGITransport",
    "WirekitError",
    "WriteError",
    "WriteTimeout",
    "__version__",
    "delete",
    "fetch",
    "get",
    "head",
    "options",
    "patch",
    "post",
    "put",
    "request",
    "serve",
]
