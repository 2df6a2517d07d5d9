"""URL parsing, building, joining (RFC 3986 §5.4) and normalisation, as a user sees them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wirekit._models.url import MAX_URL_LENGTH, URL, Origin, QueryParams
from wirekit.errors import InvalidURL, LimitExceeded

BASE = "http://a/b/c/d;p?q"

# RFC 3986 §5.4.1 normal examples.
NORMAL = [
    ("g:h", "g:h"),
    ("g", "http://a/b/c/g"),
    ("./g", "http://a/b/c/g"),
    ("g/", "http://a/b/c/g/"),
    ("/g", "http://a/g"),
    ("//g", "http://g"),
    ("?y", "http://a/b/c/d;p?y"),
    ("g?y", "http://a/b/c/g?y"),
    ("#s", "http://a/b/c/d;p?q#s"),
    ("g#s", "http://a/b/c/g#s"),
    ("g?y#s", "http://a/b/c/g?y#s"),
    (";x", "http://a/b/c/;x"),
    ("g;x", "http://a/b/c/g;x"),
    ("g;x?y#s", "http://a/b/c/g;x?y#s"),
    ("", "http://a/b/c/d;p?q"),
    (".", "http://a/b/c/"),
    ("./", "http://a/b/c/"),
    ("..", "http://a/b/"),
    ("../", "http://a/b/"),
    ("../g", "http://a/b/g"),
    ("../..", "http://a/"),
    ("../../", "http://a/"),
    ("../../g", "http://a/g"),
]

# RFC 3986 §5.4.2 abnormal examples (strict parser: "http:g" stays as it is).
ABNORMAL = [
    ("../../../g", "http://a/g"),
    ("../../../../g", "http://a/g"),
    ("/./g", "http://a/g"),
    ("/../g", "http://a/g"),
    ("g.", "http://a/b/c/g."),
    (".g", "http://a/b/c/.g"),
    ("g..", "http://a/b/c/g.."),
    ("..g", "http://a/b/c/..g"),
    ("./../g", "http://a/b/g"),
    ("./g/.", "http://a/b/c/g/"),
    ("g/./h", "http://a/b/c/g/h"),
    ("g/../h", "http://a/b/c/h"),
    ("g;x=1/./y", "http://a/b/c/g;x=1/y"),
    ("g;x=1/../y", "http://a/b/c/y"),
    ("g?y/./x", "http://a/b/c/g?y/./x"),
    ("g?y/../x", "http://a/b/c/g?y/../x"),
    ("g#s/./x", "http://a/b/c/g#s/./x"),
    ("g#s/../x", "http://a/b/c/g#s/../x"),
    ("http:g", "http:g"),
]


@pytest.mark.parametrize(("reference", "expected"), NORMAL + ABNORMAL)
def test_join_rfc3986_examples(reference: str, expected: str) -> None:
    assert str(URL(BASE).join(reference)) == expected


@pytest.mark.parametrize(
    ("base", "reference", "expected"),
    [
        ("http://h/dir/", "file", "http://h/dir/file"),
        ("http://h/dir", "file", "http://h/file"),
        ("http://h", "file", "http://h/file"),
        ("http://h/dir/", "/root", "http://h/root"),
        ("http://h/dir/", "https://other/x", "https://other/x"),
        ("http://h/dir/", URL("//other:81/y"), "http://other:81/y"),
        ("https://u:p@h:8443/a/b", "c?d=1", "https://u:p@h:8443/a/c?d=1"),
    ],
)
def test_join_trailing_slash_leading_slash_and_absolute(
    base: str, reference: str | URL, expected: str
) -> None:
    assert URL(base).join(reference) == expected


def test_components_of_a_full_url() -> None:
    url = URL("HTTPS://us%40er:p%3Ass@Example.COM:8443/a%2Fb/c%20d?x=1&y=%20#frag%20ment")
    assert url.scheme == "https"
    assert url.username == "us@er"
    assert url.password == "p:ss"
    assert url.host == "example.com"
    assert url.port == 8443
    assert url.effective_port == 8443
    assert url.netloc == "example.com:8443"
    assert url.path == "/a/b/c d"
    assert url.raw_path == "/a%2Fb/c%20d?x=1&y=%20"
    assert url.query == "x=1&y=%20"
    assert url.fragment == "frag ment"
    assert url.origin == Origin("https", "example.com", 8443)
    assert url.is_absolute


def test_percent_2f_stays_distinct_from_slash_on_the_wire() -> None:
    assert URL("http://h/a%2Fb").raw_path == "/a%2Fb"
    assert URL("http://h/a/b").raw_path == "/a/b"
    assert URL("http://h/a%2Fb") != URL("http://h/a/b")


@pytest.mark.parametrize(
    ("text", "port", "effective"),
    [
        ("http://h/", None, 80),
        ("https://h/", None, 443),
        ("ws://h/", None, 80),
        ("wss://h/", None, 443),
        ("http://h:8080/", 8080, 8080),
        ("http://h:/", None, 80),
        ("ftp://h/", None, None),
    ],
)
def test_port_and_effective_port(text: str, port: int | None, effective: int | None) -> None:
    url = URL(text)
    assert url.port == port
    assert url.effective_port == effective


def test_ipv6_host_brackets() -> None:
    url = URL("http://[::1]:8000/x")
    assert url.host == "::1"
    assert url.netloc == "[::1]:8000"
    assert str(url) == "http://[::1]:8000/x"
    assert URL("http://[2001:DB8:0:0::1]/").host == "2001:db8::1"


def test_international_host_is_idna_encoded_and_path_is_percent_encoded() -> None:
    url = URL("http://Bücher.example/ä b?q=ü")
    assert url.host == "xn--bcher-kva.example"
    assert url.raw_path == "/%C3%A4%20b?q=%C3%BC"
    assert url.path == "/ä b"
    assert url.params["q"] == "ü"


def test_empty_path_requests_slash_but_prints_as_given() -> None:
    url = URL("http://example.com")
    assert url.raw_path == "/"
    assert url.path == "/"
    assert str(url) == "http://example.com"
    assert str(url.normalize()) == "http://example.com/"


def test_lone_percent_is_encoded() -> None:
    assert URL("http://h/100%/x%zz").raw_path == "/100%25/x%25zz"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("http://h:99999/", "invalid port '99999' in URL 'http://h:99999/'"),
        ("http://h:8a/", "invalid port '8a'"),
        ("http://[::1/", "unclosed '['"),
        ("http://[zz::1]/", "invalid IPv6 host 'zz::1'"),
        ("http://[::1]x/", "after IPv6 host"),
        ("http://h o/", "invalid host 'h o'"),
        ("http://h/\r\nX-Injected: 1", "control character"),
        ("http://h/\x00", "control character"),
        ("http://a..b..\u2024/", "invalid international host"),
    ],
)
def test_invalid_urls_name_the_bad_part(text: str, message: str) -> None:
    with pytest.raises(InvalidURL) as info:
        URL(text)
    assert message in str(info.value)


def test_error_message_hides_the_password() -> None:
    with pytest.raises(InvalidURL) as info:
        URL("http://user:secret@h:99999/")
    assert "secret" not in str(info.value)
    assert "user:***@h:99999" in str(info.value)


def test_max_url_length_limit() -> None:
    long_path = "http://h/" + "a" * MAX_URL_LENGTH
    with pytest.raises(LimitExceeded) as info:
        URL(long_path)
    assert info.value.limit == "max_url_length"
    assert "max_url_length" in str(info.value)
    assert URL("http://h/" + "a" * 100, max_length=200).path == "/" + "a" * 100
    with pytest.raises(LimitExceeded):
        URL("http://h/" + "a" * 100, max_length=50)


def test_repr_hides_password_but_str_keeps_it() -> None:
    url = URL("https://alice:hunter2@h/")
    assert "hunter2" not in repr(url)
    assert repr(url) == "URL('https://alice:***@h/')"
    assert str(url) == "https://alice:hunter2@h/"


def test_equality_and_hash() -> None:
    url = URL("HTTP://H/p")
    assert url == "http://h/p"
    assert url == URL("http://h/p")
    assert url != "http://h/q"
    assert url != "http://h:99999/"  # invalid other side: unequal, not an exception
    assert len({url, URL("http://h/p"), URL("http://h/q")}) == 2
    assert url.__eq__(42) is NotImplemented


def test_origin_is_hashable_and_uses_effective_port() -> None:
    assert URL("https://h/").origin == URL("https://h:443/x").origin
    assert URL("http://h/").origin != URL("https://h/").origin
    assert {URL("https://h/").origin: 1}[Origin("https", "h", 443)] == 1
    assert URL("https://h/").origin == ("https", "h", 443)


def test_relative_url() -> None:
    url = URL("/path?q=1")
    assert not url.is_absolute
    assert url.is_relative
    assert url.host == ""
    assert url.raw_path == "/path?q=1"


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        (
            "HTTP://Example.COM:80/%7euser/a/./b/../c?%3a%7E#%7e",
            "http://example.com/~user/a/c?%3A~#~",
        ),
        ("https://h:443", "https://h/"),
        ("https://h:8443/", "https://h:8443/"),
        ("http://h/%2f%41", "http://h/%2FA"),
    ],
)
def test_normalize(text: str, normalized: str) -> None:
    assert str(URL(text).normalize()) == normalized


def test_copy_with() -> None:
    url = URL("http://u:p@h:81/a?b=1#c")
    assert str(url.copy_with(scheme="https", port=None)) == "https://u:p@h/a?b=1#c"
    assert str(url.copy_with(path="/x y")) == "http://u:p@h:81/x%20y?b=1#c"
    assert str(url.copy_with(query="z=2", fragment="")) == "http://u:p@h:81/a?z=2#"
    assert str(url.copy_with(username="n@me", password="")) == "http://n%40me@h:81/a?b=1#c"
    assert str(url.copy_with(netloc="[::1]:9")) == "http://u:p@[::1]:9/a?b=1#c"
    assert str(url.copy_with(raw_path="/r%2Fs?t")) == "http://u:p@h:81/r%2Fs?t#c"
    assert str(url.copy_with(params={"k": [1, 2]})) == "http://u:p@h:81/a?k=1&k=2#c"
    with pytest.raises(TypeError, match="unknown URL parts: colour"):
        url.copy_with(colour="red")


@pytest.mark.parametrize(
    ("params", "query"),
    [
        ({"a": "1", "b": [2, 3.5]}, "a=1&b=2&b=3.5"),
        ([("a", "1"), ("a", "2")], "a=1&a=2"),
        ("x=1&y=2", "x=1&y=2"),
        ({"t": True, "f": False, "n": None}, "t=true&f=false&n="),
        ({"sp ace": "a&b=c"}, "sp%20ace=a%26b%3Dc"),
        ({}, ""),
    ],
)
def test_params_argument(params: object, query: str) -> None:
    assert URL("http://h/p", params=params).query == query  # type: ignore[arg-type]


def test_params_are_appended_to_an_existing_query() -> None:
    assert URL("http://h/?a=1", params={"b": "2"}).query == "a=1&b=2"


def test_params_view_and_copy_param_helpers() -> None:
    url = URL("http://h/?a=1&b=2&a=3&empty=")
    params = url.params
    assert params["a"] == "1"
    assert params.get("missing") is None
    assert params.get_list("a") == ["1", "3"]
    assert list(params.items()) == [("a", "1"), ("b", "2"), ("empty", "")]
    assert params.multi_items() == [("a", "1"), ("b", "2"), ("a", "3"), ("empty", "")]
    assert url.copy_set_param("a", 9).query == "a=9&b=2&empty="
    assert url.copy_add_param("c", "x y").query == "a=1&b=2&a=3&empty=&c=x%20y"
    assert url.copy_remove_param("a").query == "b=2&empty="
    assert url.copy_merge_params({"b": 7, "d": 8}).query == "a=1&a=3&empty=&b=7&d=8"
    assert url.query == "a=1&b=2&a=3&empty="  # the original is unchanged
    with pytest.raises(TypeError):
        params["a"] = "x"  # type: ignore[index]


def test_query_params_equality() -> None:
    assert QueryParams("a=1&b=2") == QueryParams({"b": "2", "a": "1"})
    assert QueryParams("a=1") == "a=1"
    assert QueryParams("a=1") != QueryParams("a=2")
    assert len(QueryParams("a=1&a=2&b=3")) == 2


def test_url_from_url_is_a_copy() -> None:
    url = URL("http://h/p")
    assert URL(url) == url
    with pytest.raises(TypeError):
        URL(b"http://h/")  # type: ignore[arg-type]


# -- property tests ----------------------------------------------------------------------
_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_hosts = st.lists(_label, min_size=1, max_size=3).map(".".join)
#: A segment "." or ".." is a dot-segment, which parsing removes (RFC 3986 §5.2.4, as the
#: WHATWG parser does), so it cannot round-trip; every other text can.
_segments = st.lists(
    st.text(min_size=0, max_size=8).filter(lambda s: s not in {".", ".."}), max_size=4
)
_pairs = st.lists(st.tuples(st.text(max_size=6), st.text(max_size=6)), max_size=4)


@settings(deadline=None)
@given(
    scheme=st.sampled_from(["http", "https", "ws"]),
    host=_hosts,
    port=st.none() | st.integers(0, 65535),
    segments=_segments,
    params=_pairs,
)
def test_build_then_parse_round_trips(
    scheme: str, host: str, port: int | None, segments: list[str], params: list[tuple[str, str]]
) -> None:
    netloc = host if port is None else f"{host}:{port}"
    path = "/" + "/".join(segments)
    url = URL(f"{scheme}://{netloc}").copy_with(path=path, params=params)
    again = URL(str(url))
    assert again == url
    assert again.host == host
    assert again.port == port
    assert again.path == path
    assert again.params.multi_items() == [(k, v) for k, v in params]


@settings(deadline=None)
@given(st.text(max_size=40))
def test_parsing_never_fails_unexpectedly(text: str) -> None:
    try:
        url = URL("http://h/" + text)
    except InvalidURL:
        return
    assert URL(str(url)) == url
    assert str(url.normalize().normalize()) == str(url.normalize())


def test_repeated_construction_gives_equal_independent_urls() -> None:
    first = URL("http://cache.test/p?a=1")
    with_params = URL("http://cache.test/p?a=1", params={"b": 2})
    again = URL("http://cache.test/p?a=1")
    assert with_params.query == "a=1&b=2"
    assert again.query == "a=1"  # the params of another construction did not leak in
    assert again == first
    with pytest.raises(LimitExceeded):
        URL("http://cache.test/p?a=1", max_length=10)  # a cached URL still obeys the limit


def test_copy_with_fragment_none_removes_the_fragment() -> None:
    from wirekit import URL

    url = URL("http://h/p?q=1#frag")
    assert str(url.copy_with(fragment=None)) == "http://h/p?q=1"
    assert str(url.copy_with(fragment="x y")) == "http://h/p?q=1#x%20y"


def test_params_merge_from_a_mapping_replaces_keys_and_keeps_repeats() -> None:
    # A dict (a Mapping, iterated by items, not by keys): the compiled build once read it
    # as a list of pairs.
    merged = URL("http://h/?a=1&c=0").copy_merge_params({"b": "2", "a": ["3", "4"]})
    assert str(merged) == "http://h/?c=0&b=2&a=3&a=4"


def test_a_bad_host_keeps_the_reason_as_its_cause() -> None:
    # Also on the compiled build, where a plain `raise ... from` lost the cause.
    with pytest.raises(InvalidURL, match="IPv6") as caught:
        URL("http://[fe80::zz]/")
    assert isinstance(caught.value.__cause__, ValueError)
