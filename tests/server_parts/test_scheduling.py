"""``batch_scheduling()``: SCHED_BATCH for GIL-bound server threads, undone on request, and
never over a policy somebody chose (Linux)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from wirekit.server.wsgi import batch_scheduling


def _in_thread(body: Callable[[], Any]) -> Any:
    """Run ``body`` in a fresh thread (policies are per thread) and return its result."""
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(body()))
    thread.start()
    thread.join(10)
    assert box, "the thread did not finish"
    return box[0]


def test_default_policy_becomes_batch_and_undo_restores_it() -> None:
    def body() -> tuple[int, int, int]:
        before = os.sched_getscheduler(0)
        undo = batch_scheduling()
        during = os.sched_getscheduler(0)
        assert undo is not None
        undo()
        return before, during, os.sched_getscheduler(0)

    assert _in_thread(body) == (os.SCHED_OTHER, os.SCHED_BATCH, os.SCHED_OTHER)


def test_a_policy_set_by_the_operator_is_left_alone() -> None:
    def body() -> tuple[bool, int]:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # as `chrt --idle` would
        undo = batch_scheduling()
        return undo is None, os.sched_getscheduler(0)

    assert _in_thread(body) == (True, os.SCHED_IDLE)
