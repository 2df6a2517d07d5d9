"""Review of wirekit.URL and QueryParams: tests that failed on the code as reviewed.

(Found by a review of the model API against httpx and the RFCs; fixed since: copy_with
checks scheme, userinfo and port, takes None and bytes for the parts it documents; the param
helpers take any key as QueryParams does; QueryParams == never raises.)
"""

from __future__ import annotations

from typing import Any

import pytest

from wirekit import URL
from wirekit._models.url import QueryParams
from wirekit.errors import InvalidURL, WirekitError

BASE = "https://good.example/api"


@pytest.mark.parametrize(
    "parts",
    [
        {"scheme": "http://evil.example/#"},
        {"scheme": "ht tp"},
        {"scheme": "https:"},
        {"userinfo": "x/evil.example"},
        {"userinfo": "u?x"},
        {"userinfo": "u#x"},
        {"port": "81@evil.example"},
        {"port": "81/x"},
    ],
    ids=lambda parts: "-".join(f"{k}={v}" for k, v in parts.items()),
)
def test_copy_with_scheme_userinfo_or_port_never_changes_host_or_path(
    parts: dict[str, Any],
) -> None:
    """``URL("https://good.example/api").copy_with(scheme="http://evil.example/#")`` gives
    ``http://evil.example/#://good.example/api`` with host ``evil.example``;
    ``copy_with(scheme="ht tp")`` silently gives a *relative* URL whose path is
    ``ht tp://good.example/api`` (host ""); ``copy_with(userinfo="u?x")`` moves the host to
    ``u``; ``copy_with(port="81@evil.example")`` moves it to ``evil.example``. httpx raises
    InvalidURL for a bad scheme (and takes only an int port / bytes userinfo). wirekit
    already refuses the same trick for ``host=`` and ``netloc=`` (tests/models/
    test_models_edges.py), so these three keywords are the remaining holes.

    Cause: src/wirekit/_models/url.py, ``URL.copy_with``: ``scheme``, ``userinfo`` and
    ``port`` go into ``_compose()`` unchecked and the result is re-parsed, so delimiters in
    them become other parts. Fix: raise InvalidURL unless the scheme matches RFC 3986 §3.1
    (``_ALPHA`` then ``_SCHEME_CHARS``); percent-encode userinfo with
    ``_quote_part(userinfo, _USERINFO_SAFE, "userinfo")`` (or refuse "/?#@"); accept a port
    only as an int (or an all-digit str) in 0..65535.
    """
    try:
        url = URL(BASE).copy_with(**parts)
    except InvalidURL:
        return
    assert url.host == "good.example", str(url)
    assert url.path == "/api", str(url)


@pytest.mark.parametrize("part", ["username", "host", "netloc", "path", "raw_path"])
def test_copy_with_none_is_not_a_bare_type_error(part: str) -> None:
    """``url.copy_with(username=None)`` (the natural way to strip credentials before
    logging a URL) raises ``TypeError: quote_from_bytes() expected bytes`` from urllib;
    ``host=None``/``netloc=None``/``path=None`` raise other bare TypeErrors and
    ``raw_path=None`` an AttributeError ('NoneType' object has no attribute 'partition').
    httpx takes None for every one of them (the part is removed), and wirekit itself
    takes None for scheme, password, userinfo, port, query, fragment and params.

    Cause: src/wirekit/_models/url.py, ``URL.copy_with`` passes these values straight to
    ``_quote``/``str.partition``/string concatenation. Fix: treat None as "" (removed) for
    username/path/raw_path/host/netloc, as is done for ``password`` and ``userinfo``, or
    raise InvalidURL/TypeError with a message naming the keyword.
    """
    url = URL("http://user:pw@h.example:81/a?b#c")
    try:
        url.copy_with(**{part: None})
    except WirekitError:
        pass


@pytest.mark.parametrize(
    ("part", "value", "expected"),
    [
        ("query", b"a=1", "http://h.example/a?a=1"),
        ("raw_path", b"/b?c=2", "http://h.example/b?c=2"),
        ("userinfo", b"u:p", "http://u:p@h.example/a?x"),
        ("netloc", b"other.example:8", "http://other.example:8/a?x"),
    ],
)
def test_copy_with_takes_wire_parts_as_bytes(part: str, value: bytes, expected: str) -> None:
    """``url.copy_with(query=b"a=1")``, the only form httpx accepts for ``query``,
    ``raw_path``, ``userinfo`` and ``netloc`` (its docs: "given as bytes"), raises a bare
    ``TypeError: can only concatenate str (not "bytes") to str`` (or "can't concat str to
    bytes", or "a bytes-like object is required") from deep inside wirekit. wirekit's
    docstring says these parts are "taken as on the wire", and it accepts bytes for header
    names/values and for ``params=`` elsewhere.

    Cause: src/wirekit/_models/url.py, ``URL.copy_with`` uses the values as str
    (``_compose``, ``str.partition``, ``"//" + netloc``). Fix: decode bytes for these four
    keywords (ASCII / latin-1, as the wire form) before use, or refuse them with a clear
    TypeError naming the keyword.
    """
    url = URL("http://h.example/a?x")
    assert str(url.copy_with(**{part: value})) == expected


@pytest.mark.parametrize(
    ("method", "args", "expected"),
    [
        ("copy_add_param", (b"info_hash", b"\x12\xff"), "http://h/?info_hash=%12%FF"),
        ("copy_set_param", (b"k", "v"), "http://h/?k=v"),
        ("copy_add_param", (1, 2), "http://h/?1=2"),
        ("copy_set_param", (1, 2), "http://h/?1=2"),
    ],
)
def test_param_helpers_take_bytes_and_non_str_keys(
    method: str, args: tuple[object, object], expected: str
) -> None:
    """docs/models.md ("Params (params= and the copy_*_param helpers) ... Bytes keys and
    values are sent as their octets") promises bytes keys for the copy_*_param helpers, but
    ``URL("http://h/").copy_add_param(b"info_hash", ...)`` raises a bare
    ``TypeError: quote() doesn't support 'errors' for bytes``; so does an int key (httpx
    sends ``?1=2``). ``QueryParams({b"k": "v"})`` and ``QueryParams({1: 2})`` both work, so
    only the helpers are broken.

    Cause: src/wirekit/_models/url.py, ``URL.copy_set_param``/``copy_add_param`` (and
    ``QueryParams.set``/``add``) pass ``key`` unconverted to ``_encode_pairs``. Fix: convert
    the key as ``QueryParams.__init__`` does (``_param_text(key) if isinstance(key, bytes)
    else str(key)``), also in ``copy_remove_param``/``QueryParams.remove``, where an int or
    bytes key today silently removes nothing.
    """
    assert str(getattr(URL("http://h/"), method)(*args)) == expected


def test_copy_remove_param_with_a_bytes_key_removes_it() -> None:
    """``URL("http://h/?k=1&b=2").copy_remove_param(b"k")`` returns the URL unchanged:
    the bytes key is compared with decoded str keys and never matches, so the parameter is
    still sent (httpx: its str() of a non-str key matches ``1``; for bytes the docs above
    promise bytes keys work). Same cause and fix as the test above
    (src/wirekit/_models/url.py, ``URL.copy_remove_param``: convert the key first)."""
    assert str(URL("http://h/?k=1&b=2").copy_remove_param(b"k")) == "http://h/?b=2"  # type: ignore[arg-type]


@pytest.mark.parametrize("other", [[1], ["a=1"], [("a", "1", "x")]])
def test_query_params_equality_never_raises(other: object) -> None:
    """``QueryParams("a=1") == [1]`` raises ``TypeError: cannot unpack non-iterable int
    object`` and ``== ["a=1"]`` raises ``ValueError: too many values to unpack``; ``==``
    must return a bool (so ``params in some_list`` cannot blow up). httpx returns False;
    wirekit's own ``Headers.__eq__`` catches exactly these two errors.

    Cause: src/wirekit/_models/url.py, ``QueryParams.__eq__`` builds ``QueryParams(other)``
    unguarded. Fix: wrap it in ``try/except (TypeError, ValueError): return False`` as
    ``Headers.__eq__`` does.
    """
    assert (QueryParams("a=1") == other) is False
