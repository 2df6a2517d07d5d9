"""Request items of ``wirekit get|post|...``, in the httpie style, parsed into request parts.

``Name:Value`` header, ``name==value`` query parameter, ``field=value`` string field,
``field:=json`` raw JSON field, ``field@path`` file upload. A backslash escapes a separator
character (``\\:`` ``\\=`` ``\\@`` ``\\\\``) so names and values may contain it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ItemError", "RequestItems", "check_header", "parse_item", "parse_items"]

# Longest first, so ":=" wins over ":" and "==" over "=" at the same position.
_SEPARATORS = (":=", "==", ":", "=", "@")
_ESCAPABLE = frozenset(":=@\\")


class ItemError(ValueError):
    """A request item could not be understood (a usage error: exit code 2)."""


@dataclass
class RequestItems:
    """What the items ask for, in command-line order."""

    headers: list[tuple[str, str]] = field(default_factory=list)
    query: list[tuple[str, str]] = field(default_factory=list)
    fields: list[tuple[str, str]] = field(default_factory=list)
    json_fields: list[tuple[str, Any]] = field(default_factory=list)
    files: list[tuple[str, Path]] = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        return bool(self.fields or self.json_fields or self.files)


def _split(item: str) -> tuple[str, str, str]:
    """(name, separator, value) at the leftmost unescaped separator, escapes removed."""
    name: list[str] = []
    index = 0
    while index < len(item):
        char = item[index]
        if char == "\\" and index + 1 < len(item) and item[index + 1] in _ESCAPABLE:
            name.append(item[index + 1])
            index += 2
            continue
        for separator in _SEPARATORS:
            if item.startswith(separator, index):
                value = _unescape(item[index + len(separator) :])
                return "".join(name), separator, value
        name.append(char)
        index += 1
    raise ItemError(
        f"request item {item!r} has no separator (use Name:Value, name==value, field=value, "
        "field:=json or field@file; a backslash escapes a separator)"
    )


def _unescape(text: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(text):
        if text[index] == "\\" and index + 1 < len(text) and text[index + 1] in _ESCAPABLE:
            out.append(text[index + 1])
            index += 2
        else:
            out.append(text[index])
            index += 1
    return "".join(out)


#: RFC 9110 §5.6.2 token characters (a header name).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: RFC 9110 §5.5: no CR, LF, NUL or other control bytes in a field value (tab is allowed).
_FORBIDDEN_IN_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def check_header(name: str, value: str, item: str) -> None:
    """Raise :class:`ItemError` unless ``name: value`` can be sent as a header line."""
    # RFC 9110 §5.6.2: a field name is a token; a space would be sent as garbage.
    if any(char.isspace() for char in name):
        raise ItemError(f"header name {name!r} in {item!r} contains white space")
    if not _TOKEN.fullmatch(name):
        raise ItemError(
            f"header name {name!r} in {item!r} is not a token (letters, digits and "
            "!#$%&'*+-.^_`|~ only)"
        )
    if _FORBIDDEN_IN_VALUE.search(value):
        # CR/LF would split the header (header injection); other controls are invalid.
        raise ItemError(f"header value in {item!r} contains a line break or control byte")
    try:
        value.encode("latin-1")  # the bytes a header line carries (RFC 9110 §5.5)
    except UnicodeEncodeError:
        raise ItemError(
            f"header value in {item!r} has characters outside Latin-1, which a header "
            "cannot carry (encode them first, e.g. percent-encoding)"
        ) from None


def _not_json_constant(text: str) -> Any:
    # json.loads takes NaN, Infinity and -Infinity, which JSON (RFC 8259 §6) does not have.
    raise ValueError(f"{text} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: too large for a float, read as infinity
        raise ValueError(f"{text} is too large a number")
    return value


def _json_value(name: str, value: str) -> Any:
    try:
        return json.loads(value, parse_constant=_not_json_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise ItemError(f"field {name!r}: {value!r} is not valid JSON ({exc.msg})") from None
    except ValueError as exc:
        raise ItemError(f"field {name!r}: {value!r} is not valid JSON ({exc})") from None


def parse_item(item: str, into: RequestItems) -> None:
    """Parse one item and add it to ``into``; raises :class:`ItemError` when malformed."""
    name, separator, value = _split(item)
    if not name:
        raise ItemError(f"request item {item!r} has an empty name before {separator!r}")
    if separator == ":":
        value = value.strip()
        check_header(name, value, item)
        into.headers.append((name, value))
    elif separator == "==":
        into.query.append((name, value))
    elif separator == "=":
        into.fields.append((name, value))
    elif separator == ":=":
        into.json_fields.append((name, _json_value(name, value)))
    else:
        path = Path(value).expanduser()
        if not path.is_file():
            raise ItemError(f"field {name!r}: file {value!r} does not exist or is not a file")
        into.files.append((name, path))


def parse_items(items: list[str]) -> RequestItems:
    """Parse every item, in order."""
    parsed = RequestItems()
    for item in items:
        parse_item(item, parsed)
    return parsed
