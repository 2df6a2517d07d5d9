"""Server-side exceptions apps see.

Kept in a module of its own, not compiled by mypyc (scripts/compile.py): a compiled class
cannot inherit from two built-in exception bases, nor from most built-in exceptions at all.
"""

from __future__ import annotations

from wirekit.errors import ReadError

__all__ = ["ASGIProtocolError", "ClientDisconnected"]


class ClientDisconnected(ReadError, OSError):
    """The client went away while the app was still reading or answering.

    Also an ``OSError``: ASGI (spec 2.4) and WSGI apps expect an ``IOError`` subclass here.
    """


class ASGIProtocolError(RuntimeError):
    """The app broke the ASGI protocol (a message out of order, a bad status or body).

    Raised into the app from ``send()`` after it is logged, plainly: its own class keeps it
    from being logged a second time, with a traceback, when it ends the app's task.
    """
