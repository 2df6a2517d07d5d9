"""One-call helpers: ``wirekit.get(url)`` and friends, and ``wirekit.fetch(url)``.

Each call uses a short-lived :class:`Client`; for many requests to the same host, a
``Client`` keeps connections alive and is much faster.
"""

from __future__ import annotations

from typing import Any, TypeVar, overload

from wirekit._models.messages import Response
from wirekit._models.url import URL
from wirekit.client._sync.client import Client
from wirekit.client.config import UNSET
from wirekit.errors import ProxyError, RemoteLimitExceeded, TLSError, TransportError

__all__ = ["delete", "fetch", "get", "head", "options", "patch", "post", "put", "request"]

T = TypeVar("T")

#: Options that belong to the Client rather than to one request.
_CLIENT_OPTIONS = ("verify", "cert", "proxy", "trust_env", "retry", "max_redirects", "transport")


def request(method: str | bytes, url: URL | str, **kwargs: Any) -> Response:
    """Send one request and return the response with its body read.

    Takes every option of ``Client.request`` (params, headers, cookies, content, data,
    files, json, auth, timeout, follow_redirects) and the client options ``verify``,
    ``cert``, ``proxy``, ``trust_env``, ``retry``, ``max_redirects``, ``transport``.
    """
    client_options = {name: kwargs.pop(name) for name in _CLIENT_OPTIONS if name in kwargs}
    with Client(**client_options) as client:
        return client.request(method, url, **kwargs)


def get(url: URL | str, **kwargs: Any) -> Response:
    return request("GET", url, **kwargs)


def head(url: URL | str, **kwargs: Any) -> Response:
    return request("HEAD", url, **kwargs)


def options(url: URL | str, **kwargs: Any) -> Response:
    return request("OPTIONS", url, **kwargs)


def delete(url: URL | str, **kwargs: Any) -> Response:
    return request("DELETE", url, **kwargs)


def post(url: URL | str, **kwargs: Any) -> Response:
    return request("POST", url, **kwargs)


def put(url: URL | str, **kwargs: Any) -> Response:
    return request("PUT", url, **kwargs)


def patch(url: URL | str, **kwargs: Any) -> Response:
    return request("PATCH", url, **kwargs)


@overload
def fetch(
    url: URL | str,
    data: Any = None,
    headers: Any = None,
    *,
    default: T,
    timeout: Any = UNSET,
    **kwargs: Any,
) -> bytes | T: ...


@overload
def fetch(
    url: URL | str,
    data: Any = None,
    headers: Any = None,
    *,
    timeout: Any = UNSET,
    **kwargs: Any,
) -> bytes: ...


def fetch(
    url: URL | str,
    data: Any = None,
    headers: Any = None,
    *,
    default: Any = UNSET,
    timeout: Any = UNSET,
    **kwargs: Any,
) -> Any:
    """GET ``url`` (POST when ``data`` is given) and return the body as bytes.

    Raises on network errors and on 4xx/5xx answers. With ``default=``, the "try again
    later" failures (DNS, refused, reset, timeouts, a proxy that is down) return ``default``
    instead; what retrying will not fix still raises: HTTP errors, a bad URL or redirect, a
    :class:`TLSError`, a limit the answer exceeds, a proxy's 4xx refusal.

    >>> fetch("http://127.0.0.1:9/", default=None, timeout=1.0) is None
    True
    """
    # Any body (data=, json=, files=, content=) makes it a POST, never a GET with a body.
    has_body = data is not None or any(
        kwargs.get(name) is not None for name in ("json", "files", "content")
    )
    method = "POST" if has_body else "GET"
    try:
        response = request(method, url, data=data, headers=headers, timeout=timeout, **kwargs)
    except TransportError as exc:
        if default is UNSET or not _try_again_later(exc):
            raise
        return default
    response.raise_for_status()
    return response.content


def _try_again_later(exc: TransportError) -> bool:
    """A failure that waiting may cure: DNS, refused, reset, timeouts, a peer that closed
    early, a proxy that is down or answers 5xx. Not a TLS failure (a certificate that does
    not verify will not verify later either), a limit the answer exceeds, nor a proxy's
    4xx refusal (407: its credentials are wrong)."""
    if isinstance(exc, (TLSError, RemoteLimitExceeded)):
        return False
    status = exc.status_code if isinstance(exc, ProxyError) else None
    return status is None or status >= 500
