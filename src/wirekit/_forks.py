"""What a forked child does anew for the objects a client shares between threads.

A lock a parent thread held at ``os.fork()`` stays held in the child for good (the thread
is not there to release it), so the child's first use of the object would hang; a pool's
connections belong to the parent. Objects register here (held weakly: a registered object
is still collected as usual) with a callback the child calls on each after a fork. Nothing
is added to the objects' own paths: the registry is only walked at a fork.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["after_fork_in_child", "renew_lock_at_fork"]

#: holder -> what the child calls with it. The callbacks take the holder as their argument
#: and hold no reference to it, or the weak key would never go.
_HOLDERS: weakref.WeakKeyDictionary[Any, Callable[[Any], None]] = weakref.WeakKeyDictionary()


def after_fork_in_child(holder: Any, callback: Callable[[Any], None]) -> None:
    """After a fork, the child calls ``callback(holder)`` (if ``holder`` is still alive)."""
    _HOLDERS[holder] = callback


def renew_lock_at_fork(holder: object, factory: Callable[[], object]) -> None:
    """After a fork, the child sets ``holder._lock`` to ``factory()`` (threading.Lock or
    threading.RLock, whichever made the holder's lock)."""

    def renew(alive: Any) -> None:
        alive._lock = factory()

    after_fork_in_child(holder, renew)


def _after_fork() -> None:
    for holder, callback in list(_HOLDERS.items()):
        callback(holder)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
