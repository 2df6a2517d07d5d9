"""What the source does so that its mypyc-compiled build (scripts/compile.py) behaves alike.

See also ``wirekit.errors.chained`` (mypyc ignores ``raise ... from``).
"""

from __future__ import annotations

import abc
from typing import TypeVar

_Class = TypeVar("_Class", bound=type)


def own_abc_registry(cls: _Class) -> _Class:
    """Give ``cls``, a subclass of an ABC such as ``Mapping``, a registry of its own.

    Call it after the class statement (mypyc compiles no class decorator but dataclass).

    A class compiled by mypyc does not go through ``ABCMeta.__new__``, so it shares its base's
    registry of virtual subclasses: ``isinstance({}, Headers)`` came out True (``dict`` is
    registered as a ``MutableMapping``). Harmless on the pure build, where the class already
    has its own (empty) one. ``abc._abc_init`` is what ``ABCMeta.__new__`` itself calls.
    """
    getattr(abc, "_abc_init")(cls)  # noqa: B009 (private to abc, absent from its stubs)
    return cls
