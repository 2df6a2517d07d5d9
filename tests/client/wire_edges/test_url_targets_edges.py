"""Review of the request target and Host header wirekit puts on the wire for a URL string,
``params=`` and ``base_url=``, compared with requests, urllib3 and httpx sent to the same raw
loopback peer (tests/client/wire_edges/_wire.py records each request head).

Every test here failed on the code it was written against; each docstring says what the
user saw, what the reference libraries do, and where in src the cause was. (Found by a
review of URLs on the wire; fixed since: Host and a proxy's absolute-form target leave out
the default port and the IPv6 zone, "//x" under a base_url is a path, params may be bytes,
a lone surrogate is an InvalidURL, and max_url_length is measured on the URL as given.)
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import pytest
import requests

import wirekit
from tests.client.wire_edges._wire import Peer, header_values, line
from wirekit.net import CachingResolver

_real_getaddrinfo = socket.getaddrinfo


def _client(**kwargs: Any) -> wirekit.Client:
    return wirekit.Client(trust_env=False, retry=0, timeout=10, **kwargs)


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


@pytest.fixture
def peer() -> Any:
    with Peer() as server:
        yield server


def _to_peer(peer: Peer) -> Any:
    """A getaddrinfo that answers every name and port with the loopback peer's address."""

    def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        return _real_getaddrinfo("127.0.0.1", peer.port, *args, **kwargs)

    return fake


# -- Host header -----------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["Client", "AsyncClient"])
def test_default_port_is_left_out_of_the_host_header(
    peer: Peer, monkeypatch: pytest.MonkeyPatch, which: str
) -> None:
    """``client.get("http://example.com:80/x")`` (a port written out, as config files and
    redirects often have it).

    User sees ``Host: example.com:80`` on the wire. requests, urllib3 and httpx all send
    ``Host: example.com`` for the same URL (checked here against the same peer, with DNS
    pointed at it); browsers too, since the WHATWG URL parser drops a scheme's default
    port, and RFC 9110 §4.2.3 makes the port-less form the normal one. Servers and signing
    schemes that compare Host text (virtual hosts keyed on the bare name, AWS SigV4 /
    HMAC signatures computed over "example.com", Host allow-lists) then reject or
    mis-route the request.

    Cause: src/wirekit/client/_async/connection.py ``_wire_headers`` calls
    ``_host_value(url.host, url.port)`` with the explicit port even when it equals
    ``DEFAULT_PORTS[url.scheme]``. Fix: pass ``None`` as the port when
    ``url.port == DEFAULT_PORTS.get(url.scheme)`` (or drop a default port at parse time in
    ``URL._parse``, as WHATWG does).
    """
    monkeypatch.setattr(socket, "getaddrinfo", _to_peer(peer))
    with _session() as session:
        session.get("http://example.com:80/x", timeout=10)
    assert header_values(peer.requests[-1], b"host") == [b"example.com"]
    with httpx.Client(trust_env=False) as reference:
        reference.get("http://example.com:80/x")
    assert header_values(peer.requests[-1], b"host") == [b"example.com"]

    resolver = CachingResolver(getaddrinfo=_to_peer(peer))
    if which == "Client":
        with _client(resolver=resolver) as client:
            client.get("http://example.com:80/x")
    else:

        async def main() -> None:
            async with wirekit.AsyncClient(
                trust_env=False, retry=0, timeout=10, resolver=resolver
            ) as client:
                await client.get("http://example.com:80/x")

        asyncio.run(main())
    assert line(peer.requests[-1]) == b"GET /x HTTP/1.1"
    assert header_values(peer.requests[-1], b"host") == [b"example.com"]


@pytest.mark.parametrize("written", ["fe80::1%25eth0", "fe80::1%eth0"])
def test_ipv6_zone_id_is_not_sent_in_the_absolute_form_target_to_a_proxy(
    peer: Peer, written: str
) -> None:
    """``client.get("http://[fe80::1%25eth0]:81/x")`` through a plain HTTP forward proxy.

    User sees ``GET http://[fe80::1%25eth0]:81/x HTTP/1.1`` sent to the proxy (and with
    the unencoded spelling ``[fe80::1%eth0]``, a request line holding "%et", not a valid
    escape). RFC 6874 §4: "An HTTP client, proxy, or other intermediary MUST remove any
    ZoneID attached to an outgoing URI, as it has only local significance at the sending
    host"; an interface name of this machine means nothing (or another interface) on the
    proxy, and strict proxies reject the zone as an invalid IP-literal. wirekit already
    strips the zone from the Host header of the same request (``Host: [fe80::1]:81``), so
    the two disagree. The references all get this wrong in their own way (requests and
    urllib3 send the raw "%eth0", httpx drops the brackets), so this rests on the RFC.

    Cause: src/wirekit/client/_async/connection.py ``handle_async_request`` builds the
    absolute-form target from ``url.netloc``, which keeps the zone, whereas the Host header
    goes through ``_host_for_header`` (zone removed). Fix: build the proxy target from
    ``_host_for_header(url.host)`` plus ``:port`` (the same value as Host).
    """
    with _client(proxy=peer.base) as client:
        client.get(f"http://[{written}]:81/x")
    assert header_values(peer.requests[-1], b"host") == [b"[fe80::1]:81"]
    assert line(peer.requests[-1]) == b"GET http://[fe80::1]:81/x HTTP/1.1"


# -- base_url ----------------------------------------------------------------------------------


def test_base_url_with_a_doubled_leading_slash_does_not_drop_a_path_segment(peer: Peer) -> None:
    """``client.get("//users/1")`` with ``base_url=".../api"`` (a doubled slash from string
    building, e.g. ``f"/{prefix}/users/1"`` with an empty prefix).

    User sees ``GET /api/1 HTTP/1.1``: a different resource, with "users" silently gone.
    "//users/1" parses as a network-path reference (host "users", path "/1"), and
    ``_merge_url`` then appends only its path to the base. Per RFC 3986 §5.2 the reference
    names host "users"; under wirekit's documented rule (relative URLs are appended to the
    base path, never resolved to another host) the text would give ``/api//users/1`` (or
    ``/api/users/1``). Neither reading drops a segment; a clear ``InvalidURL`` would also
    do. (httpx has the same drop, as its merge is the one wirekit follows; requests has no
    base_url, and with the URL written in full sends ``//users/1`` as given.)

    Cause: src/wirekit/client/_async/client.py ``_merge_url`` uses ``target.raw_path`` and
    ignores ``target``'s authority. Fix: when the relative target has an authority
    (``target._has_authority``), raise ``InvalidURL`` naming the "//" (or append the text
    as written: ``base_path + "/" + host + raw_path``).
    """
    with _client(base_url=peer.base + "/api") as client:
        client.get("//users/1")
        assert line(peer.requests[-1]) == b"GET /api/users/1 HTTP/1.1"
        # A URL object has lost the text: refused, not sent to another host or path.
        with pytest.raises(wirekit.InvalidURL, match="names a host but no scheme"):
            client.get(wirekit.URL("//users/1"))
    assert len(peer.requests) == 1


def test_in_process_transports_give_the_app_the_host_the_wire_would_carry() -> None:
    """WSGITransport and ASGITransport build the Host the client would send: no default
    port, no IPv6 zone (they used ``url.netloc``)."""

    def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["HTTP_HOST"].encode()]

    async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        host = dict(scope["headers"])[b"host"]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": host})

    urls = {
        "http://example.com:80/": b"example.com",
        "https://example.com:443/": b"example.com",
        "http://example.com:8080/": b"example.com:8080",
        "http://[fe80::1%25eth0]:81/": b"[fe80::1]:81",
    }
    with wirekit.Client(transport=wirekit.WSGITransport(wsgi_app)) as client:
        assert {url: client.get(url).content for url in urls} == urls

    async def main() -> dict[str, bytes]:
        transport = wirekit.ASGITransport(asgi_app)
        async with wirekit.AsyncClient(transport=transport) as client:
            return {url: (await client.get(url)).content for url in urls}

    assert asyncio.run(main()) == urls


# -- params ------------------------------------------------------------------------------------


def test_params_given_as_bytes_query_text_is_sent_like_a_string(peer: Peer) -> None:
    """``client.get(url, params=b"a=1&b=2")`` (an already-encoded query as bytes, e.g. from
    ``urlencode(...).encode()`` or read off the wire).

    User sees ``TypeError: cannot unpack non-iterable int object``, raised from inside
    ``QueryParams``, which says nothing about params. requests and httpx both send
    ``GET /p?a=1&b=2`` (checked here; httpx's ``QueryParamTypes`` includes ``bytes``).

    Cause: src/wirekit/_models/url.py ``URL.copy_merge_params`` special-cases ``str`` only,
    and ``QueryParams.__init__`` then iterates the bytes as if they were (key, value)
    pairs, getting ints. Fix: treat ``bytes`` like ``str`` (decode as ASCII/UTF-8 with
    surrogateescape and take the string path), or raise a ``TypeError`` naming the
    accepted ``params`` types.
    """
    with _session() as session:
        session.get(peer.base + "/p", params=b"a=1&b=2", timeout=10)
    assert line(peer.requests[-1]) == b"GET /p?a=1&b=2 HTTP/1.1"
    with httpx.Client(trust_env=False) as reference:
        reference.get(peer.base + "/p", params=b"a=1&b=2")  # type: ignore[arg-type]
    assert line(peer.requests[-1]) == b"GET /p?a=1&b=2 HTTP/1.1"

    with _client() as client:
        client.get(peer.base + "/p", params=b"a=1&b=2")
    assert line(peer.requests[-1]) == b"GET /p?a=1&b=2 HTTP/1.1"


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "suffix",
    ["/a\ud800", "/p?q=\ud800", "/p#\ud800"],
    ids=["path", "query", "fragment"],
)
def test_lone_surrogate_in_a_url_raises_invalid_url(peer: Peer, suffix: str) -> None:
    """A URL string holding a lone surrogate (from ``os.fsdecode`` of a non-UTF-8 file name,
    or JSON with half an emoji pair): ``client.get(base + "/a\\ud800")``.

    User sees a bare ``UnicodeEncodeError: 'utf-8' codec can't encode character '\\ud800'
    ... surrogates not allowed``, which is not a ``wirekit.WirekitError`` ("Base of every
    error raised by wirekit", src/wirekit/errors.py) nor the documented ``InvalidURL`` for
    a URL that cannot be used, so ``except wirekit.InvalidURL`` / ``except
    wirekit.WirekitError`` handlers miss it, and it does not name the URL. The same
    character in the host already gives ``InvalidURL: invalid international host``.
    requests sends the surrogate's UTF-8-like octets (``/a%ED%A0%80``); httpx raises the
    same bare UnicodeEncodeError. Nothing is wrong with refusing, only with how.

    Cause: src/wirekit/_models/url.py ``_quote_part`` (via ``URL._parse``) calls
    ``urllib.parse.quote``, which encodes UTF-8 strictly, and nothing wraps the error.
    Fix: catch ``UnicodeEncodeError`` in ``_parse`` and raise a chained ``InvalidURL``
    naming the part (or quote with ``errors="surrogatepass"`` as requests effectively
    does).
    """
    with _client() as client:
        with pytest.raises(wirekit.InvalidURL):
            client.get(peer.base + suffix)
    assert peer.requests == []


def test_url_length_limit_does_not_depend_on_adding_params_or_a_base_url(peer: Peer) -> None:
    """A 12,023-character URL whose path is 12,000 "é": ``client.get(url)`` is sent (a
    72 KB request line), but ``client.get(url, params={"page": 2})`` raises
    ``LimitExceeded: URL of 72027 characters is over the max_url_length limit of 65536``,
    and so does ``client.get("/" + "é" * 12000)`` on a client with ``base_url``.

    User sees: adding one small query parameter (or moving the host into ``base_url``)
    turns a working call into a LimitExceeded that quotes a length 6x what they passed.
    requests and urllib3 send all three. The limit (src/wirekit/_models/url.py
    ``MAX_URL_LENGTH``, "Longest URL accepted, in characters") is measured on the text
    as given for a plain URL, but ``copy_with`` (used by ``copy_merge_params`` and by the
    client's base_url merge) recomposes the already percent-encoded URL and parses that
    again, so the same URL is measured after encoding.

    Cause: src/wirekit/_models/url.py ``URL._parse`` checks ``len(url)`` of whatever text
    it gets; ``URL.copy_with`` feeds it the encoded form. Fix: apply the limit to one
    form everywhere: either to the encoded URL in ``_parse`` (after quoting, so the plain
    call is refused too, with a message saying "encoded"), or skip the check on the
    internal re-parse in ``copy_with``.
    """
    path = "/" + "é" * 12000

    def outcome(call: Any) -> str:
        before = len(peer.requests)
        try:
            call()
        except wirekit.LimitExceeded:
            return "refused"
        return "sent" if len(peer.requests) == before + 1 else "nothing"

    with _client() as client:
        plain = outcome(lambda: client.get(peer.base + path))
        with_params = outcome(lambda: client.get(peer.base + path, params={"page": 2}))
    with _client(base_url=peer.base) as client:
        with_base = outcome(lambda: client.get(path))
    assert (plain, with_params, with_base) in (
        ("sent", "sent", "sent"),
        ("refused", "refused", "refused"),
    ), f"plain: {plain}, with params: {with_params}, with base_url: {with_base}"
