"""Every Python example of the wirekit.net pages (docs/net.md, docs/net/*.md) runs as
written (against localhost only)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = [DOCS / "net.md", *sorted((DOCS / "net").glob("*.md"))]
BLOCKS = [
    (page, block)
    for page in PAGES
    for block in re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.DOTALL)
]


def test_the_doc_has_examples() -> None:
    assert len(BLOCKS) >= 8


@pytest.mark.parametrize("number", range(len(BLOCKS)))
def test_example_runs(number: int, capsys: pytest.CaptureFixture[str]) -> None:
    page, block = BLOCKS[number]
    exec(compile(block, f"{page}:example{number + 1}", "exec"), {})


def test_every_module_has_a_page_with_an_example() -> None:
    pages_with_examples = {page.stem for page, _ in BLOCKS}
    modules = ("names", "dns", "dnscache", "addresses", "interfaces", "framing", "udp", "servers")
    for module in (*modules, "ports"):
        assert module in pages_with_examples, f"docs/net/{module}.md has no example"
