"""Wrong code that mypy --strict must reject: wirekit.fetch returns the body as bytes
(docs/client.md), or ``default`` when given one."""

import wirekit

text: str = wirekit.fetch("http://example.test/")  # expect-error
length: int = wirekit.fetch("http://example.test/", default=None, timeout=2.0)  # expect-error
