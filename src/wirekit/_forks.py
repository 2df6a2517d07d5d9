"""Locks that a forked child gets anew.

A lock a parent thread held at ``os.fork()`` stays held in the child for good (the thread
is not there to release it), so the child's first use of the object would hang. Objects a
client shares between threads (the cookie jar, Digest auth, the netrc lookup) register
here; after a fork the child gives each a new lock of the same kind. Nothing is added to
the objects' own paths: the registry is only walked at a fork.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable

__all__ = ["renew_lock_at_fork"]

_HOLDERS: weakref.WeakKeyDictionary[object, Callable[[], object]] = weakref.WeakKeyDictionary()


def renew_lock_at_fork(holder: object, factory: Callable[[], object]) -> None:
    """After a fork, the child sets ``holder._lock`` to ``factory()`` (threading.Lock or
    threading.RLock, whichever made the holder's lock)."""
    _HOLDERS[holder] = factory


def _after_fork_in_child() -> None:
    for holder, factory in list(_HOLDERS.items()):
        holder._lock = factory()  # type: ignore[attr-defined]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
