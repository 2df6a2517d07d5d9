"""wirekit: a Python toolkit for network programming.

Fetch URLs, serve HTTP, resolve names, talk TCP/UDP. The public names are re-exported here
explicitly; ``tests/test_public_api.py`` pins the list.
"""

from wirekit.__version__ import __version__
from wirekit._models.headers import Headers
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

__all__ = [
    "ConnectError",
    "ConnectTimeout",
    "DeadlineExceeded",
    "DecodingError",
    "DecompressionLimitError",
    "HTTPStatusError",
    "Headers",
    "InvalidURL",
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
    "__version__",
]
