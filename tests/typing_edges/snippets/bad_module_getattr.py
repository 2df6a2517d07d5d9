"""Wrong code that mypy --strict must reject: misspelled or never-imported names of the
wirekit package. Each marked line (expect-error) fails at run time
(AttributeError / ImportError)."""

import wirekit
from wirekit import AsyncClinet  # noqa: F401  # expect-error

client = wirekit.Clinet(timeout=5.0)  # expect-error
response = wirekit.gett("http://example.test/")  # expect-error
addresses = wirekit.net.lookup("localhost")  # expect-error  (wirekit.net was never imported)
