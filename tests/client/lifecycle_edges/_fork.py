"""Run a function in a forked child and get its result (a str) back through a pipe.

The child writes its result (or "ERROR: ..." ) and leaves with os._exit; the parent waits at
most ``timeout`` seconds, then kills the child ("HUNG"), and always reaps it.
"""

from __future__ import annotations

import os
import select
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

#: Python 3.12+ warns about fork() in a process with threads (the test's server threads);
#: pytest makes warnings errors, so the tests that fork filter exactly this one.
FORK_WARNING = (
    "ignore:This process .* is multi-threaded, use of fork\\(\\) may lead to "
    "deadlocks in the child.:DeprecationWarning"
)


def run_in_child(work: Callable[[], str], timeout: float = 5.0) -> str:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        code = 0
        try:
            os.close(read_end)
            try:
                result = work()
            except BaseException as exc:  # reported to the parent
                result = "ERROR: " + "".join(traceback.format_exception_only(exc)).strip()
            os.write(write_end, result.encode("utf-8", "replace"))
            os.close(write_end)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    chunks: list[bytes] = []
    ends = time.monotonic() + timeout
    hung = False
    try:
        while True:
            left = ends - time.monotonic()
            if left <= 0:
                hung = True
                break
            ready, _, _ = select.select([read_end], [], [], left)
            if not ready:
                hung = True
                break
            data = os.read(read_end, 65536)
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(read_end)
        if hung:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.waitpid(pid, 0)
    return "HUNG" if hung else b"".join(chunks).decode()


@contextmanager
def held_by_another_thread(lock: Any) -> Iterator[None]:
    """``lock`` held by another thread of this process for the block's length (where a
    request inside a locked section would be when the process forks)."""
    inside = threading.Event()
    leave = threading.Event()

    def hold() -> None:
        with lock:
            inside.set()
            leave.wait(5.0)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    try:
        assert inside.wait(5.0)
        yield
    finally:
        leave.set()
        thread.join(5.0)
