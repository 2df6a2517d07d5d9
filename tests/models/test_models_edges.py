"""Model edges found by a review: each test failed before its fix."""

from __future__ import annotations

import pytest

import wirekit
from wirekit import URL, Headers, MockTransport, Request, Response
from wirekit.errors import (
    DecodingError,
    HTTPStatusError,
    InvalidURL,
    JSONDecodeError,
    LimitExceeded,
)


# -- Request must not share (and mutate) the caller's Headers -------------------------------
def _recording_client(seen: list[tuple[str, str | None, str | None]]) -> wirekit.Client:
    def handler(request: Request) -> Response:
        seen.append(
            (request.url.host, request.headers.get("authorization"), request.headers.get("cookie"))
        )
        headers = {"Set-Cookie": "sid=secret"} if request.url.host == "a.example" else {}
        return Response(200, headers=headers)

    return wirekit.Client(transport=MockTransport(handler))


def test_sending_a_request_does_not_add_auth_to_the_callers_headers() -> None:
    seen: list[tuple[str, str | None, str | None]] = []
    shared = Headers({"Accept": "application/json"})
    with _recording_client(seen) as client:
        client.send(Request("GET", "https://a.example/", headers=shared), auth=("alice", "pw"))
        # A second request, to another host, built from the same headers and sent without auth.
        client.send(Request("GET", "https://b.example/", headers=shared))
    assert "authorization" not in shared
    assert seen[1] == ("b.example", None, None)  # alice's credentials went to b.example


def test_a_cookie_from_the_jar_does_not_follow_shared_headers_to_another_host() -> None:
    seen: list[tuple[str, str | None, str | None]] = []
    shared = Headers({"Accept": "application/json"})
    with _recording_client(seen) as client:
        for url in ["https://a.example/", "https://a.example/", "https://b.example/"]:
            client.send(Request("GET", url, headers=shared))
    assert seen[1][2] == "sid=secret"
    assert seen[2] == ("b.example", None, None)  # a.example's session cookie sent to b.example


# -- Headers: bytes values through __setitem__ / add ------------------------------------------
def test_setting_a_bytes_header_value_sets_one_header() -> None:
    headers = Headers()
    headers["X-Token"] = b"abc"  # the constructor takes bytes values; so must item assignment
    assert headers.multi_items() == [("X-Token", "abc")]
    assert headers.raw == [(b"X-Token", b"abc")]


def test_a_response_does_not_share_the_callers_headers() -> None:
    shared = Headers({"Content-Type": "text/plain"})
    response = Response(200, headers=shared)
    response.headers["X-Added"] = "1"
    assert "x-added" not in shared


def test_adding_a_bytes_header_value_can_be_sent() -> None:
    headers = Headers()
    headers.add("X-Token", b"abc")
    assert headers.raw == [(b"X-Token", b"abc")]


def test_a_client_default_header_set_as_bytes_is_sent() -> None:
    seen: list[list[tuple[bytes, bytes]]] = []

    def handler(request: Request) -> Response:
        seen.append(request.headers.raw)
        return Response(200)

    with wirekit.Client(transport=MockTransport(handler)) as client:
        client.headers["X-Token"] = b"abc"
        client.get("http://h/")
    assert seen[0].count((b"X-Token", b"abc")) == 1


# -- URL.copy_with: a host is a host --------------------------------------------------------
@pytest.mark.parametrize(
    "host", ["evil.example#.good.example", "evil.example/.good.example", "x@good.example"]
)
def test_copy_with_host_never_turns_into_another_host_or_path(host: str) -> None:
    url = URL("https://good.example/api")
    try:
        result = url.copy_with(host=host)
    except InvalidURL:
        return  # refusing the host is fine
    # Not fine: part of the host silently becomes a fragment, a path or userinfo.
    assert result.path == "/api"
    assert result.fragment == ""
    assert result.userinfo == ""


def test_copy_with_netloc_does_not_drop_a_path_silently() -> None:
    # Was: URL('https://h:8/api'), "/evil" silently gone. A netloc has no "/": refuse it.
    url = URL("https://good.example/api")
    with pytest.raises(InvalidURL, match="h:8/evil"):
        url.copy_with(netloc="h:8/evil")
    for netloc in ["user@h:8", "h:8?q", "h:8#"]:
        with pytest.raises(InvalidURL):
            url.copy_with(netloc=netloc)
    # What a host and a netloc may hold still works.
    assert str(url.copy_with(host="Other.EXAMPLE")) == "https://other.example/api"
    assert str(url.copy_with(host="::1")) == "https://[::1]/api"
    assert str(url.copy_with(netloc="h:8")) == "https://h:8/api"


# -- Passwords in error messages -------------------------------------------------------------
def test_an_invalid_url_error_hides_a_password_containing_at_sign() -> None:
    # The parser takes the last "@" as the end of the userinfo (as browsers and httpx do),
    # so "p@ssw0rd" is the password; the error message must not show any of it.
    with pytest.raises(InvalidURL) as info:
        URL("http://admin:p@ssw0rd@db.example:bad/")
    assert "ssw0rd" not in str(info.value)


def test_a_too_long_url_error_hides_the_password() -> None:
    token = "T" * 40 + "SECRETTAIL"
    with pytest.raises(LimitExceeded) as info:
        URL(f"https://user:{token}@api.example.com/search?q=x", max_length=50)
    assert "TTTTTTTT" not in str(info.value)


# -- Response.json() errors --------------------------------------------------------------------
def test_invalid_json_is_a_value_error_as_with_requests_and_httpx() -> None:
    response = Response(200, content=b"<html>", request=Request("GET", "http://h/"))
    with pytest.raises(ValueError):  # requests and httpx: json.JSONDecodeError (a ValueError)
        response.json()


def test_invalid_json_in_a_hand_built_response_is_a_decoding_error() -> None:
    response = Response(200, content=b"<html>")  # e.g. in a MockTransport handler's test
    with pytest.raises((ValueError, wirekit.errors.DecodingError)) as info:
        response.json()
    assert not isinstance(info.value, RuntimeError)


def test_invalid_json_is_still_a_wirekit_decoding_error_and_hides_the_password() -> None:
    request = Request("GET", "http://alice:s3cret@h/data")
    with pytest.raises(JSONDecodeError) as info:
        Response(200, content=b"<html>", request=request).json()
    assert isinstance(info.value, DecodingError)
    assert isinstance(info.value, ValueError)
    assert "s3cret" not in str(info.value)


# -- Reason phrases ------------------------------------------------------------------------
@pytest.mark.parametrize("status", [402, 406, 410, 412, 415, 418, 422, 423, 426, 451, 511])
def test_a_response_without_reason_gets_the_standard_phrase(status: int) -> None:
    response = Response(status, request=Request("POST", "http://h/items"))
    assert response.reason  # "<Response [422 ]>" and "client error '422 ' for POST ..." now
    with pytest.raises(wirekit.errors.HTTPStatusError) as info:
        response.raise_for_status()
    assert f"'{status} '" not in str(info.value)


# -- Query parameters given as bytes ----------------------------------------------------------
def test_bytes_param_values_are_sent_as_their_octets() -> None:
    # requests sends ?info_hash=%12%FF%00 (the classic BitTorrent tracker call), and wirekit's
    # own form encoder does the same for data=; params= raises UnicodeDecodeError instead.
    url = URL("http://tracker.example/announce", params={"info_hash": b"\x12\xff\x00"})
    assert str(url) == "http://tracker.example/announce?info_hash=%12%FF%00"
    assert str(url.copy_set_param("port", 6881)).endswith("?info_hash=%12%FF%00&port=6881")


# -- Charset labels a peer sends that Python knows but that are not charsets -------------------
class _Body:
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._chunks)

    def close(self) -> None:
        pass


@pytest.mark.parametrize("label", ["undefined", "idna"])
def test_text_never_raises_a_bare_unicode_error_for_a_peers_charset(label: str) -> None:
    headers = {"Content-Type": f"text/plain; charset={label}"}
    response = Response(200, headers=headers, content=b"caf\xc3\xa9")
    try:
        text = response.text
    except wirekit.errors.DecodingError:
        return  # a wirekit error naming the charset is acceptable
    assert isinstance(text, str)


@pytest.mark.parametrize("label", ["undefined", "idna"])
def test_iter_text_never_raises_a_bare_unicode_error_for_a_peers_charset(label: str) -> None:
    headers = {"Content-Type": f"text/plain; charset={label}"}
    response = Response(
        200, headers=headers, stream=_Body([b"caf\xc3\xa9"]), request=Request("GET", "http://h/")
    )
    try:
        text = "".join(response.iter_text())
    except wirekit.errors.DecodingError:
        return
    assert isinstance(text, str)


def test_a_charset_set_by_hand_that_cannot_decode_is_a_decoding_error() -> None:
    response = Response(200, content=b"caf\xc3\xa9")
    response.encoding = "idna"
    with pytest.raises(DecodingError, match="idna"):
        response.text  # noqa: B018 - the property is what raises


def test_a_unicode_escape_charset_does_not_rewrite_backslash_escapes() -> None:
    # "unicode_escape" is a Python codec, not a charset: a peer naming it must not make
    # ".text" turn the six characters \u003c into "<".
    headers = {"Content-Type": "text/html; charset=unicode_escape"}
    response = Response(200, headers=headers, content=b'{"html": "\\u003cscript\\u003e"}')
    assert "<script>" not in response.text


# -- copy_set_param / copy_add_param / copy_remove_param rewrite the rest of the query ---------
@pytest.mark.parametrize(
    ("method", "args", "expected"),
    [
        ("copy_set_param", ("page", 2), "http://h/s?q=caf%E9&flag&page=2"),
        ("copy_add_param", ("x", 1), "http://h/s?q=caf%E9&flag&page=1&x=1"),
        ("copy_remove_param", ("page",), "http://h/s?q=caf%E9&flag"),
    ],
)
def test_param_helpers_keep_the_other_pairs_as_written(
    method: str, args: tuple[object, ...], expected: str
) -> None:
    # copy_merge_params keeps "a legacy %E9, a bare flag" as written (its docstring); the other
    # helpers turn %E9 into %EF%BF%BD (U+FFFD): the legacy server then searches for "caf?".
    url = URL("http://h/s?q=caf%E9&flag&page=1")
    assert str(getattr(url, method)(*args)) == expected


def test_param_helpers_keep_a_bare_key_and_their_own_behaviour() -> None:
    assert str(URL("http://h/s?flag&a=1").copy_remove_param("a")) == "http://h/s?flag"
    url = URL("http://h/s?a=1&b=2&a=3")
    assert str(url.copy_set_param("a", "x y")) == "http://h/s?a=x%20y&b=2"
    assert str(url.copy_add_param("c")) == "http://h/s?a=1&b=2&a=3&c="
    assert str(url.copy_remove_param("a")) == "http://h/s?b=2"
    assert str(URL("http://h/s?a=1").copy_remove_param("a")) == "http://h/s"
    assert str(URL("http://h/s").copy_add_param("a", True)) == "http://h/s?a=true"


def test_raise_for_status_hides_a_password_in_the_url() -> None:
    request = Request("GET", "http://user:s3cret@example.test/x")
    response = Response(500, request=request)
    with pytest.raises(HTTPStatusError) as caught:
        response.raise_for_status()
    assert "s3cret" not in str(caught.value)
    assert "example.test/x" in str(caught.value)
