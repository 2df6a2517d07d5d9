"""Fixtures of the I/O layer tests (the shared peers come from tests/support/fixtures.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.blackhole import Blackhole


@pytest.fixture
def blackhole() -> Iterator[Blackhole]:
    hole = Blackhole()
    try:
        yield hole
    finally:
        hole.close()
