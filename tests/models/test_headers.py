"""Headers: case-insensitive, multi-valued, ordered; secrets hidden from repr."""

from __future__ import annotations

from collections.abc import MutableMapping

import pytest

from wirekit import Headers


def test_lookup_is_case_insensitive_and_repeats_join_with_commas() -> None:
    headers = Headers([("Accept", "text/html"), ("accept", "application/json"), ("Host", "h")])
    assert headers["ACCEPT"] == "text/html, application/json"
    assert headers.get_list("Accept") == ["text/html", "application/json"]
    assert headers.get("host") == "h"
    assert headers.get("missing", "default") == "default"
    assert "HOST" in headers
    assert "missing" not in headers
    assert 3 not in headers
    with pytest.raises(KeyError):
        headers["missing"]


def test_order_and_original_case_are_kept() -> None:
    headers = Headers({"X-B": "2", "x-a": "1"})
    headers.add("X-B", "3")
    assert headers.multi_items() == [("X-B", "2"), ("x-a", "1"), ("X-B", "3")]
    assert list(headers) == ["X-B", "x-a"]
    assert len(headers) == 2
    assert headers.raw == [(b"X-B", b"2"), (b"x-a", b"1"), (b"X-B", b"3")]


def test_setting_replaces_every_value_in_place_and_a_list_repeats() -> None:
    headers = Headers([("A", "1"), ("B", "2"), ("a", "3")])
    headers["a"] = ["x", "y"]
    assert headers.multi_items() == [("a", "x"), ("a", "y"), ("B", "2")]
    del headers["A"]
    assert headers.multi_items() == [("B", "2")]
    with pytest.raises(KeyError):
        del headers["A"]


def test_update_replaces_named_headers_and_keeps_their_repeats() -> None:
    headers = Headers({"User-Agent": "a", "Accept": "*/*"})
    headers.update([("accept", "text/html"), ("Accept", "text/plain")], Extra="1")
    assert headers.get_list("accept") == ["text/html", "text/plain"]
    assert headers["extra"] == "1"
    assert headers["user-agent"] == "a"


def test_bytes_input_and_from_raw_decode_as_latin1() -> None:
    raw = [(b"Content-Type", b"text/plain"), (b"X-Name", "café".encode("latin-1"))]
    assert Headers(raw)["x-name"] == "café"
    from_raw = Headers.from_raw(raw)
    assert from_raw == Headers(raw)
    assert from_raw.raw == raw


def test_equality_ignores_case_and_order_but_not_values() -> None:
    assert Headers({"A": "1", "b": "2"}) == Headers([("B", "2"), ("a", "1")])
    assert Headers({"A": "1"}) != Headers({"A": "2"})
    assert Headers({"A": "1"}) == {"a": "1"}


def test_copy_is_independent() -> None:
    original = Headers({"A": "1"})
    copy = original.copy()
    copy["A"] = "2"
    assert original["A"] == "1"


def test_repr_hides_credentials() -> None:
    headers = Headers({"Authorization": "Bearer secret", "Cookie": "s=1", "Accept": "*/*"})
    text = repr(headers)
    assert "secret" not in text
    assert "s=1" not in text
    assert "*/*" in text


def test_raw_follows_every_change_and_is_a_fresh_list_each_time() -> None:
    headers = Headers({"Accept": "*/*"})
    first = headers.raw
    first.append((b"X-Mine", b"1"))  # the caller's list: never seen by the next call
    assert headers.raw == [(b"Accept", b"*/*")]
    copy = headers.copy()
    headers.add("X-A", "1")
    assert headers.raw == [(b"Accept", b"*/*"), (b"X-A", b"1")]
    assert copy.raw == [(b"Accept", b"*/*")]
    headers["Accept"] = "text/html"
    assert headers.raw == [(b"Accept", b"text/html"), (b"X-A", b"1")]
    del headers["x-a"]
    assert headers.raw == [(b"Accept", b"text/html")]
    headers.update({"X-B": "2"})
    assert headers.raw == [(b"Accept", b"text/html"), (b"X-B", b"2")]
    assert headers.pop("x-b") == "2"
    assert headers.raw == [(b"Accept", b"text/html")]


def test_copy_of_text_latin1_cannot_carry_works_and_fails_only_when_encoded() -> None:
    # Copies share the source's encoding when it has one; text that has none must still
    # copy (and read back) fine, failing only where the wire form is asked for.
    original = Headers({"X-Price": "5 €"})
    copy = original.copy()
    assert copy["x-price"] == "5 €"
    with pytest.raises(UnicodeEncodeError):
        copy.raw  # noqa: B018


def test_copy_module_copies_are_independent() -> None:
    import copy

    original = Headers({"A": "1"})
    duplicate = copy.copy(original)
    duplicate.add("B", "2")
    assert original.raw == [(b"A", b"1")]
    assert original.multi_items() == [("A", "1")]


def test_a_dict_is_not_an_instance_of_headers() -> None:
    # On the compiled build Headers once shared MutableMapping's ABC registry, where dict is
    # registered, so isinstance({}, Headers) was True and a dict took the Headers fast path.
    from wirekit._models.url import QueryParams

    assert not isinstance({}, Headers)
    assert not isinstance({}, QueryParams)
    assert isinstance(Headers(), MutableMapping)
    assert Headers({"A": "1"}) == Headers([("a", "1")])
