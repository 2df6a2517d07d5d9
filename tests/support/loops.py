"""Run an async test module on both event loops wirekit supports.

pytestmark = pytest.mark.parametrize("anyio_backend", BOTH_LOOPS)
"""

from __future__ import annotations

import pytest

#: anyio backend values: plain asyncio, and asyncio on uvloop (the server's default loop).
BOTH_LOOPS = [
    pytest.param(("asyncio", {}), id="asyncio"),
    pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop"),
]
