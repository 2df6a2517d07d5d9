"""Response.iter_bytes(chunk_size) with a size that cannot be honoured.

Fails on the code as reviewed because of a real bug, and passes once it is fixed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Run in a child with a 1 GiB address-space cap and a wall-clock limit: on the reviewed code
# the iteration never ends and grows a list of empty chunks without bound.
CHILD = textwrap.dedent(
    """
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    import wirekit
    from tests.support.scripted import ScriptedServer, close, expect, send

    head = b"HTTP/1.1 200 OK\\r\\nContent-Length: 5\\r\\n\\r\\nhello"
    with ScriptedServer([expect(), send(head), close()]) as server:
        with wirekit.Client() as client:
            with client.stream("GET", server.url) as response:
                try:
                    chunks = list(response.iter_bytes(int(sys.argv[1])))
                except ValueError:
                    print("refused")
                else:
                    print("chunks", chunks)
    """
)


@pytest.mark.parametrize("chunk_size", [0, -1])
def test_iter_bytes_with_a_non_positive_chunk_size_does_not_hang(chunk_size: int) -> None:
    # _Rechunker.push loops "while len(buffer) >= size", which never ends for size <= 0,
    # appending b"" each turn: iter_bytes(0) on a streamed response hangs and eats memory.
    # (On an already-read response the same call raises ValueError from range().)
    try:
        result = subprocess.run(
            [sys.executable, "-c", CHILD, str(chunk_size)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=15,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"iter_bytes({chunk_size}) did not return within 15 s")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() in ("refused", "chunks [b'hello']"), result.stdout
