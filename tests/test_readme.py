"""The Python examples of the README and docs/client.md run, against the example app that
``make run`` serves."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.server.support import running

ROOT = Path(__file__).resolve().parent.parent


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_readme_examples_run_against_the_example_app(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    import app as example  # examples/app.py

    monkeypatch.setattr(example, "STREAM_INTERVAL", 0.01)
    blocks = _python_blocks((ROOT / "README.md").read_text())
    assert blocks, "README.md has no python examples"
    blocks += _python_blocks((ROOT / "docs" / "client.md").read_text())
    with running(example.app) as server:
        for block in blocks:
            code = block.replace("127.0.0.1:8000", f"127.0.0.1:{server.port}")
            exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    assert "200 {'received': {'name': 'widget'}, 'authorized': True}" in out
    assert "tick 10" in out
    assert "[200, 200, 200, 200, 200, 200, 200, 200, 200, 200]" in out
    sys.modules.pop("app", None)
