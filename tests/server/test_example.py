"""The example app in examples/ works as its docstring says."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from tests.server.support import running

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "app.py"


def _load() -> Any:
    spec = importlib.util.spec_from_file_location("wirekit_example_app", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.STREAM_INTERVAL = 0.0  # the demo's pause is for people, not for tests
    return module


def test_example_page_json_stream_and_static() -> None:
    example = _load()
    with running(example.app) as server:
        status, headers, page = server.get("/")
        assert status == 200
        assert b'href="/static/style.css"' in page
        status, headers, css = server.get("/static/style.css")
        assert status == 200
        assert headers["content-type"].startswith("text/css")
        assert css == (EXAMPLE.parent / "static" / "style.css").read_bytes()
        info = json.loads(server.get("/api/info")[2])
        assert info["server"] == "wirekit"
        stream = server.get("/stream")[2].decode().splitlines()
        assert len(stream) == example.STREAM_LINES
        assert stream[0].startswith("tick 1 ")
        assert server.get("/nope")[0] == 404
