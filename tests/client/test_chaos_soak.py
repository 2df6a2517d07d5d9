"""A short soak under random faults (tests/support/chaos.py): both clients, shared by 8
threads or 32 tasks, with a pool of 4, retries on and off, streams broken off early and
async requests cancelled; every invariant of the driver must hold. The seed is fixed, so a
failure replays with ``python -m tests.support.chaos SEED sync|async retry|retry0``."""

from __future__ import annotations

import asyncio
import gc
import time

import pytest

from tests.support import chaos

#: Every fault but "late_extra" (see tests/support/chaos.py).
KINDS = [kind for kind in chaos.ALL_KINDS if kind != "late_extra"]


@pytest.mark.parametrize("retry", [True, False], ids=["retry", "retry0"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_every_invariant_holds_under_random_faults(mode: str, retry: bool) -> None:
    before = chaos.fd_count()
    if mode == "sync":
        stats = chaos.run_sync(11, retry, n=160, cap=20.0, kinds=KINDS)
    else:
        stats = asyncio.run(chaos.run_async(11, retry, n=160, cap=20.0, kinds=KINDS))
    assert stats.violations == []
    assert sum(stats.kinds.values()) == 160
    gc.collect()
    ends = time.monotonic() + 2
    while chaos.fd_count() != before and time.monotonic() < ends:
        time.sleep(0.05)
    assert chaos.fd_count() == before
