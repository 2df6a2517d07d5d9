"""What an experienced requests/httpx user relies on: cookies, redirects, params, bodies,
the in-process transports and Retry-After (found by a review; each failed before its fix).

Peers are real loopback servers (tests/support/handler_peer.py) unless only the client's
logic matters.
"""

from __future__ import annotations

import json

import pytest

import wirekit
from tests.support.handler_peer import Peer, Seen, response


def _echo(req: Seen, peer: Peer) -> bytes:
    body = json.dumps(
        {"method": req.method, "target": req.target, "headers": req.header_list}
    ).encode()
    return response(200, [("Content-Type", "application/json")], body)


def _cookie_headers(resp: wirekit.Response) -> list[str]:
    return [value for name, value in resp.json()["headers"] if name == "cookie"]


# -- cookies ---------------------------------------------------------------------------------
def _login_site(req: Seen, peer: Peer) -> bytes:
    if req.target == "/login":
        return response(302, [("Location", "/home"), ("Set-Cookie", "session=abc; Path=/")])
    return _echo(req, peer)


def test_set_cookie_on_redirect_is_sent_on_next_hop_with_per_request_cookies() -> None:
    """A login POST answered by 302 + Set-Cookie: the next hop must carry the new session
    cookie, also when the call passed ``cookies=`` (here: a consent cookie)."""
    with Peer(_login_site) as peer, wirekit.Client(retry=0) as client:
        resp = client.post(peer.url + "/login", cookies={"consent": "yes"})
    assert resp.status_code == 200
    (cookie,) = _cookie_headers(resp)
    assert "session=abc" in cookie.split("; ")


def test_per_request_cookies_do_not_follow_a_redirect_to_another_host() -> None:
    """``cookies=`` are for this request's host only (client.py says so): a redirect to a
    different host (here a subdomain) must not receive them."""
    sent: list[tuple[str, str | None]] = []

    def handler(request: wirekit.Request) -> wirekit.Response:
        sent.append((request.url.host, request.headers.get("cookie")))
        if request.url.host == "example.test":
            return wirekit.Response(302, headers={"Location": "http://other.example.test/"})
        return wirekit.Response(200, content=b"")

    with wirekit.Client(transport=wirekit.MockTransport(handler), retry=0) as client:
        client.get("http://example.test/", cookies={"token": "secret"})
    assert sent[0] == ("example.test", "token=secret")
    assert sent[1] == ("other.example.test", None)


def test_per_request_cookie_jar_keeps_its_scoping() -> None:
    """``cookies=`` given a Cookies jar (as httpx allows): each cookie must keep its domain
    and Secure flag. Every cookie of the jar was re-scoped to the request's host, so a
    Secure session cookie for bank.test went to http://tracker.test/ in clear."""
    sent: list[str | None] = []

    def handler(request: wirekit.Request) -> wirekit.Response:
        sent.append(request.headers.get("cookie"))
        return wirekit.Response(200, content=b"")

    jar = wirekit.Cookies()
    jar.extract_cookies(
        "https://bank.test/", wirekit.Headers([("Set-Cookie", "bank=s3cret; Secure")])
    )
    jar.extract_cookies("http://tracker.test/", wirekit.Headers([("Set-Cookie", "t=1")]))
    with wirekit.Client(transport=wirekit.MockTransport(handler), retry=0) as client:
        client.get("http://tracker.test/", cookies=jar)
    assert sent == ["t=1"]


def test_assigning_client_cookies_is_used_for_sending_and_storing() -> None:
    """``client.cookies = jar`` (httpx has a setter for it; ``client.cookies`` is the
    documented jar): the new jar was ignored when sending, and Set-Cookie answers went to
    the old, now unreachable jar."""
    sent: list[str | None] = []

    def handler(request: wirekit.Request) -> wirekit.Response:
        sent.append(request.headers.get("cookie"))
        return wirekit.Response(200, headers=[("Set-Cookie", "srv=1")], content=b"")

    with wirekit.Client(transport=wirekit.MockTransport(handler), retry=0) as client:
        client.cookies = wirekit.Cookies({"token": "abc"})
        client.get("http://example.test/")
        assert sent == ["token=abc"]
        assert client.cookies.get("srv") == "1"


def test_changing_base_url_takes_effect_for_relative_urls() -> None:
    """``client.base_url = ...`` (public attribute; httpx has a setter): relative URLs
    already used once kept going to the old base, from the client's URL cache."""
    sent: list[str] = []

    def handler(request: wirekit.Request) -> wirekit.Response:
        sent.append(str(request.url))
        return wirekit.Response(200, content=b"")

    transport = wirekit.MockTransport(handler)
    with wirekit.Client(transport=transport, base_url="http://a.test/", retry=0) as client:
        client.get("/x")
        client.base_url = wirekit.URL("http://b.test/")
        client.get("/x")
    assert sent == ["http://a.test/x", "http://b.test/x"]


# -- response text ---------------------------------------------------------------------------
_LATIN1_TEXT = "café crème, déjà vu"


def _latin1_site(req: Seen, peer: Peer) -> bytes:
    return response(200, [("Content-Type", "text/plain")], _LATIN1_TEXT.encode("latin-1"))


def test_encoding_looked_at_in_a_response_hook_does_not_pin_a_wrong_charset() -> None:
    """Looking at ``response.encoding`` before the body is read (a response hook, logging)
    must not freeze a guess made from an empty body: ``.text`` is then mojibake."""
    seen: list[str] = []
    hooks = {"response": [lambda r: seen.append(r.encoding)]}
    with Peer(_latin1_site) as peer, wirekit.Client(retry=0, event_hooks=hooks) as client:
        resp = client.get(peer.url + "/")
    assert seen  # the hook ran
    assert resp.text == _LATIN1_TEXT


def test_encoding_before_read_on_a_stream_then_text() -> None:
    with Peer(_latin1_site) as peer, wirekit.Client(retry=0) as client:
        with client.stream("GET", peer.url + "/") as resp:
            _ = resp.encoding
            resp.read()
            text = resp.text
    assert text == _LATIN1_TEXT


@pytest.mark.anyio
async def test_async_encoding_in_response_hook() -> None:
    seen: list[str] = []

    async def hook(r: wirekit.Response) -> None:
        seen.append(r.encoding)

    with Peer(_latin1_site) as peer:
        async with wirekit.AsyncClient(retry=0, event_hooks={"response": [hook]}) as client:
            resp = await client.get(peer.url + "/")
    assert resp.text == _LATIN1_TEXT


# -- redirects -------------------------------------------------------------------------------
def _utf8_location_site(req: Seen, peer: Peer) -> bytes:
    if req.target == "/old":
        # Raw UTF-8 in Location: common in the wild (requests decodes it as UTF-8 for this).
        return (
            b"HTTP/1.1 302 Found\r\nLocation: /caf\xc3\xa9?q=\xc3\xa9\r\n"
            b"Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
    return _echo(req, peer)


def test_raw_utf8_location_is_not_double_encoded() -> None:
    with Peer(_utf8_location_site) as peer, wirekit.Client(retry=0) as client:
        resp = client.get(peer.url + "/old")
    assert resp.json()["target"] == "/caf%C3%A9?q=%C3%A9"


# -- params ----------------------------------------------------------------------------------
def test_params_do_not_corrupt_an_existing_non_utf8_query() -> None:
    """Adding ``params=`` must not rewrite the query already in the URL: a legacy
    Latin-1 escape (%E9) became %EF%BF%BD (U+FFFD), i.e. the value was destroyed."""
    with Peer(_echo) as peer, wirekit.Client(retry=0) as client:
        resp = client.get(peer.url + "/search?q=caf%E9", params={"page": "2"})
    target = resp.json()["target"]
    assert target.startswith("/search?q=caf%E9")
    assert "page=2" in target


def test_client_params_do_not_corrupt_request_query() -> None:
    with Peer(_echo) as peer, wirekit.Client(retry=0, params={"api": "1"}) as client:
        resp = client.get(peer.url + "/search?q=caf%E9")
    assert "q=caf%E9" in resp.json()["target"]


# -- bodies ----------------------------------------------------------------------------------
def test_bytes_values_in_form_data_are_not_sent_as_python_repr() -> None:
    """requests form-encodes bytes values as their bytes; here they became "b'...'"."""
    seen: list[bytes] = []

    def handler(request: wirekit.Request) -> wirekit.Response:
        seen.append(b"".join(request.content))
        return wirekit.Response(200, content=b"")

    with wirekit.Client(transport=wirekit.MockTransport(handler), retry=0) as client:
        client.post("http://example.test/", data={"k": b"v\xff"})
    assert seen == [b"k=v%FF"]


def test_bytes_values_in_params_are_not_sent_as_python_repr() -> None:
    with Peer(_echo) as peer, wirekit.Client(retry=0) as client:
        resp = client.get(peer.url + "/x", params={"k": b"v"})
    assert resp.json()["target"] == "/x?k=v"


# -- testing transport -----------------------------------------------------------------------
def test_mock_transport_response_without_content() -> None:
    """MockTransport's own docstring: ``Response(204)`` with no ``content=`` must work (as in
    httpx); it raised RuntimeError("this response has an async body")."""
    client = wirekit.Client(transport=wirekit.MockTransport(lambda request: wirekit.Response(204)))
    with client:
        resp = client.get("http://example.test/")
    assert resp.status_code == 204
    assert resp.content == b""


@pytest.mark.anyio
async def test_async_mock_transport_response_without_content() -> None:
    transport = wirekit.MockTransport(lambda request: wirekit.Response(404))
    async with wirekit.AsyncClient(transport=transport) as client:
        resp = await client.get("http://example.test/")
    assert resp.status_code == 404
    assert resp.content == b""


# -- in-process app transports ---------------------------------------------------------------
def _path_echo_wsgi(environ: dict, start_response: object) -> list[bytes]:
    # PEP 3333: PATH_INFO is the decoded path as latin-1 code points of the raw bytes.
    path = environ["PATH_INFO"].encode("latin-1")
    start_response("200 OK", [("Content-Type", "application/octet-stream")])  # type: ignore[operator]
    return [path]


def test_wsgi_transport_path_info_is_latin1_tunnelled_utf8() -> None:
    """A request for /caf%C3%A9 must reach a WSGI app as PEP 3333 says (bytes b"/caf\\xc3\\xa9"
    as latin-1), as it does over the network: Flask routes with non-ASCII paths 404'd."""
    with wirekit.Client(transport=wirekit.WSGITransport(_path_echo_wsgi)) as client:
        resp = client.get("http://app.test/caf%C3%A9")
    assert resp.content == "/café".encode()


def test_wsgi_transport_decodes_the_path_once() -> None:
    with wirekit.Client(transport=wirekit.WSGITransport(_path_echo_wsgi)) as client:
        resp = client.get("http://app.test/files/100%2525")
    assert resp.content == b"/files/100%25"


@pytest.mark.anyio
async def test_asgi_transport_decodes_the_path_once() -> None:
    async def app(scope: dict, receive: object, send: object) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": scope["path"].encode()})  # type: ignore[operator]

    async with wirekit.AsyncClient(transport=wirekit.ASGITransport(app)) as client:
        resp = await client.get("http://app.test/files/100%2525")
    assert resp.content == b"/files/100%25"


def _gzip_wsgi(environ: dict, start_response: object) -> list[bytes]:
    import gzip

    start_response(  # type: ignore[operator]
        "200 OK", [("Content-Encoding", "gzip"), ("Content-Type", "text/plain; charset=utf-8")]
    )
    return [gzip.compress(b"hello world")]


def test_wsgi_transport_undoes_content_encoding_like_the_network() -> None:
    """The client sends Accept-Encoding: gzip, br, zstd; a gzipped answer from an in-process
    app must be decoded as it is over the network (docs: "behave exactly as over the
    network"). It came back as raw gzip bytes."""
    with wirekit.Client(transport=wirekit.WSGITransport(_gzip_wsgi)) as client:
        resp = client.get("http://app.test/")
    assert resp.content == b"hello world"


@pytest.mark.anyio
async def test_asgi_transport_undoes_content_encoding_like_the_network() -> None:
    import gzip

    async def app(scope: dict, receive: object, send: object) -> None:
        await send(  # type: ignore[operator]
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-encoding", b"gzip"), (b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.body", "body": gzip.compress(b"hello world")})  # type: ignore[operator]

    async with wirekit.AsyncClient(transport=wirekit.ASGITransport(app)) as client:
        resp = await client.get("http://app.test/")
    assert resp.content == b"hello world"


# -- headers ---------------------------------------------------------------------------------
def test_none_header_value_does_not_crash_with_attribute_error() -> None:
    """``headers={"User-Agent": None}`` (the requests idiom to drop a default header) was
    accepted by build_request and then crashed on the wire with
    AttributeError: 'NoneType' object has no attribute 'encode'. Either drop the header (as
    requests) or refuse it up front with a TypeError (as httpx)."""
    with Peer(_echo) as peer, wirekit.Client(retry=0) as client:
        try:
            resp = client.get(peer.url + "/", headers={"User-Agent": None})
        except TypeError:
            return  # refused clearly, before sending
        names = [name for name, _ in resp.json()["headers"]]
        assert "user-agent" not in names


# -- retries ---------------------------------------------------------------------------------
def test_retry_after_asctime_date_is_gmt_whatever_the_local_timezone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """RFC 9110 §5.6.7: recipients must accept the asctime HTTP-date form, which is GMT.
    It was read as local time: in New York, "30 s from now" became 5 h (then capped at
    max_retry_after); east of UTC it becomes "in the past" and the retry fires at once."""
    import time

    from wirekit.client.flows import parse_retry_after

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        now = float(int(time.time()))
        value = time.strftime("%a %b %e %H:%M:%S %Y", time.gmtime(now + 30))
        assert parse_retry_after(value, now=now) == pytest.approx(30.0, abs=1.0)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
