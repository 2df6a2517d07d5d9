"""The default backend and resolver names, sync and async, in one place.

Generated sync client code (``scripts/unasync.py``) turns ``AsyncDefaultBackend`` into
``DefaultBackend``, so both spellings must resolve here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["AsyncDefaultBackend", "AsyncDefaultResolver", "DefaultBackend", "DefaultResolver"]

if TYPE_CHECKING:  # pragma: no cover
    from wirekit._io.asyncio import AsyncIOBackend as AsyncDefaultBackend
    from wirekit._io.asyncio import AsyncSystemResolver as AsyncDefaultResolver
    from wirekit._io.sync import SyncBackend as DefaultBackend
    from wirekit._io.sync import SystemResolver as DefaultResolver

# Resolved on first use, so a program that only uses the sync client never imports asyncio
# (import time is part of the client benchmark).
_WHERE = {
    "AsyncDefaultBackend": ("wirekit._io.asyncio", "AsyncIOBackend"),
    "AsyncDefaultResolver": ("wirekit._io.asyncio", "AsyncSystemResolver"),
    "DefaultBackend": ("wirekit._io.sync", "SyncBackend"),
    "DefaultResolver": ("wirekit._io.sync", "SystemResolver"),
}


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _WHERE[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value
