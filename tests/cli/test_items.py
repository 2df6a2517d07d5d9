"""The httpie-style request items of ``wirekit get|post|...``: separators, escapes, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from wirekit.cli._items import ItemError, RequestItems, parse_item, parse_items


def test_each_kind_of_item_goes_to_its_place(tmp_path: Path) -> None:
    upload = tmp_path / "report.txt"
    upload.write_text("data")
    items = parse_items(
        [
            "X-Token:abc",
            "q==search term",
            "name=ada",
            "age:=36",
            "tags:=[1, 2]",
            "ok:=true",
            f"file@{upload}",
        ]
    )
    assert items.headers == [("X-Token", "abc")]
    assert items.query == [("q", "search term")]
    assert items.fields == [("name", "ada")]
    assert items.json_fields == [("age", 36), ("tags", [1, 2]), ("ok", True)]
    assert items.files == [("file", upload)]
    assert items.has_data


def test_leftmost_separator_wins_and_longer_at_the_same_place() -> None:
    items = parse_items(["url=http://h:80/?a=b", "Referer:http://x/?q=1", "a==b=c", "j:={}"])
    assert items.fields == [("url", "http://h:80/?a=b")]
    assert items.headers == [("Referer", "http://x/?q=1")]
    assert items.query == [("a", "b=c")]
    assert items.json_fields == [("j", {})]


def test_backslash_escapes_separators_in_names_and_values() -> None:
    items = parse_items([r"a\:b=c", r"email\@home=x\=y", r"path\\=v", r"key=\:="])
    assert items.fields == [("a:b", "c"), ("email@home", "x=y"), ("path\\", "v"), ("key", ":=")]
    # A backslash before anything else stays as typed (Windows paths, regexes).
    assert parse_items([r"re=\d+"]).fields == [("re", r"\d+")]


def test_header_value_is_trimmed_and_may_be_empty() -> None:
    items = RequestItems()
    parse_item("Accept:  text/html ", items)
    parse_item("X-Empty:", items)
    assert items.headers == [("Accept", "text/html"), ("X-Empty", "")]
    assert not items.has_data


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("justaword", "has no separator"),
        ("=value", "empty name"),
        ("Bad Name:v", "contains white space"),
        ("n:={oops", "is not valid JSON"),
        ("f@/no/such/file.bin", "does not exist"),
        (r"a\=b", "has no separator"),
    ],
)
def test_malformed_items_are_refused_with_the_reason(item: str, message: str) -> None:
    with pytest.raises(ItemError, match=message):
        parse_items([item])


def test_a_directory_is_not_an_upload(tmp_path: Path) -> None:
    with pytest.raises(ItemError, match="not a file"):
        parse_items([f"f@{tmp_path}"])
