"""wirekit: a Python toolkit for network programming.

Fetch URLs, serve HTTP, resolve names, talk TCP/UDP. The public names are re-exported here
explicitly; ``tests/test_public_api.py`` pins the list.
"""

from wirekit.__version__ import __version__
from wirekit._models.cookies import Cookies
from wirekit._models.headers import Headers
from wirekit._models.messages import Request, Response
from wirekit._models.url import URL
from wirekit.client._async.client import AsyncClient
from wirekit.client._async.transport import AsyncBaseTransport, AsyncHTTPTransport
from wirekit.client._sync.client import Client
from wirekit.client._sync.transport import BaseTransport, HTTPTransport
from wirekit.client.api import delete, fetch, get, head, options, patch, post, put, request
from wirekit.client.auth import Auth, BasicAuth, BearerAuth, DigestAuth, FunctionAuth, NetrcAuth
from wirekit.client.config import Limits, Retry, Timeout
from wirekit.client.testing import ASGITransport, MockTransport, WSGITransport
from wirekit.errors import (
    ConnectError,
    ConnectTimeout,
    DeadlineExceeded,
    DecodingError,
    DecompressionLimitError,
    HTTPStatusError,
    InvalidURL,
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
from wirekit.server import Server, ServerConfig, serve

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
    "InvalidURL",
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
