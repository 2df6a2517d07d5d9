"""``AsyncClient``: builds requests, drives the sans-IO flows, and talks to a transport.

This file is the source of truth for ``wirekit.Client`` too (generated into ``_sync``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Self, SupportsIndex
from urllib.parse import unquote_to_bytes

from mypy_extensions import mypyc_attr

from wirekit.__version__ import __version__
from wirekit._models import decoders
from wirekit._models.content import request_body
from wirekit._models.cookies import Cookies
from wirekit._models.headers import Headers
from wirekit._models.messages import Request, Response
from wirekit._models.url import URL, merge_default_params, redact
from wirekit.client._async.transport import AsyncHTTPTransport, AsyncTransport
from wirekit.client._primitives import async_sleep
from wirekit.client.auth import Auth, BasicAuth, NetrcLookup, coerce_auth, netrc_path
from wirekit.client.config import (
    DEFAULT_LIMITS,
    DEFAULT_MAX_REDIRECTS,
    DEFAULT_RETRY,
    UNSET,
    Limits,
    Retry,
    Timeout,
    check_callbacks,
    check_client_settings,
)
from wirekit.client.deadline import Deadline
from wirekit.client.flows import (
    Failed,
    FlowSettings,
    Sleep,
    merge_headers,
    request_cookies,
    secret_header_names,
    send_flow,
)
from wirekit.errors import DeadlineExceeded, InvalidURL, TransportError, WirekitError

__all__ = ["AsyncClient"]

#: History responses are kept with their bodies up to this size; a longer body is not
#: read (its connection is closed instead), so a redirect cannot make us download a file.
MAX_DISCARD_BYTES = 1 << 20

_USER_AGENT = f"wirekit/{__version__}"
URL_CACHE_SIZE = 256


def _default_headers() -> Headers:
    return Headers(
        {
            "User-Agent": _USER_AGENT,
            "Accept": "*/*",
            "Accept-Encoding": decoders.accept_encoding(),
        }
    )


#: The class docstring, set after the class: the compiled build drops class docstrings.
_CLIENT_DOC = """An HTTP client with pooled keep-alive connections; use it as a context manager.

>>> async def main():
...     async with AsyncClient(base_url="http://127.0.0.1:8000") as client:
...         response = await client.get("/json", params={"q": "x"})
...         return response.json()

Options (all keyword-only): ``auth``, ``params``, ``headers``, ``cookies`` (defaults for
every request); ``timeout`` (a :class:`Timeout`, a number for the total deadline, or
None); ``follow_redirects`` (True), ``max_redirects`` (20); ``retry`` (a :class:`Retry`);
``verify``, ``cert``, ``proxy``, ``limits``, ``trust_env``, ``family``,
``local_address``, ``uds``, ``resolver``; ``base_url``; ``transport`` (replaces the network: mock,
WSGI, ASGI); ``event_hooks`` ({"request": [...], "response": [...]}: plain callables for
``Client``, awaited ones for ``AsyncClient``); ``trace`` (a plain callable ``trace(event,
info)`` seeing every phase, called synchronously in both clients); ``secret_headers``
(header names stripped on cross-origin redirects, besides Authorization and Cookie);
``max_decoded_bytes`` and ``max_decompression_ratio`` (decompression limits of response
bodies: size, and decoded/encoded ratio; None: 1 GiB and 100).
"""


# Subclassing a client is common; the compiled build must allow it (scripts/compile.py).
@mypyc_attr(allow_interpreted_subclasses=True)
class AsyncClient:
    is_async: ClassVar[bool] = True

    def __init__(
        self,
        *,
        auth: Any = None,
        params: Any = None,
        headers: Any = None,
        cookies: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxy: Any = None,
        timeout: Timeout | float | Any | None = UNSET,
        follow_redirects: bool = True,
        max_redirects: SupportsIndex = DEFAULT_MAX_REDIRECTS,
        retry: Retry | int | None = DEFAULT_RETRY,
        limits: Limits = DEFAULT_LIMITS,
        base_url: str | URL | None = "",
        transport: AsyncTransport | None = None,
        trust_env: bool = True,
        family: int = 0,
        local_address: str | None = None,
        uds: str | None = None,
        resolver: Any = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
        trace: Callable[[str, dict[str, Any]], None] | None = None,
        secret_headers: Any = (),
        max_decoded_bytes: int | None = None,
        max_decompression_ratio: float | None = None,
    ) -> None:
        self._auth = coerce_auth(auth)
        self.params = params
        self._headers = _default_headers()
        if headers:
            self._headers = merge_headers(self._headers, headers)  # None removes a default
        self._cookies = cookies if isinstance(cookies, Cookies) else Cookies(cookies)
        self._timeout = Timeout.coerce(timeout)
        self._url_cache: dict[str, URL] = {}
        self._base_url = URL(base_url) if base_url else None
        self._trust_env = trust_env
        check_callbacks((), trace, is_async=self.is_async)
        self._trace = trace
        self.event_hooks = event_hooks or {}
        self._max_decoded_bytes = max_decoded_bytes
        if max_decompression_ratio is not None and not max_decompression_ratio >= 1:
            raise ValueError(
                f"max_decompression_ratio must be 1 or more, got {max_decompression_ratio!r}"
            )
        self._max_ratio = max_decompression_ratio
        redirect_limit, retry_policy = check_client_settings(max_redirects, retry, limits)
        self._flows = FlowSettings(
            follow_redirects=follow_redirects,
            max_redirects=redirect_limit,
            retry=retry_policy,
            cookies=self._cookies,
            trust_env=trust_env,
            secret_headers=secret_header_names(secret_headers),
            trace=trace,
            netrc=NetrcLookup(netrc_path()) if trust_env else None,
        )
        own_transport = transport is None
        if transport is None:
            transport = AsyncHTTPTransport(
                verify=verify,
                cert=cert,
                trust_env=trust_env,
                proxy=proxy,
                limits=limits,
                family=family,
                local_address=local_address,
                uds=uds,
                resolver=resolver,
            )
        self._transport = transport
        #: The transport is ours and takes its proxies from the environment (see trust_env).
        self._env_proxies = own_transport and proxy is None
        self._closed = False

    @property
    def transport(self) -> AsyncTransport:
        return self._transport

    # Settings a user may replace after construction, converted as the constructor does.
    @property
    def headers(self) -> Headers:
        """Default headers of every request (replace or edit them in place)."""
        return self._headers

    @headers.setter
    def headers(self, value: Any) -> None:
        # Over the defaults, as in the constructor (and httpx): assigning {"X-Api": ...}
        # must not drop Accept-Encoding (and compression) or the User-Agent.
        self._headers = merge_headers(_default_headers(), value)  # None removes a default

    @property
    def event_hooks(self) -> dict[str, list[Callable[..., Any]]]:
        """``{"request": [...], "response": [...]}``: the lists may be edited in place."""
        return self._event_hooks

    @event_hooks.setter
    def event_hooks(self, value: Mapping[str, list[Callable[..., Any]]]) -> None:
        hooks = {
            "request": list(value.get("request", ())),
            "response": list(value.get("response", ())),
        }
        check_callbacks([*hooks["request"], *hooks["response"]], None, is_async=self.is_async)
        self._event_hooks = hooks

    @property
    def cookies(self) -> Cookies:
        """The client's cookie jar: sent with, and filled from, every request."""
        return self._cookies

    @cookies.setter
    def cookies(self, value: Any) -> None:
        self._cookies = value if isinstance(value, Cookies) else Cookies(value)
        self._flows.cookies = self._cookies

    @property
    def auth(self) -> Auth | None:
        """The default auth; set it as in the constructor (an Auth, a (user, password)
        tuple for Basic, or a callable)."""
        return self._auth

    @auth.setter
    def auth(self, value: Any) -> None:
        self._auth = coerce_auth(value)

    @property
    def trace(self) -> Callable[[str, dict[str, Any]], None] | None:
        """The ``trace(event, info)`` callable seeing every phase (None: none)."""
        return self._trace

    @trace.setter
    def trace(self, value: Callable[[str, dict[str, Any]], None] | None) -> None:
        check_callbacks((), value, is_async=self.is_async)
        self._trace = value
        self._flows.trace = value  # redirects and retries report there too

    @property
    def trust_env(self) -> bool:
        """Read netrc credentials (and, when the client was built, the proxy variables)."""
        return self._trust_env

    @trust_env.setter
    def trust_env(self, value: bool) -> None:
        # netrc follows at once, and so do the environment's proxies when the client made
        # its transport without proxy= (as session.trust_env = False does in requests): a
        # caller who turned the environment off must not have requests, and a proxy
        # password, still going to HTTP_PROXY. TLS settings stay as the client was built.
        self._trust_env = value
        self._flows.trust_env = value
        self._flows.netrc = NetrcLookup(netrc_path()) if value else None
        if self._env_proxies:
            transport = self._transport
            assert isinstance(transport, AsyncHTTPTransport)
            transport.use_environment_proxies(value)

    @property
    def timeout(self) -> Timeout:
        return self._timeout

    @timeout.setter
    def timeout(self, value: Any) -> None:
        self._timeout = Timeout.coerce(value)

    @property
    def base_url(self) -> URL | None:
        """Relative request URLs are joined to it."""
        return self._base_url

    @base_url.setter
    def base_url(self, value: str | URL | None) -> None:
        self._base_url = URL(value) if value else None
        # Cached joins were made with the old base. A new dict, not clear(): a request
        # joining with the old base meanwhile stores its join in the old one.
        self._url_cache = {}

    @property
    def follow_redirects(self) -> bool:
        return self._flows.follow_redirects

    # -- building --------------------------------------------------------------------------
    def build_request(
        self,
        method: str | bytes,
        url: URL | str,
        *,
        params: Any = None,
        headers: Any = None,
        cookies: Any = None,
        content: Any = None,
        data: Any = None,
        files: Any = None,
        json: Any = None,
        timeout: Any = UNSET,
        extensions: dict[str, Any] | None = None,
    ) -> Request:
        """A :class:`Request` with the client's defaults merged in (not sent)."""
        target = self._merge_url(url)
        if self.params:
            target = merge_default_params(target, self.params, params)
        if params:
            target = target.copy_merge_params(params)
        merged = merge_headers(self._headers, headers)
        body = None
        if content is not None or data is not None or files is not None or json is not None:
            body = request_body(merged, content=content, data=data, files=files, json=json)
        ext: dict[str, Any] = {} if extensions is None else dict(extensions)
        if timeout is not UNSET:
            ext["timeout"] = Timeout.coerce(timeout)
        if cookies:
            ext["cookies"] = request_cookies(cookies, target)
        return Request(method, target, headers=merged, content=body, extensions=ext)

    def _merge_url(self, url: URL | str) -> URL:
        if isinstance(url, str):
            # URLs are immutable, so a client that calls the same few URLs (the usual case)
            # parses each once; the cache is small and simply emptied when full.
            cache = self._url_cache  # read once: the base_url setter replaces it
            cached = cache.get(url)
            if cached is not None:
                return cached
            text = url
            if self._base_url is not None and url.startswith("//"):
                # A path under the base URL, as "/users/1" is: parsed as it stands,
                # "//users/1" names the host "users" and the joined path would lose it.
                text = "/" + url.lstrip("/")
            target = self._merge_url(URL(text))
            if len(cache) >= URL_CACHE_SIZE:
                cache.clear()
            cache[url] = target
            return target
        target = url
        if self._base_url is not None and not target.is_absolute and target.host:
            raise InvalidURL(
                f"URL {redact(str(target))!r} names a host but no scheme: with base_url, "
                "give a path or a whole URL"
            )
        if self._base_url is not None and not target.is_absolute:
            # Appended to the base path (as httpx does), never resolved as a reference:
            # "/users:search" would read as the scheme "users", and "/http://other/x" as
            # another host, which would then get the client's default credentials.
            base = self._base_url
            base_path = base.raw_path.split("?", 1)[0]
            if not base_path.endswith("/"):
                base_path += "/"
            merged = base.copy_with(raw_path=base_path + target.raw_path.lstrip("/"))
            if target.fragment:
                merged = merged.copy_with(fragment=target.fragment)
            target = merged
        if not target.is_absolute:
            raise InvalidURL(
                f"URL {redact(str(target))!r} is relative and the client has no base_url"
            )
        return target

    # -- sending ---------------------------------------------------------------------------
    async def request(
        self,
        method: str | bytes,
        url: URL | str,
        *,
        params: Any = None,
        headers: Any = None,
        cookies: Any = None,
        content: Any = None,
        data: Any = None,
        files: Any = None,
        json: Any = None,
        auth: Any = UNSET,
        timeout: Any = UNSET,
        follow_redirects: bool | Any = UNSET,
        extensions: dict[str, Any] | None = None,
    ) -> Response:
        """Send a request and read the whole response body."""
        request = self.build_request(
            method,
            url,
            params=params,
            headers=headers,
            cookies=cookies,
            content=content,
            data=data,
            files=files,
            json=json,
            timeout=timeout,
            extensions=extensions,
        )
        return await self.send(request, auth=auth, follow_redirects=follow_redirects)

    def stream(self, method: str | bytes, url: URL | str, **kwargs: Any) -> AsyncStreamContext:
        """Send a request; the body is read as you iterate. Closes the response at exit.

        Use as ``async with client.stream("GET", url) as response:``."""
        return AsyncStreamContext(self, method, url, kwargs)

    async def send(
        self,
        request: Request,
        *,
        stream: bool = False,
        auth: Any = UNSET,
        follow_redirects: bool | Any = UNSET,
    ) -> Response:
        """Send a built request through redirects, auth and retries."""
        if self._closed:
            raise RuntimeError("cannot send a request: the client has been closed")
        if not self.is_async and request.content is not None and request.content.needs_event_loop:
            # Refused before connecting, as httpx does: found while sending, the head
            # would be out already and the server left waiting for the body.
            raise TypeError(
                "the request body is an async iterator or async file: send it with the "
                "async client, or pass bytes, a file or a sync iterator"
            )
        timeout = request.extensions.get("timeout", self._timeout)
        deadline = Deadline(timeout)
        request.extensions["deadline"] = deadline
        request.extensions.pop("retries", None)  # a request sent again lists its own only
        if self._trace is not None:
            request.extensions["trace"] = self._trace
        chosen_auth = self._auth_for(request, auth)
        settings = self._flows
        if follow_redirects is not UNSET and follow_redirects != settings.follow_redirects:
            settings = FlowSettings(
                follow_redirects=bool(follow_redirects),
                max_redirects=settings.max_redirects,
                retry=settings.retry,
                cookies=settings.cookies,
                trust_env=settings.trust_env,
                secret_headers=settings.secret_headers,
                trace=settings.trace,
                netrc=settings.netrc,
            )
        read_bodies = chosen_auth is not None and chosen_auth.requires_response_body
        response = await self._drive(
            send_flow(request, chosen_auth, settings), deadline, read_bodies=read_bodies
        )
        if not stream:
            failure: BaseException | None = None
            try:
                await response.aread()
            except BaseException as exc:
                failure = exc
            if failure is not None:
                # Closed outside the handler: a compiled (mypyc) coroutine must not await
                # in one (tests/test_compiled_sources.py).
                await response.aclose()
                if isinstance(failure, WirekitError) and failure.request is None:
                    failure.request = response.request  # errors of the body phase name it too
                raise failure
        response.elapsed = time.monotonic() - deadline.started_at
        return response

    def _auth_for(self, request: Request, auth: Any) -> Auth | None:
        chosen = self._auth if auth is UNSET else coerce_auth(auth)
        url = request.url
        if url.userinfo:
            # Credentials in the URL: Basic auth, and never sent on the wire in the URL.
            # Percent-decoded here, once (a "%2541" typed in a password is "%41"), each
            # escape one byte (RFC 3986 §2.1), as curl sends them: "%E9" (Latin-1 é) must
            # not become U+FFFD, as a decode to text would make it. "http://:@host/"
            # carries none.
            user_text, _, password_text = url.userinfo.partition(":")
            username, password = unquote_to_bytes(user_text), unquote_to_bytes(password_text)
            if chosen is None and (username or password):
                chosen = BasicAuth(username, password)
            request.url = url.copy_with(userinfo="")
        return chosen

    async def _drive(self, flow: Any, deadline: Deadline, *, read_bodies: bool) -> Response:
        """Run a flow: send what it asks, sleep when it asks, until it yields the response.

        ``read_bodies``: the auth flow reads response bodies (``requires_response_body``),
        so each response is read before the flow sees it."""
        previous: Response | None = None
        sent: Request | None = None  # the last request handed to the transport
        try:
            instruction = flow.send(None)
            while True:
                if isinstance(instruction, Response):
                    return instruction  # the flow's answer (send_flow's last instruction)
                if isinstance(instruction, Sleep):
                    remaining = deadline.remaining()
                    if remaining is not None and remaining <= instruction.seconds:
                        # No time to wait: the flow returns the response it has (kept,
                        # with its body unread, not discarded as a retried one is).
                        instruction = flow.send(False)
                        continue
                if previous is not None:
                    await self._discard(previous)
                    previous = None
                if isinstance(instruction, Sleep):
                    remaining = deadline.remaining()
                    if remaining is not None and remaining <= instruction.seconds:
                        # Reading the retried response's body took the time: it is returned
                        # (its body kept when small) instead of a wait past the deadline.
                        instruction = flow.send(False)
                        continue
                    await self._sleep(instruction.seconds)
                    instruction = flow.send(True)
                    continue
                instruction.extensions["deadline"] = deadline
                deadline.url = instruction.url
                for hook in self._event_hooks["request"]:
                    await hook(instruction)
                sent = instruction
                try:
                    response = await self._transport.handle_async_request(instruction)
                except TransportError as exc:
                    if exc.request is None:
                        exc.request = instruction
                    failed: Failed | None = Failed(exc)
                else:
                    failed = None
                if failed is not None:
                    instruction = flow.send(failed)  # the flow retries or raises it
                    continue
                response.request = instruction
                # Each hop's own (redirects and retries end in history); the final response
                # gets it again once its body is read.
                response.elapsed = time.monotonic() - deadline.started_at
                if self._max_decoded_bytes is not None:
                    response._max_decoded_bytes = self._max_decoded_bytes
                if self._max_ratio is not None:
                    response._max_ratio = self._max_ratio
                previous = response  # before the hooks: one that raises must not leak it
                for hook in self._event_hooks["response"]:
                    await hook(response)
                if read_bodies:
                    await response.aread()
                instruction = flow.send(response)
        except BaseException as exc:
            failure = exc
        if isinstance(failure, WirekitError) and failure.request is None:
            failure.request = sent  # every failure names the request it belongs to
        if previous is not None:  # outside the handler, as in send()
            await previous.aclose()
        raise failure

    async def _discard(self, response: Response) -> None:
        """Finish with a response the flow moved past: keep a small body, drop a big one."""
        length = response.headers.get("content-length", "")
        failure: BaseException | None = None
        try:
            if length.isdigit():
                if int(length) <= MAX_DISCARD_BYTES:
                    await response.aread()
            else:
                # Chunked or up to the close: read as far as the size allows, kept if it
                # ends within it (a history response's body, as requests and httpx keep).
                kept: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_DISCARD_BYTES:
                        break
                    kept.append(chunk)
                else:
                    response._content = b"".join(kept)
        except WirekitError as exc:
            # The request's time ran out reading this body: that is the error, not the
            # next hop's connect that would fail at once for want of time. Other errors
            # of a body nobody reads do not matter.
            if isinstance(exc, DeadlineExceeded):
                failure = exc
        except BaseException as exc:
            failure = exc
        await response.aclose()  # outside the handlers, as in send()
        if failure is not None:
            raise failure

    async def _sleep(self, seconds: float) -> None:
        await async_sleep(seconds)

    # -- verbs ------------------------------------------------------------------------------
    async def get(self, url: URL | str, **kwargs: Any) -> Response:
        return await self.request("GET", url, **kwargs)

    async def head(self, url: URL | str, **kwargs: Any) -> Response:
        return await self.request("HEAD", url, **kwargs)

    async def options(self, url: URL | str, **kwargs: Any) -> Response:
        return await self.request("OPTIONS", url, **kwargs)

    async def delete(self, url: URL | str, **kwargs: Any) -> Response:
        return await self.request("DELETE", url, **kwargs)

    async def post(self, url: URL | str, **kwargs: Any) -> Response:
        return await self.request("POST", url, **kwargs)

    async def put(self, url: URL | str, **kwargs: Any) -> Response:
        return await self.request("PUT", url, **kwargs)

    async def patch(self, url: URL | str, **kwargs: Any) -> Response:
        return await self.request("PATCH", url, **kwargs)

    # -- lifetime ---------------------------------------------------------------------------
    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._transport.aclose()

    async def __aenter__(self) -> Self:  # a subclass's own methods stay typed in `with`
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.aclose()


# setattr: mypyc refuses a plain assignment to a class attribute it did not declare.
setattr(AsyncClient, "__doc__", _CLIENT_DOC)  # noqa: B010


class AsyncStreamContext:
    """What ``AsyncClient.stream()`` returns: sends on entry, closes the response on exit.
    (A class, not a generator-based context manager: mypyc, which builds the compiled
    package, cannot compile the async flavour of one.)"""

    __slots__ = ("_client", "_kwargs", "_method", "_response", "_url")

    def __init__(
        self, client: AsyncClient, method: str | bytes, url: URL | str, kwargs: dict[str, Any]
    ) -> None:
        self._client = client
        self._method = method
        self._url = url
        self._kwargs = kwargs
        self._response: Response | None = None

    async def __aenter__(self) -> Response:
        kwargs = dict(self._kwargs)
        auth = kwargs.pop("auth", UNSET)
        follow_redirects = kwargs.pop("follow_redirects", UNSET)
        client = self._client
        request = client.build_request(self._method, self._url, **kwargs)
        response = await client.send(
            request, stream=True, auth=auth, follow_redirects=follow_redirects
        )
        self._response = response
        return response

    async def __aexit__(self, *exc_info: object) -> None:
        response, self._response = self._response, None
        if response is not None:
            await response.aclose()
