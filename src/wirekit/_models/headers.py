"""Case-insensitive, multi-valued, order-keeping HTTP header collection.

Shared by client and server. Names and values are kept as ``str`` (decoded as latin-1, which
round-trips every byte: RFC 9110 §5.5 says field values are octets); validation of what may be
sent on the wire happens once, in the protocol layer (``_proto.http1``), not here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any, TypeAlias, TypeVar, overload

from mypy_extensions import mypyc_attr

from wirekit._compiled import own_abc_registry

__all__ = ["HeaderTypes", "Headers"]

_Str: TypeAlias = str | bytes
HeaderTypes: TypeAlias = (
    "Headers | Mapping[str, str | Sequence[str]] | Mapping[bytes, bytes] | "
    "Iterable[tuple[str, str]] | Iterable[tuple[bytes, bytes]] | None"
)

#: Header names whose values ``repr()`` hides, so logs and tracebacks do not leak secrets.
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})


def _encode(items: list[tuple[str, str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, _, value in items]


def _by_name(items: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """(lower name, value) pairs grouped by name, each name's values in their order."""
    return sorted([(k, v) for _, k, v in items], key=_first)


def _first(pair: tuple[str, str]) -> str:
    return pair[0]


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("latin-1")
    # Refused here, clearly, rather than as an AttributeError when the request is sent.
    raise TypeError(f"header names and values must be str or bytes, not {type(value).__name__}")


_T = TypeVar("_T")


@mypyc_attr(allow_interpreted_subclasses=True)
class Headers(MutableMapping[str, str]):
    """HTTP headers: case-insensitive lookup, repeated names kept, insertion order kept.

    ``headers["Accept"]`` joins repeated values with ``", "`` (RFC 9110 §5.3);
    ``get_list()`` returns them apart, which is what ``Set-Cookie`` needs.

    >>> h = Headers([("Set-Cookie", "a=1"), ("set-cookie", "b=2"), ("Host", "x")])
    >>> h["SET-COOKIE"], h.get_list("set-cookie")
    ('a=1, b=2', ['a=1', 'b=2'])
    >>> h["Accept"] = ["text/html", "application/json"]
    >>> h.multi_items()[-2:]
    [('Accept', 'text/html'), ('Accept', 'application/json')]
    """

    __slots__ = ("_items", "_raw")

    def __init__(self, headers: HeaderTypes | Any = None) -> None:
        # Each entry is (name as given, lower-cased name, value): lookups compare the
        # lower-cased name without re-lowering every entry on every call.
        self._items: list[tuple[str, str, str]] = []
        # The wire form (``raw``) with the item list it encodes: valid while that list is
        # the items. A change replaces the list (never edits it), so a copy shares it, and
        # an encoding stored by a thread that read the items before another thread changed
        # them is never taken for the new items' (a client's default headers are copied
        # into every request, and so is their encoding).
        self._raw: tuple[list[tuple[str, str, str]], list[tuple[bytes, bytes]]] | None = None
        if headers is None:
            return
        if isinstance(headers, Headers):
            # Shared: a change replaces the list, so this is a snapshot even while another
            # thread changes the source.
            items = headers._items
            self._items = items
            # Encoded here on the source, so every later copy (one per request of a client)
            # shares the encoding instead of each copy encoding the same pairs again.
            # (Text that latin-1 cannot carry fails where it is sent, as before, not here.)
            cache = headers._raw
            if cache is None or cache[0] is not items:
                try:
                    cache = (items, _encode(items))
                except UnicodeEncodeError:
                    return
                headers._raw = cache  # tagged: harmless if the source changed meanwhile
            self._raw = cache
            return
        pairs: Iterable[Any] = headers.items() if isinstance(headers, Mapping) else headers
        items = self._items
        for name, value in pairs:
            name = _text(name)
            lower = name.lower()
            if isinstance(value, (list, tuple)):
                items.extend((name, lower, _text(v)) for v in value)
            else:
                items.append((name, lower, _text(value)))

    @classmethod
    def from_raw(cls, raw: Iterable[tuple[bytes, bytes]]) -> Headers:
        """Headers from wire pairs (bytes), in one pass: the client's per-response path."""
        headers = cls()
        items = headers._items
        for raw_name, raw_value in raw:
            name = raw_name.decode("latin-1")
            items.append((name, name.lower(), raw_value.decode("latin-1")))
        return headers

    # -- reading -------------------------------------------------------------------------
    # A name may be bytes, as the constructor and __setitem__ take it: found again by it.
    def __getitem__(self, name: _Str) -> str:
        lower = (name if type(name) is str else _text(name)).lower()
        values = [v for _, k, v in self._items if k == lower]
        if not values:
            raise KeyError(name)
        return values[0] if len(values) == 1 else ", ".join(values)

    @overload
    def get(self, name: _Str) -> str | None: ...

    @overload
    def get(self, name: _Str, default: str | _T) -> str | _T: ...

    def get(self, name: _Str, default: Any = None) -> Any:
        lower = (name if type(name) is str else _text(name)).lower()
        found: str | None = None
        for _, k, v in self._items:
            if k == lower:
                if found is None:
                    found = v
                else:
                    return self[name]
        return default if found is None else found

    def get_list(self, name: _Str) -> list[str]:
        """Every value of ``name``, in order (no comma joining)."""
        lower = (name if type(name) is str else _text(name)).lower()
        return [v for _, k, v in self._items if k == lower]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            if not isinstance(name, bytes):
                return False
            name = name.decode("latin-1")
        lower = name.lower()
        for entry in self._items:  # noqa: SIM110 - a plain loop is cheaper than any(generator)
            if entry[1] == lower:
                return True
        return False

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for name, lower, _ in self._items:
            if lower not in seen:
                seen.add(lower)
                yield name

    def __len__(self) -> int:
        return len({k for _, k, _v in self._items})

    def multi_items(self) -> list[tuple[str, str]]:
        """All (name, value) pairs, repeated names included, in order."""
        return [(n, v) for n, _, v in self._items]

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        """All pairs as bytes (latin-1), ready for the wire (a new list each time)."""
        return list(self._wire())

    def _wire(self) -> list[tuple[bytes, bytes]]:
        """The cached wire pairs (shared: callers must not change the list)."""
        cache = self._raw
        items = self._items
        if cache is None or cache[0] is not items:
            cache = self._raw = (items, _encode(items))
        return cache[1]

    # -- writing -------------------------------------------------------------------------
    def __setitem__(self, name: _Str, value: _Str | Sequence[_Str]) -> None:
        """Replace every value of ``name``; a list value sets repeated headers."""
        # str or bytes, as the constructor takes them: list(b"abc") would be three ints.
        name = _text(name)
        lower = name.lower()
        if isinstance(value, (list, tuple)):
            entries = [(name, lower, _text(v)) for v in value]
        else:
            entries = [(name, lower, _text(value))]  # refuses what is not str or bytes
        new: list[tuple[str, str, str]] = []
        placed = False
        for entry in self._items:
            if entry[1] == lower:
                if not placed:
                    new.extend(entries)
                    placed = True
            else:
                new.append(entry)
        if not placed:
            new.extend(entries)
        self._items = new
        self._raw = None

    def __delitem__(self, name: _Str) -> None:
        lower = (name if type(name) is str else _text(name)).lower()
        kept = [e for e in self._items if e[1] != lower]
        if len(kept) == len(self._items):
            raise KeyError(name)
        self._items = kept
        self._raw = None

    def add(self, name: _Str, value: _Str) -> None:
        """Append one more ``name: value`` (keeps any earlier ones)."""
        name = _text(name)  # bytes kept as bytes would fail only when sent
        self._items = [*self._items, (name, name.lower(), _text(value))]  # never edited
        self._raw = None

    def update(self, other: Any = (), /, **kwargs: str) -> None:
        """Replace the names found in ``other`` (repeats in ``other`` are all kept)."""
        incoming = Headers(other)
        for name in {k for _, k, _v in incoming._items}:
            self.pop(name, None)
        self._items = [*self._items, *incoming._items]
        self._raw = None
        for name, value in kwargs.items():
            self[name] = value

    def copy(self) -> Headers:
        return Headers(self)

    def _lazy_copy(self) -> Headers:
        """A copy for a Request or Response, so the caller's object never changes: unlike
        ``copy()`` it shares the wire form only if already encoded. A request's headers
        usually change before they are sent (Authorization, Cookie) and a response's are
        never sent, so encoding the source here would be wasted (measured: 1.4 µs for a
        four-header response, on every request)."""
        headers = Headers()
        headers._raw = self._raw  # tagged with the items it encodes (see __init__)
        headers._items = self._items  # shared: replaced on a change, never edited
        return headers

    def __copy__(self) -> Headers:
        # A copy like copy(): the item list is shared, never edited in place. A method, not
        # ``__copy__ = copy``: compiled by mypyc, that alias failed with KeyError 'copy'.
        return Headers(self)

    # -- comparison and display ------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            mine, theirs = self._items, other._items
        elif isinstance(other, (Mapping, list, tuple)):
            try:
                theirs = Headers(other)._items
            except (TypeError, ValueError):
                return False
            mine = self._items
        else:
            return NotImplemented
        # Names in any order, but each name's values in theirs (RFC 9110 §5.3: the order
        # of a repeated field is significant; ", ".join of them is its value).
        return _by_name(mine) == _by_name(theirs)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = [(n, "[secure]" if k in SENSITIVE_HEADERS else v) for n, k, v in self._items]
        return f"Headers({shown!r})"


own_abc_registry(Headers)  # see wirekit._compiled: for the compiled build
