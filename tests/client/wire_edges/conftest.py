from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.client.wire_edges._wire import Peer


@pytest.fixture
def peer() -> Iterator[Peer]:
    with Peer() as server:
        yield server
