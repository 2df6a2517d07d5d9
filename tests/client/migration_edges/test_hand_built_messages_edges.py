"""Requests, responses and cookie jars built by hand, as httpx and requests users build them.

(Found by the session-17 review of httpx/requests migration idioms; fixed since: a
hand-built ``Request`` takes ``content=`` bytes, str, a file or an iterator (and ``data=``,
``files=``, ``json=``, ``params=``) as ``client.build_request`` does, and has ``read()``;
``Response`` takes ``content=`` as a str or an iterable of bytes, and ``text=``/``json=``;
``Cookies`` (so ``Client(cookies=)`` and a request's ``cookies=``) take (name, value) pairs
and a stdlib ``http.cookiejar.CookieJar``, keeping each cookie's scope. Each failed with a
TypeError or AttributeError from inside wirekit.)
"""

from __future__ import annotations

import hashlib
import http.cookiejar
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import wirekit
from tests.client.conftest import HashingServer


def _stdlib_cookie(
    name: str, value: str, domain: str, *, domain_specified: bool = False, **extra: Any
) -> http.cookiejar.Cookie:
    options: dict[str, Any] = {
        "version": 0, "name": name, "value": value, "port": None, "port_specified": False,
        "domain": domain, "domain_specified": domain_specified,
        "domain_initial_dot": domain.startswith("."), "path": "/", "path_specified": True,
        "secure": False, "expires": None, "discard": True, "comment": None,
        "comment_url": None, "rest": {},
    }  # fmt: skip
    options.update(extra)
    return http.cookiejar.Cookie(**options)


def _cookie_echo(**options: Any) -> wirekit.Client:
    def handler(request: wirekit.Request) -> wirekit.Response:
        return wirekit.Response(200, content=(request.headers.get("cookie") or "").encode())

    return wirekit.Client(transport=wirekit.MockTransport(handler), **options)


# -- a Request built by hand --------------------------------------------------------------


def test_a_hand_built_request_with_bytes_content_is_sent_with_its_length(
    hashing_server: HashingServer,
) -> None:
    """``client.send(Request("POST", url, content=b"payload"))``, httpx's idiom: the bytes
    go out with ``Content-Length: 7`` (it failed: 'bytes' object has no attribute
    'needs_event_loop')."""
    request = wirekit.Request("POST", hashing_server.url + "/upload", content=b"payload")
    with wirekit.Client() as client:
        seen = client.send(request).json()
    assert seen["length"] == 7
    assert seen["sha256"] == hashlib.sha256(b"payload").hexdigest()
    assert dict(seen["headers"])["content-length"] == "7"


@pytest.mark.parametrize(
    ("options", "body", "content_type"),
    [
        ({"content": "héllo"}, "héllo".encode(), None),
        ({"json": {"a": [1, "é"]}}, '{"a":[1,"é"]}'.encode(), "application/json"),
        ({"data": {"k": ["1", "2"]}}, b"k=1&k=2", "application/x-www-form-urlencoded"),
        ({"content": iter([b"ab", b"cd"])}, b"abcd", None),
    ],
    ids=["str", "json", "form", "iterator"],
)
def test_a_hand_built_request_takes_the_body_arguments_of_client_request(
    options: dict[str, Any], body: bytes, content_type: str | None
) -> None:
    """``Request(..., json=/data=/content=)`` makes the body and its headers as
    ``client.request`` does, and ``read()`` gives the bytes (twice: a streamed body is kept)."""
    request = wirekit.Request("POST", "http://service.test/", params={"v": "2"}, **options)
    assert str(request.url) == "http://service.test/?v=2"
    assert request.read() == body
    assert request.read() == body
    assert request.headers.get("content-type") == content_type
    if "iterator" not in repr(options):
        assert request.headers.get("content-length") == str(len(body))


def test_a_mock_handler_reads_the_request_body_it_was_sent() -> None:
    """In a MockTransport handler ``request.read()`` gives the body, as in httpx."""
    seen: list[Any] = []

    def handler(request: wirekit.Request) -> wirekit.Response:
        seen.append(json.loads(request.read()))
        return wirekit.Response(204)

    with wirekit.Client(transport=wirekit.MockTransport(handler)) as client:
        client.post("http://service.test/", json={"n": 1})
    assert seen == [{"n": 1}]


@pytest.mark.anyio
async def test_aread_reads_an_async_iterator_body_once_and_keeps_it() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b"cd"

    request = wirekit.Request("PUT", "http://service.test/", content=chunks())
    with pytest.raises(TypeError, match="aread"):
        request.read()
    assert await request.aread() == b"abcd"
    assert request.read() == b"abcd"


def test_a_hand_built_request_refuses_two_bodies_by_name() -> None:
    with pytest.raises(TypeError, match="only one of"):
        wirekit.Request("POST", "http://service.test/", content=b"x", json={"a": 1})


# -- a Response built by hand (a MockTransport handler's answer) --------------------------


def _answer(response: wirekit.Response) -> wirekit.Response:
    with wirekit.Client(transport=wirekit.MockTransport(lambda request: response)) as client:
        return client.get("http://service.test/")


def test_a_response_with_str_content_is_utf8() -> None:
    """``Response(200, content="héllo")``: UTF-8, as httpx encodes it (it failed: 'string
    argument without an encoding')."""
    response = _answer(wirekit.Response(200, content="héllo"))
    assert response.content == "héllo".encode()


def test_a_response_with_text_or_json_sets_its_content_type() -> None:
    text = _answer(wirekit.Response(200, text="héllo"))
    assert (text.text, text.headers["content-type"]) == ("héllo", "text/plain; charset=utf-8")
    data = _answer(wirekit.Response(201, json={"id": 7, "name": "é"}))
    assert (data.json(), data.headers["content-type"]) == (
        {"id": 7, "name": "é"},
        "application/json",
    )
    with pytest.raises(TypeError, match="only one of"):
        wirekit.Response(200, text="a", json={})


def test_a_response_with_iterator_content_is_streamed() -> None:
    """``Response(200, content=iter([...]))`` streams the chunks (it failed: 'bytes' object
    cannot be interpreted as an integer)."""
    response = _answer(wirekit.Response(200, content=iter([b"data: 1\n", b"data: 2\n"])))
    assert response.content == b"data: 1\ndata: 2\n"
    with (
        wirekit.Client(
            transport=wirekit.MockTransport(
                lambda request: wirekit.Response(200, content=iter([b"data: 1\n", b"data: 2\n"]))
            )
        ) as client,
        client.stream("GET", "http://service.test/") as streamed,
    ):
        assert list(streamed.iter_lines()) == ["data: 1", "data: 2"]


def test_a_response_iterator_of_other_things_than_bytes_is_refused_by_name() -> None:
    """A list of ints used to be taken silently as the bytes they number."""
    with pytest.raises(TypeError, match="gave a int, not bytes"):
        _answer(wirekit.Response(200, content=[104, 105]))  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_a_response_with_async_iterator_content_streams_to_the_async_client() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"a"
        yield b"b"

    async with wirekit.AsyncClient(
        transport=wirekit.MockTransport(lambda request: wirekit.Response(200, content=chunks()))
    ) as client:
        assert (await client.get("http://service.test/")).content == b"ab"


# -- cookies= forms -----------------------------------------------------------------------


def test_client_cookies_as_a_list_of_pairs() -> None:
    """``Client(cookies=[("a", "1"), ("b", "2")])`` as httpx takes it (it failed:
    'replace() should be called on dataclass instances')."""
    assert _cookie_echo(cookies=[("a", "1"), ("b", "2")]).get("http://service.test/").text == (
        "a=1; b=2"
    )


def test_a_stdlib_cookiejar_keeps_each_cookies_scope() -> None:
    """A stdlib ``CookieJar`` (a MozillaCookieJar loaded from a file, requests' jar) as
    ``Client(cookies=)``, as the ``client.cookies`` setter, or as a request's ``cookies=``:
    its cookies are sent, each to the hosts it was for (they failed with TypeErrors)."""
    jar = http.cookiejar.CookieJar()
    jar.set_cookie(_stdlib_cookie("sid", "abc", "service.test"))
    jar.set_cookie(_stdlib_cookie("other", "x", "other.test"))
    jar.set_cookie(_stdlib_cookie("wide", "w", ".example.test", domain_specified=True))
    assert _cookie_echo(cookies=jar).get("http://service.test/").text == "sid=abc"
    client = _cookie_echo()
    client.cookies = jar  # type: ignore[assignment]
    assert client.get("http://www.example.test/").text == "wide=w"
    assert _cookie_echo().get("http://service.test/", cookies=jar).text == "sid=abc"
    # A host-only cookie (no Domain attribute) is not sent to a subdomain.
    assert _cookie_echo(cookies=jar).get("http://sub.service.test/").text == ""


def test_a_stdlib_cookies_secure_and_httponly_flags_are_kept() -> None:
    jar = http.cookiejar.CookieJar()
    jar.set_cookie(_stdlib_cookie("s", "1", "service.test", secure=True, rest={"HttpOnly": None}))
    kept = next(iter(wirekit.Cookies(jar)))
    assert (kept.secure, kept.http_only, kept.host_only) == (True, True, True)
    assert _cookie_echo(cookies=jar).get("http://service.test/").text == ""  # not over http
    assert _cookie_echo(cookies=jar).get("https://service.test/").text == "s=1"


def test_cookies_of_another_kind_are_refused_by_name() -> None:
    with pytest.raises(TypeError, match="sequence of int"):
        wirekit.Cookies([1, 2])  # type: ignore[list-item]


def test_a_response_of_another_kind_of_content_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="bytes, a str or an iterable of bytes, not int"):
        wirekit.Response(200, content=5)  # type: ignore[arg-type]


def test_a_streamed_handler_answer_closed_early_closes_its_generator() -> None:
    """Closing a response streamed from a generator ends the generator (its ``finally``
    runs), as closing a network response frees its connection."""
    finished: list[str] = []

    def events() -> Iterator[bytes]:
        try:
            yield b"data: 1\n"
            yield b"data: 2\n"
        finally:
            finished.append("closed")

    handler = lambda request: wirekit.Response(200, content=events())  # noqa: E731
    with (
        wirekit.Client(transport=wirekit.MockTransport(handler)) as client,
        client.stream("GET", "http://service.test/") as response,
    ):
        assert next(response.iter_bytes()) == b"data: 1\n"
    assert finished == ["closed"]


def test_a_stdlib_cookies_expiry_and_samesite_are_kept() -> None:
    jar = http.cookiejar.CookieJar()
    jar.set_cookie(
        _stdlib_cookie("s", "1", "service.test", expires=4_102_444_800, rest={"SameSite": "Lax"})
    )
    kept = next(iter(wirekit.Cookies(jar)))
    assert (kept.expires, kept.same_site) == (4_102_444_800.0, "Lax")
