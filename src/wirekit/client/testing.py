"""In-process transports for tests: a mock handler, a WSGI app, an ASGI app.

Each plugs into the client's one seam (``transport=``), so redirects, cookies, auth and
retries run exactly as over the network, with no socket at all.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import unquote

from wirekit._models.messages import Request, Response
from wirekit.client._async.transport import AsyncBaseTransport
from wirekit.client._sync.transport import BaseTransport
from wirekit.client.config import Deadline
from wirekit.errors import ReadTimeout, chained

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
    """Calls a WSGI (PEP 3333) app in-process, for ``Client(transport=...)``.

    The app gets what a server gives it: ``Host``, ``SCRIPT_NAME`` stripped from
    ``PATH_INFO``, a request body with its length. The answer is handed over as the app
    produces it (``stream=True`` reads it lazily); the iterable's ``close()`` is called once,
    when the body is read or the response closed. A HEAD answer carries no body.

    The app runs in the calling thread (as a WSGI server's worker would run it), so a
    thread-bound app (Flask's contexts, Django's connections) sees one thread. Nothing can
    stop a Python call from outside, so the client's timeouts do not bound the app.
    """

    def __init__(self, app: Any, *, script_name: str = "", remote_addr: str = "127.0.0.1") -> None:
        self.app = app
        self.script_name = script_name
        self.remote_addr = remote_addr

    def _environ(self, request: Request, body: bytes) -> dict[str, Any]:
        url = request.url
        # PEP 3333: the path's octets, percent-decoded once, as latin-1 text.
        path = unquote(url.raw_path.partition("?")[0], encoding="latin-1")
        script_name = self.script_name
        if script_name and (path == script_name or path.startswith(script_name + "/")):
            path = path[len(script_name) :]  # as the server does with its root_path
        environ: dict[str, Any] = {
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": url.scheme,
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            # The whole body is here: an app may read wsgi.input to its end.
            "wsgi.input_terminated": True,
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": script_name,
            "PATH_INFO": path,
            "QUERY_STRING": url.query,
            "SERVER_NAME": url.host,
            "SERVER_PORT": str(url.effective_port),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": self.remote_addr,
        }
        if "host" not in request.headers:
            environ["HTTP_HOST"] = url.netloc  # what the client puts on the wire
        for name, value in request.headers.multi_items():
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[key] = value
            else:
                key = "HTTP_" + key
                environ[key] = f"{environ[key]},{value}" if key in environ else value
        # A streamed upload was collected whole: the app sees its length, not "chunked"
        # (Flask and Django read no body without a Content-Length).
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        if body and "CONTENT_LENGTH" not in environ:
            environ["CONTENT_LENGTH"] = str(len(body))
        return environ

    def handle_request(self, request: Request) -> Response:
        environ = self._environ(request, _body_of(request))
        status: str | None = None
        headers: list[tuple[str, str]] = []
        pending: deque[bytes] = deque()  # body produced and not yet handed over
        head_sent = False  # PEP 3333: the head "is sent" with the first body bytes

        def write(data: bytes) -> None:
            if status is None:
                raise RuntimeError("WSGI write() called before start_response()")
            if not isinstance(data, bytes):
                raise TypeError(f"WSGI write() takes bytes, got {type(data).__name__}")
            if data:
                pending.append(data)

        def start_response(
            status_line: str, response_headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            nonlocal status, headers
            if exc_info is not None:
                try:
                    if head_sent or pending:
                        # Too late to change the answer: re-raise the app's error.
                        raise exc_info[1].with_traceback(exc_info[2])
                finally:
                    exc_info = None  # break the traceback cycle, as PEP 3333 asks
            status, headers = status_line, list(response_headers)
            return write

        result = self.app(environ, start_response)
        iterator: Iterator[bytes] | None = None
        try:
            iterator = iter(result)
            while not pending:  # until the first body bytes (or the end): the head is final
                try:
                    chunk = next(iterator)
                except StopIteration:
                    iterator = None
                    break
                if not isinstance(chunk, bytes):
                    raise TypeError(
                        f"WSGI app yielded {type(chunk).__name__}; chunks must be bytes"
                    )
                if chunk:
                    if status is None:
                        raise RuntimeError("WSGI app yielded body before start_response()")
                    pending.append(chunk)
            if status is None:
                raise RuntimeError("WSGI app returned without calling start_response()")
        except BaseException:
            _close_iterable(result)
            raise
        head_sent = True
        code, _, reason = status.partition(" ")
        stream: _WSGIBody | _CollectedBody
        if request.method == "HEAD":
            _close_iterable(result)
            stream = _CollectedBody(b"")  # a server sends no body for HEAD
        else:
            stream = _WSGIBody(result, iterator, pending)
        return Response(int(code), headers=headers, stream=stream, request=request, reason=reason)

    def close(self) -> None:
        return None

    async def handle_async_request(self, request: Request) -> Response:
        raise TypeError(
            "WSGITransport calls a sync WSGI app: use it with wirekit.Client "
            "(for AsyncClient, use ASGITransport with an ASGI app)"
        )

    async def aclose(self) -> None:
        return None


def _close_iterable(result: Any) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        close()


class _WSGIBody:
    """A WSGI app's answer as it is produced: the chunks already made, then the rest of the
    iterable on demand. ``close()`` reaches the iterable's ``close()`` exactly once: at the
    end of the body, or when the response is closed before that."""

    def __init__(
        self, result: Any, iterator: Iterator[bytes] | None, pending: deque[bytes]
    ) -> None:
        self._result = result
        self._iterator = iterator  # None once exhausted
        self._pending = pending  # shared with the app's write()
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        pending = self._pending
        while not self._closed:
            if pending:
                yield pending.popleft()
                continue
            iterator = self._iterator
            if iterator is None:
                break
            try:
                chunk = next(iterator)
            except StopIteration:
                self._iterator = None
                continue  # what write() added meanwhile, then the end
            if not isinstance(chunk, bytes):
                raise TypeError(f"WSGI app yielded {type(chunk).__name__}; chunks must be bytes")
            if chunk:
                pending.append(chunk)
        self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._iterator = None
            self._pending.clear()
            _close_iterable(self._result)


class ASGITransport(AsyncBaseTransport):
    """Calls an ASGI 3 app in-process, for ``AsyncClient(transport=...)``.

    The response is collected whole (an app that streams forever does not return: the
    client's timeout ends it). ``receive()`` gives the request body, then waits until the
    response is complete (or the app returned) before ``http.disconnect``, as a server does.
    The client's timeouts apply: the read limit between the app's messages, the total
    deadline over all. ``raise_app_exceptions``: an exception in the app reaches the test
    (default) instead of the response the app sent (a 500 when it sent none).
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
        request_headers = [(k.lower(), v) for k, v in request.headers.raw]
        if "host" not in request.headers:
            request_headers.insert(0, (b"host", url.netloc.encode("ascii")))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": url.path,  # already percent-decoded (UTF-8) once
            "raw_path": url.raw_path.split("?", 1)[0].encode("ascii"),
            "query_string": url.query.encode("ascii"),
            "root_path": self.root_path,
            "headers": request_headers,
            "client": self.client,
            "server": (url.host, url.effective_port),
            "extensions": {},
        }
        head_only = request.method == "HEAD"
        sent_request = False
        status: int | None = None
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        complete = asyncio.Event()  # the response is all sent, or the app returned
        clock = _AppClock(request, f"{url.host}:{url.effective_port}")

        async def receive() -> dict[str, Any]:
            nonlocal sent_request
            if not sent_request:
                sent_request = True
                return {"type": "http.request", "body": body, "more_body": False}
            await complete.wait()  # like a server: no disconnect while the client waits
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, headers
            if complete.is_set():
                return  # after the end of the response: nothing more reaches the client
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                clock.phase = "reading the response body"
            elif message["type"] == "http.response.body":
                if not head_only:  # a server sends no body for HEAD
                    chunks.append(bytes(message.get("body", b"")))
                if not message.get("more_body", False):
                    complete.set()
            clock.rearm()

        async with clock:
            try:
                await self.app(scope, receive, send)
            except Exception:
                if self.raise_app_exceptions:
                    raise
                if status is None:
                    status, headers = 500, []
                    chunks = [] if head_only else [b"Internal Server Error"]
            finally:
                complete.set()
        return Response(
            500 if status is None else status,
            headers=headers,
            stream=_CollectedBody(b"".join(chunks)),
            request=request,
        )

    def handle_request(self, request: Request) -> Response:
        raise TypeError(
            "ASGITransport calls an async ASGI app: use it with wirekit.AsyncClient "
            "(for Client, use WSGITransport with a WSGI app)"
        )

    def close(self) -> None:
        return None


class _AppClock:
    """The client's timeouts over an in-process ASGI app: the read limit runs from the call
    and again from each message the app sends; the total deadline (``Timeout(total)``)
    bounds it all. Running out cancels the app and raises the client's timeout error."""

    def __init__(self, request: Request, where: str) -> None:
        deadline = request.extensions.get("deadline")
        self._deadline = deadline if isinstance(deadline, Deadline) else None
        self._where = where
        self._timer: asyncio.Timeout | None = None
        self._binding = False  # the total deadline ends before the read limit
        self._read = 0.0
        self.phase = "waiting for the response"

    def rearm(self) -> None:
        deadline, timer = self._deadline, self._timer
        if deadline is None or timer is None:
            return
        now = time.monotonic()
        read = deadline.timeout.read
        ends_at = None if read is None else now + read
        self._binding = deadline.expires_at is not None and (
            ends_at is None or deadline.expires_at <= ends_at
        )
        if self._binding:
            ends_at = deadline.expires_at
        self._read = 0.0 if read is None else read
        if ends_at is not None:
            ends_at = asyncio.get_running_loop().time() + (ends_at - now)
        timer.reschedule(ends_at)

    async def __aenter__(self) -> None:
        self._timer = asyncio.timeout(None)
        await self._timer.__aenter__()
        self.rearm()

    async def __aexit__(self, *exc_info: Any) -> None:
        timer = self._timer
        assert timer is not None
        try:
            await timer.__aexit__(*exc_info)
        except TimeoutError as exc:
            if not timer.expired():
                raise  # the app's own TimeoutError
            deadline = self._deadline
            assert deadline is not None
            if self._binding:
                raise chained(deadline.exceeded(self.phase), exc) from exc
            raise chained(
                ReadTimeout(
                    f"no answer from the ASGI app for {self._where} for {self._read:g} s "
                    f"while {self.phase} (read timeout)"
                ),
                exc,
            ) from exc


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
