"""In-process transports for tests: a mock handler, a WSGI app, an ASGI app.

Each plugs into the client's one seam (``transport=``), so redirects, cookies, auth and
retries run exactly as over the network, with no socket at all.
"""

from __future__ import annotations

import inspect
import io
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import unquote

from wirekit._models.messages import Request, Response
from wirekit.client._async.transport import AsyncBaseTransport
from wirekit.client._sync.transport import BaseTransport

__all__ = ["ASGITransport", "MockTransport", "WSGITransport"]


def _body_of(request: Request) -> bytes:
    content = request.content
    if content is None:
        return b""
    data = content.as_bytes()
    return data if data is not None else b"".join(content)


async def _abody_of(request: Request) -> bytes:
    content = request.content
    if content is None:
        return b""
    data = content.as_bytes()
    return data if data is not None else b"".join([chunk async for chunk in content])


class MockTransport(AsyncBaseTransport, BaseTransport):
    """Answers every request with ``handler(request) -> Response`` (sync or async handler).

    >>> from wirekit import Client, Response
    >>> client = Client(transport=MockTransport(lambda request: Response(204)))
    >>> client.get("http://example.test/").status_code
    204
    """

    def __init__(self, handler: Callable[[Request], Response | Awaitable[Response]]) -> None:
        self.handler = handler
        self.requests: list[Request] = []

    def handle_request(self, request: Request) -> Response:
        self.requests.append(request)
        result = self.handler(request)
        if inspect.isawaitable(result):
            raise TypeError("an async handler needs AsyncClient")
        assert isinstance(result, Response)
        result.request = request
        return result

    async def handle_async_request(self, request: Request) -> Response:
        self.requests.append(request)
        result = self.handler(request)
        if inspect.isawaitable(result):
            result = await result
        assert isinstance(result, Response)
        result.request = request
        return result

    def close(self) -> None:
        return None


class WSGITransport(BaseTransport):
    """Calls a WSGI (PEP 3333) app in-process, for ``Client(transport=...)``."""

    def __init__(self, app: Any, *, script_name: str = "", remote_addr: str = "127.0.0.1") -> None:
        self.app = app
        self.script_name = script_name
        self.remote_addr = remote_addr

    def handle_request(self, request: Request) -> Response:
        body = _body_of(request)
        url = request.url
        environ: dict[str, Any] = {
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": url.scheme,
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": self.script_name,
            # PEP 3333: the path's octets, percent-decoded once, as latin-1 text.
            "PATH_INFO": unquote(url.raw_path.partition("?")[0], encoding="latin-1"),
            "QUERY_STRING": url.query,
            "SERVER_NAME": url.host,
            "SERVER_PORT": str(url.effective_port),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": self.remote_addr,
        }
        for name, value in request.headers.multi_items():
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[key] = value
            else:
                key = "HTTP_" + key
                environ[key] = f"{environ[key]},{value}" if key in environ else value
        if body and "CONTENT_LENGTH" not in environ:
            environ["CONTENT_LENGTH"] = str(len(body))
        status: list[str] = []
        headers: list[tuple[str, str]] = []

        def start_response(
            status_line: str, response_headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            if exc_info and status:
                raise exc_info[1].with_traceback(exc_info[2])
            status[:] = [status_line]
            headers[:] = response_headers
            return lambda data: chunks.append(data)

        chunks: list[bytes] = []
        result = self.app(environ, start_response)
        try:
            chunks.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        code, _, reason = status[0].partition(" ")
        return Response(
            int(code),
            headers=headers,
            stream=_CollectedBody(b"".join(chunks)),
            request=request,
            reason=reason,
        )

    def close(self) -> None:
        return None


class ASGITransport(AsyncBaseTransport):
    """Calls an ASGI 3 app in-process, for ``AsyncClient(transport=...)``.

    The response is collected whole (an app that streams forever would not return).
    ``raise_app_exceptions``: an exception in the app reaches the test (default) instead of
    becoming a 500.
    """

    def __init__(
        self,
        app: Any,
        *,
        root_path: str = "",
        client: tuple[str, int] = ("127.0.0.1", 123),
        raise_app_exceptions: bool = True,
    ) -> None:
        self.app = app
        self.root_path = root_path
        self.client = client
        self.raise_app_exceptions = raise_app_exceptions

    async def handle_async_request(self, request: Request) -> Response:
        body = await _abody_of(request)
        url = request.url
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": url.path,  # already percent-decoded (UTF-8) once
            "raw_path": url.raw_path.split("?", 1)[0].encode("ascii"),
            "query_string": url.query.encode("ascii"),
            "root_path": self.root_path,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "client": self.client,
            "server": (url.host, url.effective_port),
            "extensions": {},
        }
        sent_request = False
        status = 500
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        started = False

        async def receive() -> dict[str, Any]:
            nonlocal sent_request
            if not sent_request:
                sent_request = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, headers, started
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                started = True
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, receive, send)
        except Exception:
            if self.raise_app_exceptions or started:
                raise
            status, headers, chunks = 500, [], [b"Internal Server Error"]
        return Response(
            status, headers=headers, stream=_CollectedBody(b"".join(chunks)), request=request
        )


class _CollectedBody:
    """An app's whole answer handed over as a raw body stream, as a network transport hands
    one over, so the response decodes its Content-Encoding (gzip...) the same way."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def __iter__(self) -> Iterator[bytes]:
        yield self._body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._body

    def close(self) -> None:
        return None

    async def aclose(self) -> None:
        return None
