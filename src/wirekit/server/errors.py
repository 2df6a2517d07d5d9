"""Server-side exceptions apps see.

Kept in a module of its own, not compiled by mypyc (scripts/compile.py): a compiled class
cannot inherit from two built-in exception bases.
"""

from __future__ import annotations

from wirekit.errors import ReadError

__all__ = ["ClientDisconnected"]


class ClientDisconnected(ReadError, OSError):
    """The client went away while the app was still reading or answering.

    Also an ``OSError``: ASGI (spec 2.4) and WSGI apps expect an ``IOError`` subclass here.
    """
