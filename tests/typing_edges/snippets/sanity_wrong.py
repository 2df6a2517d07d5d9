"""Not a bug: checks that mypy really sees wirekit's annotations (must report errors)."""

import wirekit

response: int = wirekit.Client().get("http://example.test/")  # expect-error
wirekit.Timeout("ten")  # expect-error
