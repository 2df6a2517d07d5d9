"""Response headers and cookies as users read them, with precise types."""

import wirekit

response = wirekit.Response(200, headers={"Content-Type": "text/plain"})
content_type: str | None = response.headers.get("content-type")
charset: str = response.headers.get("x-charset", "utf-8")
count: str | int = response.headers.get("x-count", 0)
jar: wirekit.Cookies = response.cookies
session: str | None = jar.get("sid")
