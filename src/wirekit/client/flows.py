"""Redirects, retries, auth challenges and cookies, written once as sans-IO generators.

A flow yields what the driver must do next (a :class:`Request` to send, or a
:class:`Sleep`), receives the outcome (a :class:`Response`, or :class:`Failed` with the transport error),
and finally returns the response the caller sees. ``send_flow``, the one the clients drive,
yields that response instead (see there). The async client and the generated sync
client drive the same flow (DESIGN invariant 2), so these rules exist exactly once.

Layers, outermost first: redirects (one hop per iteration) > auth conversation > retries >
cookies (applied to every request actually sent, extracted from every response).

The driver's contract: when the flow yields again after receiving a response, that response
is finished with (the driver reads a small body, or closes it) before the next step.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Generator, Mapping
from dataclasses import dataclass
from typing import Any

from wirekit._models.cookies import Cookies, is_stdlib_jar
from wirekit._models.headers import Headers
from wirekit._models.messages import Request, Response
from wirekit._models.url import URL
from wirekit._proto._http1_write import check_fields
from wirekit.client.auth import Auth, BasicAuth, NetrcLookup
from wirekit.client.config import Retry
from wirekit.errors import (
    ConnectError,
    ConnectTimeout,
    InvalidRedirect,
    InvalidURL,
    LimitExceeded,
    NameResolutionError,
    StreamConsumed,
    TooManyRedirects,
    TransportError,
    chained,
)

__all__ = ["Failed", "FlowSettings", "Sleep", "send_flow"]

logger = logging.getLogger("wirekit.client")

Trace = Callable[[str, dict[str, Any]], None]

#: Headers that carry credentials: never sent to an origin other than the one they were
#: given for (requests#5127-style leaks), nor after an HTTPS to HTTP downgrade.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})

#: Failures where the request never left this machine, so any idempotent request may be
#: sent again safely. Not PoolTimeout: another wait for the same full pool would only make
#: the caller wait longer than the pool limit says (urllib3 and httpx do not retry it).
_NOTHING_SENT = (ConnectError, ConnectTimeout, NameResolutionError)


@dataclass(slots=True)
class Sleep:
    """Instruction: wait ``seconds`` before the next attempt. The driver sends back True
    if it slept, False if the request's deadline leaves no time for it."""

    seconds: float
    reason: str


@dataclass(slots=True)
class Failed:
    """What the driver sends back in place of a response when sending a request failed.

    (Rather than ``generator.throw``: a compiled generator's throw drops the traceback the
    error already carries, so it ended at the flow instead of at the failed connect/read.)"""

    error: TransportError


@dataclass(slots=True)
class FlowSettings:
    """Per-client flow options, built once."""

    follow_redirects: bool
    max_redirects: int
    retry: Retry
    cookies: Any  # wirekit._models.cookies.Cookies | None
    trust_env: bool
    secret_headers: frozenset[str]
    trace: Trace | None = None
    netrc: NetrcLookup | None = None  # set when trust_env: credentials by host


Instruction = Request | Sleep
Flow = Generator[Instruction, Any, Response]
#: ``send_flow``'s: it ends by yielding the response the caller sees.
DriverFlow = Generator[Instruction | Response, Any, None]


def send_flow(request: Request, auth: Auth | None, settings: FlowSettings) -> DriverFlow:
    """The whole life of one ``client.send()``: every hop, attempt and challenge.

    Its last instruction is the response the caller sees: yielded, not returned, so the
    driver stops there without a ``StopIteration`` (an exception per request, with a
    traceback object in the compiled build) and leaves the finished flow to be collected."""
    history: list[Response] = []
    original = request.url
    hop_auth = auth
    downgraded = False  # an https hop led to an http one: netrc stays out of plain http
    while True:
        if hop_auth is not None:
            chosen: Auth | None = hop_auth
        elif downgraded and request.url.scheme == "http":
            chosen = None
        else:
            chosen = _netrc_auth(request, settings)
        if chosen is None:
            plain_headers = None
            response = yield from _retry_flow(request, settings)  # one generator fewer
        else:
            # The headers before the auth added its own: the next hop starts from these (its
            # auth, if it keeps one, adds them again), so an X-Api-Key set by a custom auth
            # never follows a redirect to another origin.
            plain_headers = request.headers.copy()
            response = yield from _auth_flow(request, chosen, settings)
        response.history = list(history)
        if not (settings.follow_redirects and response.is_redirect):
            yield response
            return
        if len(history) >= settings.max_redirects:
            raise TooManyRedirects(
                f"more than {settings.max_redirects} redirects (max_redirects) "
                f"starting from {original}",
                request=request,
                history=[*history, response],
            )
        next_request = redirect_request(request, response, settings, headers=plain_headers)
        history.append(response)
        if settings.trace is not None:
            settings.trace(
                "redirect",
                {"status_code": response.status_code, "url": str(next_request.url)},
            )
        if next_request.url.scheme == "http" and request.url.scheme == "https":
            downgraded = True
        if not (
            same_origin(next_request.url, request.url)
            or _is_https_upgrade(request.url, next_request.url)
        ):
            # Credentials given for the first origin stay there (and once dropped, stay
            # dropped); netrc may know the new one. http -> https of the same host on the
            # default ports keeps them, as it keeps an Authorization header (requests and
            # httpx do the same).
            hop_auth = None
        request = next_request


def _netrc_auth(request: Request, settings: FlowSettings) -> Auth | None:
    """Basic auth from netrc for the request's host, unless it carries Authorization."""
    if settings.netrc is None:
        return None
    # The lookup first: usually it finds nothing, and the header scan is dearer.
    found = settings.netrc.credentials_for(request.url.host)
    if found is None or "authorization" in request.headers:
        return None
    return BasicAuth(*found)


def _auth_flow(request: Request, auth: Auth, settings: FlowSettings) -> Flow:
    flow = auth.auth_flow(request)
    next_request = next(flow)
    while True:
        response = yield from _retry_flow(next_request, settings, auth)
        sent = next_request.content
        try:
            next_request = flow.send(response)
        except StopIteration:
            return response
        if sent is not None and next_request.content is sent and not _can_resend(next_request):
            # Found while sending, the head would be out before the body failed.
            raise StreamConsumed(
                f"cannot answer the {response.status_code} of {next_request.url.host} with "
                f"{type(auth).__name__}: the request body was streamed and cannot be sent "
                "again (pass bytes or a seekable file)"
            )
        _rewind_body(next_request)


def _retry_flow(request: Request, settings: FlowSettings, auth: Auth | None = None) -> Flow:
    retry = settings.retry
    attempt = 0
    while True:
        _apply_cookies(request, settings)
        outcome: Response | Failed = yield request
        if type(outcome) is Failed:
            # No except block here: the compiled build (mypyc) leaves a handled exception in
            # the thread's state when a generator suspends inside one (sys.exc_info() and a
            # later compiled finally found it again). Raising the error object keeps its
            # traceback, down to the connect or read that failed.
            failure = outcome.error
            if not (
                isinstance(failure, _NOTHING_SENT)
                and attempt < retry.total
                and retry.allows_method(request.method)
            ):
                raise failure
            if not _can_resend(request):
                raise failure
            attempt += 1
            wait = retry.wait_for(attempt, retry_after=None)
            if not (yield from _pause(request, settings, attempt, wait, type(failure).__name__)):
                raise failure
            continue
        response: Response = outcome  # type: ignore[assignment]
        if "set-cookie" in response.headers:
            if settings.cookies is not None:
                settings.cookies.extract_cookies(request.url, response.headers)
            extra = request.extensions.get("cookies")
            if extra is not None:
                # The request's own cookies= too: a cookie the server replaced or deleted
                # (a rotated session on a redirect) must not be sent in its old form. Only
                # those: a new name is the client jar's to judge (an http answer must not
                # shadow its Secure cookie on the next https hop).
                extra.extract_cookies(request.url, response.headers, known_names_only=True)
        status = response.status_code
        # (the method last: asked only of a status that could be retried, not of every 200)
        if not (
            status in retry.statuses
            and attempt < retry.total
            and retry.allows_method(request.method)
        ):
            return response
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if status in (retry.require_retry_after_for or ()) and retry_after is None:
            return response
        if not _can_resend(request):
            return response
        attempt += 1
        wait = retry.wait_for(attempt, retry_after=retry_after)
        if not (yield from _pause(request, settings, attempt, wait, f"status {status}")):
            return response
        sign_again = getattr(auth, "sign_again", None)  # an auth may predate the hook
        if sign_again is not None:
            sign_again(request)  # the server saw these credentials (Digest's nc)


def _pause(
    request: Request, settings: FlowSettings, attempt: int, wait: float, reason: str
) -> Generator[Instruction, Any, bool]:
    # Reported once the driver has agreed to wait (it refuses a wait the deadline cannot
    # cover): a retry that is not made is neither logged, listed nor traced.
    slept: bool = yield Sleep(wait, reason)
    if slept:
        logger.info(
            "retrying %s %s (attempt %d of %d) after %s, waited %.2f s",
            request.method,
            request.url,
            attempt + 1,
            settings.retry.total + 1,
            reason,
            wait,
        )
        attempts = request.extensions.setdefault("retries", [])
        attempts.append({"attempt": attempt, "reason": reason, "wait": wait})
        if settings.trace is not None:
            settings.trace("retry", {"attempt": attempt, "reason": reason, "wait": wait})
        _rewind_body(request)
    return slept


def _can_resend(request: Request) -> bool:
    content = request.content
    return content is None or bool(getattr(content, "is_replayable", False))


def _rewind_body(request: Request) -> None:
    content = request.content
    if content is not None and getattr(content, "is_replayable", False):
        content.rewind()


def request_cookies(cookies: Any, url: URL) -> Cookies:
    """The jar of one request's ``cookies=``, sent with the client's on every hop it matches.

    Name/value pairs go to ``url``'s host alone (host-only: not to a redirect's other host,
    not even a subdomain); a :class:`Cookies` jar keeps each cookie's own scoping."""
    if isinstance(cookies, Cookies) or is_stdlib_jar(cookies):
        return Cookies(cookies)
    jar = Cookies()
    items = cookies.items() if hasattr(cookies, "items") else cookies
    for name, value in items:
        jar.set(name, value, domain=url.host, host_only=True)
    return jar


def _apply_cookies(request: Request, settings: FlowSettings) -> None:
    jar = settings.cookies
    extra = request.extensions.get("cookies")
    # Nothing to send, the common case: one len(). (A jar of expired cookies only goes on
    # to cookie_header, which sends none of them.)
    if (jar is None or not jar.stored()) and not extra:
        if request.extensions.get("cookie_from_jar"):
            request.headers.pop("cookie", None)
        return
    if request.extensions.get("cookie_from_jar"):
        request.headers.pop("cookie", None)
    elif "cookie" in request.headers:
        return  # the caller set Cookie by hand: theirs wins
    # The client's jar is read on every hop, so a cookie set by a redirect is sent on.
    value = (jar if jar is not None else Cookies()).cookie_header(request.url, extra=extra)
    if value:
        request.headers["Cookie"] = value
        request.extensions["cookie_from_jar"] = True


def same_origin(a: URL, b: URL) -> bool:
    return a.scheme == b.scheme and a.host == b.host and a.effective_port == b.effective_port


def _is_https_upgrade(old: URL, new: URL) -> bool:
    """http://h/ -> https://h/ on default ports: the one origin change that keeps secrets
    (the new origin is the secure twin of the old, as requests allows)."""
    return (
        old.scheme == "http"
        and new.scheme == "https"
        and old.host == new.host
        and old.effective_port == 80
        and new.effective_port == 443
    )


def redirect_request(
    request: Request,
    response: Response,
    settings: FlowSettings,
    *,
    headers: Headers | None = None,
) -> Request:
    """Build the next hop's request per RFC 9110 §15.4 and the secret-stripping rules.

    ``headers``: the hop's headers to start from, when not ``request.headers`` (those from
    before an auth flow added its own)."""
    # One URI-reference (RFC 9110 §10.2.2), never the ", "-join of repeated field lines:
    # copies of one value are followed (as browsers and curl do), different ones refused
    # (browsers take them for response splitting). Empty ones do not count (is_redirect).
    locations = list(dict.fromkeys(v.strip() for v in response.headers.get_list("location")))
    locations = [value for value in locations if value]
    if len(locations) != 1:
        raise InvalidRedirect(
            f"redirect from {request.url} has {len(locations)} different Location values: "
            + ", ".join(repr(value) for value in locations)
        )
    location = locations[0]
    if not location.isascii():
        # Headers are decoded as latin-1; raw UTF-8 in Location is common in the wild and
        # meant as UTF-8 (browsers, requests and httpx read it so), else keep it as it came.
        try:
            location = location.encode("latin-1").decode("utf-8")
        except UnicodeError:
            pass
    scheme, colon, rest = location.partition(":")
    if colon and scheme.lower() == request.url.scheme and not rest.startswith("//"):
        # "http:/next" from an http URL: relative, as browsers (WHATWG URL) and requests
        # read it; RFC 3986 would make it a URL without a host.
        location = rest
    try:
        url = request.url.join(location)
    except (InvalidURL, LimitExceeded) as exc:
        raise chained(
            InvalidRedirect(
                f"redirect from {request.url} has an invalid Location {location!r}: {exc}"
            ),
            exc,
        ) from exc
    if url.scheme not in ("http", "https"):
        raise InvalidRedirect(
            f"redirect from {request.url} to unsupported scheme {url.scheme!r} ({location})"
        )
    if not url.host:
        raise InvalidRedirect(
            f"redirect from {request.url} has an invalid Location {location!r}: no host"
        )
    inherited = request.url._fragment
    if url._fragment is None and inherited is not None:
        # RFC 9110 §10.2.2: only when the Location has none ("#" is an empty one), and as
        # written (decoded and encoded again, "%2F" would become "/").
        url = url.join("#" + inherited)
    if url.userinfo:
        # Never sent on the wire (RFC 9110 §4.2.4), nor kept in response.url and history.
        url = url.copy_with(userinfo="")

    status = response.status_code
    method = request.method
    content = request.content
    headers = (request.headers if headers is None else headers).copy()
    # 303: GET for everything but HEAD; 301/302: POST becomes GET, as every browser does
    # (RFC 9110 §15.4.2-3 allows it); 307/308 keep method and body.
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method = "GET"
        content = None
        for name in ("content-length", "content-type", "transfer-encoding"):
            headers.pop(name, None)
    elif content is not None:
        if not getattr(content, "is_replayable", False):
            raise StreamConsumed(
                f"cannot follow the {status} redirect to {url}: the request body was "
                "streamed and cannot be sent again"
            )
        content.rewind()

    if not same_origin(url, request.url):
        headers.pop("host", None)
        if not _is_https_upgrade(request.url, url):
            for name in SECRET_HEADERS | settings.secret_headers:
                headers.pop(name, None)
    extensions = dict(request.extensions)
    extensions.pop("retries", None)
    if extensions.pop("cookie_from_jar", None):
        headers.pop("cookie", None)
    return Request(method, url, headers=headers, content=content, extensions=extensions)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` value (delta-seconds or an HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        # ASCII digits only (RFC 9110 §10.2.3): "²" is a digit to str.isdigit(), not to float().
        return float(value) if value.isascii() else None
    import datetime  # on demand: only an HTTP-date Retry-After needs them
    import email.utils

    try:
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:
            # The asctime form carries no zone and means GMT (RFC 9110 §5.6.7), not local.
            when = when.replace(tzinfo=datetime.UTC)
        stamp = when.timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):  # absurd zones overflow
        return None
    return max(0.0, stamp - (time.time() if now is None else now))


def secret_header_names(names: Collection[str] | None) -> frozenset[str]:
    return frozenset(n.lower() for n in names or ())


def merge_headers(base: Headers, extra: Any) -> Headers:
    """A client's default headers with a request's ``headers=`` on top (a copy).

    A None value removes that default, as in requests: ``headers={"User-Agent": None}`` (or
    ``[("User-Agent", None)]``) sends no User-Agent. A name or value HTTP cannot carry
    (CR, LF, NUL) raises ``LocalProtocolError`` here, before any connection is made."""
    merged = base.copy()
    if extra:
        pairs: Any = None
        if isinstance(extra, Mapping):
            if None in extra.values():
                pairs = list(extra.items())
        elif isinstance(extra, (list, tuple)):
            for pair in extra:
                if pair[1] is None:
                    pairs = extra
                    break
        if pairs is not None:
            kept: list[tuple[Any, Any]] = []
            for name, value in pairs:
                if value is None:
                    merged.pop(name, None)
                else:
                    kept.append((name, value))
            extra = kept
        merged.update(extra)
        check_fields(merged.raw)
    return merged
