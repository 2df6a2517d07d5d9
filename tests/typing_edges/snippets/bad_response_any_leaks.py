"""Response headers and cookies are typed: wrong uses are caught."""

import wirekit

response = wirekit.Response(200, headers={"Content-Type": "text/plain"})
length: int = response.headers.get("content-length")  # expect-error
missing: int = response.headers.get("x-count", 0)  # expect-error
response.cookies.no_such_method()  # expect-error
