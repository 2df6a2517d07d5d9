"""The default backend and resolver names, sync and async, in one place.

Generated sync client code (``scripts/unasync.py``) turns ``AsyncDefaultBackend`` into
``DefaultBackend``, so both spellings must resolve here.
"""

from __future__ import annotations

from wirekit._io.asyncio import AsyncIOBackend, AsyncSystemResolver
from wirekit._io.sync import SyncBackend, SystemResolver

__all__ = ["AsyncDefaultBackend", "AsyncDefaultResolver", "DefaultBackend", "DefaultResolver"]

AsyncDefaultBackend = AsyncIOBackend
DefaultBackend = SyncBackend
AsyncDefaultResolver = AsyncSystemResolver
DefaultResolver = SystemResolver
