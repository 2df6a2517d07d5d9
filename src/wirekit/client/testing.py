"""In-process transports for tests: a mock handler, a WSGI app, an ASGI app.

Each plugs into the client's one seam (``transport=``), so redirects, cookies, auth and
retries run exactly as over the network, with no socket at all.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import logging
import sys
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Literal
from urllib.parse import unquote

from wirekit._models.chunks import BytesBody
from wirekit._models.messages import Request, Response
from wirekit._models.url import host_header
from wirekit._proto._http1_write import check_fields
from wirekit.client._async.transport import AsyncBaseTransport
from wirekit.client._sync.transport import BaseTransport
from wirekit.client.deadline import Deadline
from wirekit.errors import LocalProtocolError, ReadTimeout, RemoteProtocolError, chained
from wirekit.server.asgi import error_body, with_root_path
from wirekit.server.errors import ASGIProtocolError
from wirekit.server.lifespan import LifespanError, LifespanRunner

logger = logging.getLogger("wirekit.client")

#: Methods the client sends ``Content-Length: 0`` with when they have no body (RFC 9110
#: §8.6), so an app sees the same headers in process as over the network.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

__all__ = ["ASGITransport", "MockTransport", "WSGITransport"]


def _body_of(request: Request) -> bytes:
    content = request.content
    if content is None:
        return b""
    data = content.as_bytes()
    return data if data is not None else b"".join(content)


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
            environ["HTTP_HOST"] = host_header(url.host, url.port, url.scheme).decode("ascii")
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
        if "CONTENT_LENGTH" not in environ and (body or request.method in _BODY_METHODS):
            environ["CONTENT_LENGTH"] = str(len(body))  # 0 for a bodyless POST, as on the wire
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
        stream: _WSGIBody | BytesBody
        if request.method == "HEAD":
            _close_iterable(result)
            stream = BytesBody(b"")  # a server sends no body for HEAD
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

    The app runs as a task of its own, as under a server: the response is handed over once
    the app has sent ``http.response.start``, and its body as the app sends it, so
    ``client.stream()`` reads a server-sent-events endpoint chunk by chunk (a few chunks
    ahead at most: an app that sends faster waits in ``send()``, as on a full socket). A
    request body streamed by the client reaches ``receive()`` chunk by chunk too.

    As a server does: ``receive()`` gives ``http.disconnect`` once the response is complete
    or the client has closed it; after the client closed it, ``send()`` raises ``OSError``
    and the app is cancelled. A read to the end of the body also waits for the app to
    return (Starlette's background tasks have run), so nothing of it is left running.

    The client's timeouts apply: the read limit while waiting for each message of the app,
    the total deadline over all; running out cancels the app. ``raise_app_exceptions``: an
    exception in the app reaches the test (default), from the call or from the body's read,
    instead of the response the app sent (a 500 when it sent none, or failed right after
    its head, before any body message, as the wirekit server answers it).

    ``lifespan``: ``"off"`` (default, as httpx), ``"auto"`` or ``"on"``, as the server's
    option: the app's lifespan startup runs before the first request (a failed one raises
    ``LifespanError`` from every request), its ``state`` reaches each request's scope, and
    closing the client runs its shutdown.
    """

    def __init__(
        self,
        app: Any,
        *,
        root_path: str = "",
        client: tuple[str, int] = ("127.0.0.1", 123),
        raise_app_exceptions: bool = True,
        lifespan: Literal["off", "auto", "on"] = "off",
    ) -> None:
        self.app = app
        self.root_path = root_path
        self.client = client
        self.raise_app_exceptions = raise_app_exceptions
        self.lifespan = lifespan
        #: The lifespan scope's state, shallow-copied into each request's scope.
        self.state: dict[str, Any] = {}
        self._lifespan: LifespanRunner | None = None  # started at the first request
        self._lifespan_lock: asyncio.Lock | None = None
        self._lifespan_failure: str | None = None
        #: The event loop the lifespan started in: its task, and what the app made in its
        #: startup (connections, pools), belong to that loop.
        self._lifespan_loop: asyncio.AbstractEventLoop | None = None

    def _scope(self, request: Request) -> dict[str, Any]:
        url = request.url
        request_headers = [(k.lower(), v) for k, v in request.headers.raw]
        if "host" not in request.headers:
            request_headers.insert(0, (b"host", host_header(url.host, url.port, url.scheme)))
        if (
            request.method in _BODY_METHODS
            and "content-length" not in request.headers
            and "transfer-encoding" not in request.headers
        ):
            request_headers.append((b"content-length", b"0"))  # as the client sends it
        path = url.path  # already percent-decoded (UTF-8) once
        raw_path = url.raw_path.split("?", 1)[0].encode("ascii")
        if self.root_path:  # as the wirekit server gives them with the same root_path
            path, raw_path = with_root_path(path, raw_path, self.root_path)
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": path,
            "raw_path": raw_path,
            "query_string": url.query.encode("ascii"),
            "root_path": self.root_path,
            "headers": request_headers,
            "client": self.client,
            "server": (url.host, url.effective_port),
            "extensions": {},
            "state": self.state.copy(),  # as the server gives it (ASGI lifespan "state")
        }

    async def _start_lifespan(self) -> None:
        """The app's lifespan startup, once, before the first request (as a server runs it
        before serving); a failed startup fails every request."""
        loop = asyncio.get_running_loop()
        if self._lifespan is not None and self._lifespan_loop is not loop:
            # Its task ended with its loop (asyncio.run cancels what is left) without the
            # shutdown, and the state it made belongs to that loop: serving on would hand
            # the app dead connections. Started again, it would run startup twice.
            raise RuntimeError(
                "ASGITransport: the app's lifespan started in another event loop; close "
                "the client (await client.aclose()) in the loop that used it, and make one "
                "client per event loop"
            )
        if self._lifespan is None:
            if self._lifespan_lock is None:
                self._lifespan_lock = asyncio.Lock()
            async with self._lifespan_lock:
                if self._lifespan is None:
                    runner = LifespanRunner(self.app, mode=self.lifespan)
                    runner.state = self.state
                    self._lifespan = runner
                    self._lifespan_loop = loop
                    try:
                        await runner.startup()
                    except LifespanError as exc:
                        self._lifespan_failure = str(exc)
        if self._lifespan_failure is not None:
            raise LifespanError(self._lifespan_failure)

    async def handle_async_request(self, request: Request) -> Response:
        if self.lifespan != "off":
            await self._start_lifespan()
        run = _AppRun(self.app, self._scope(request), request, self.raise_app_exceptions)
        return await run.response()

    def handle_request(self, request: Request) -> Response:
        raise TypeError(
            "ASGITransport calls an async ASGI app: use it with wirekit.AsyncClient "
            "(for Client, use WSGITransport with a WSGI app)"
        )

    async def aclose(self) -> None:
        """Run the app's lifespan shutdown, if its startup ran (closing the client does)."""
        runner, self._lifespan = self._lifespan, None
        loop, self._lifespan_loop = self._lifespan_loop, None
        self._lifespan_failure = None
        self._lifespan_lock = None
        if runner is None:
            return
        if loop is not asyncio.get_running_loop():
            # The lifespan's task is gone with its loop (or runs in another thread's): its
            # shutdown cannot be run from here.
            logger.warning(
                "ASGITransport closed in another event loop than its lifespan's: the app's "
                "lifespan shutdown did not run"
            )
            return
        await runner.shutdown()

    def close(self) -> None:
        return None


#: Body chunks an app may send ahead of the client's reading (a server's socket buffer).
_CHUNKS_AHEAD = 16


class _AppRun:
    """One request's run of an ASGI app: the app's task on one side, the client's waits for
    the head and each body chunk on the other (bounded by the client's timeouts)."""

    def __init__(
        self, app: Any, scope: dict[str, Any], request: Request, raise_app_exceptions: bool
    ) -> None:
        url = request.url
        self._request = request
        self._where = f"{url.host}:{url.effective_port}"
        deadline = request.extensions.get("deadline")
        self._deadline = deadline if isinstance(deadline, Deadline) else None
        self._raise = raise_app_exceptions
        self._head_only = request.method == "HEAD"
        self._no_body = self._head_only  # and for 204 and 304 answers (set at their start)
        self._upload = _upload_chunks(request)
        self._upload_done = False
        # The next upload chunk, pulled by a task of its own: a receive() cancelled while
        # waiting for it (asyncio.wait_for, Starlette's is_disconnected()) loses nothing.
        self._next_chunk: asyncio.Future[bytes | None] | None = None
        self.upload_failure: BaseException | None = None  # the client's body source raised
        self._declared: int | None = None  # the answer's Content-Length
        self._sent = 0  # body bytes the app sent
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        # A body message was sent. An app that has returned (or raised) without one gets the
        # server's 500, as the wirekit server holds a head until its first body message. (A
        # head is handed over as soon as the app waits for something else: an SSE endpoint
        # must not wait for its first event to be seen.)
        self.body_started = False
        self.chunks: deque[bytes] = deque()
        self.complete = False  # the app sent its last body message
        self.returned = False  # the app's call ended (returned or raised)
        self.failure: BaseException | None = None  # what it raised
        self.gone = False  # the client closed the response before its end
        self._over = asyncio.Event()  # complete, returned or gone: http.disconnect from now
        self._news = asyncio.Event()  # something for the client's side
        self._room = asyncio.Event()  # the client took chunks (or left)
        self.task = asyncio.get_running_loop().create_task(self._run(app, scope))

    async def _run(self, app: Any, scope: dict[str, Any]) -> None:
        try:
            await app(scope, self._receive, self._send)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.failure = exc
        except BaseException as exc:  # SystemExit, KeyboardInterrupt: a server answers 500
            failure = RuntimeError(f"the ASGI app raised {type(exc).__name__}")
            failure.__cause__ = exc
            self.failure = failure
        finally:
            self.returned = True
            pending = self._next_chunk
            if pending is not None and not pending.done():
                pending.cancel()
            self._over.set()
            self._news.set()

    async def _pull_chunk(self) -> bytes | None:
        try:
            return await anext(self._upload, None)
        except Exception as exc:
            self.upload_failure = exc  # the client's own error, whatever the app does
            self._news.set()
            raise

    async def _receive(self) -> dict[str, Any]:
        if not self._upload_done:
            pending = self._next_chunk
            if pending is None:
                pending = self._next_chunk = asyncio.ensure_future(self._pull_chunk())
            chunk = await asyncio.shield(pending)
            self._next_chunk = None
            if chunk is not None:
                self._news.set()  # the client is still sending: the read limit starts again
                return {"type": "http.request", "body": chunk, "more_body": True}
            self._upload_done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self._over.wait()  # like a server: no disconnect while the client waits
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        if self.gone:
            raise OSError(f"the client closed the response from {self._where}")
        if self.complete:
            return  # after the end of the response: nothing more reaches the client
        kind = message.get("type")
        if kind == "http.response.start":
            # What the wirekit server refuses (with a 500) is refused here, into the app.
            if self.status is not None:
                raise ASGIProtocolError("ASGI protocol error: http.response.start sent twice")
            status = message.get("status")
            if type(status) is not int or not 100 <= status <= 999:
                raise ASGIProtocolError(
                    f"ASGI protocol error: status must be an int 100-999, got {status!r}"
                )
            headers = [tuple(pair) for pair in message.get("headers", [])]
            try:
                check_fields(headers)
            except LocalProtocolError as exc:
                raise ASGIProtocolError(f"ASGI protocol error: {exc}") from exc
            self.status = status
            self.headers = headers
            self._no_body = self._head_only or status in (204, 304)
            lengths = [v for k, v in self.headers if k.lower() == b"content-length"]
            if lengths and lengths[0].strip().isdigit():
                self._declared = int(lengths[0])
        elif kind == "http.response.body":
            if self.status is None:
                raise ASGIProtocolError(
                    "ASGI protocol error: http.response.body before http.response.start"
                )
            body = message.get("body", b"")
            self._sent += len(body)
            self.body_started = True
            if body and not self._no_body:  # a server sends no body for HEAD, 204, 304
                while len(self.chunks) >= _CHUNKS_AHEAD and not self.gone:
                    self._room.clear()
                    await self._room.wait()
                if self.gone:
                    raise OSError(f"the client closed the response from {self._where}")
                self.chunks.append(bytes(body))
            if not message.get("more_body", False):
                self.complete = True
                self._over.set()
        else:
            raise ASGIProtocolError(
                f"ASGI protocol error: unexpected message type {kind!r} on the http scope"
            )
        self._news.set()

    async def wait(self, phase: str, *, read_limit: bool = True) -> None:
        """Until the app has news (a message, or its end), within the client's timeouts:
        the read limit from now, the total deadline. Running out (or being cancelled)
        stops the app."""
        self._news.clear()
        deadline = self._deadline
        timer: asyncio.Timeout | None = None
        seconds: float | None = None
        binding = False
        try:
            if deadline is not None:
                limit = deadline.timeout.read if read_limit else None
                seconds, binding = deadline.for_phase(limit, phase)
            async with asyncio.timeout(seconds) as timer:
                await self._news.wait()
        except BaseException as exc:
            await self.stop()
            if timer is None or not timer.expired() or deadline is None:
                raise  # the deadline already out, or the client's task cancelled
            if binding:
                raise chained(deadline.exceeded(phase), exc) from exc
            raise chained(
                ReadTimeout(
                    f"no answer from the ASGI app for {self._where} for {seconds:g} s "
                    f"while {phase} (read timeout)"
                ),
                exc,
            ) from exc

    async def response(self) -> Response:
        try:
            while self.status is None and not self.returned and self.upload_failure is None:
                await self.wait("waiting for the response")
        except BaseException:
            await self.stop()
            raise
        if self.upload_failure is not None:
            await self.stop()
            raise self.upload_failure  # the client's body source failed: its error, not a 500
        if self.status is None or (self.returned and not self.body_started):
            # No head, or a head without a body message: the server's 500 (the app's
            # error raised instead, with raise_app_exceptions).
            failure, self.failure = self.failure, None
            if failure is not None and self._raise:
                raise failure
            body = b"" if self._head_only else error_body(failure, debug=False)
            headers = [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", b"%d" % len(error_body(failure, debug=False))),
            ]
            return Response(500, headers=headers, stream=BytesBody(body), request=self._request)
        return Response(
            self.status, headers=self.headers, stream=_AppBody(self), request=self._request
        )

    def took_chunks(self) -> None:
        self._room.set()

    async def finish(self) -> None:
        """After the last chunk: wait for the app to return (its background work done), then
        raise what it raised; an answer it left unfinished is a body cut short."""
        while not self.returned:
            # The answer is whole: only the total deadline bounds the app's work after it
            # (a background task may take longer than the read limit, as under a server).
            await self.wait("waiting for the ASGI app to return", read_limit=not self.complete)
        failure, self.failure = self.failure, None  # raised once
        if failure is not None and self._raise:
            raise failure
        declared = self._declared
        if declared is not None and not self._no_body and self.complete and self._sent != declared:
            raise RemoteProtocolError(
                f"the ASGI app for {self._where} sent {self._sent} body bytes with "
                f"Content-Length: {declared}"
            )
        if not self.complete:
            raised = "" if failure is None else f" (it raised {type(failure).__name__})"
            raise RemoteProtocolError(
                f"the ASGI app for {self._where} returned before its response was "
                f"complete{raised}: the body is cut short"
            )

    async def stop(self) -> None:
        """The client is gone: the app hears so, and is cancelled if still running."""
        self.gone = True
        self._over.set()
        self._room.set()
        task = self.task
        if not task.done():
            await asyncio.sleep(0)  # an app waiting in receive() hears http.disconnect
        if not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=1.0)  # an app that ignores it is left behind


async def _upload_chunks(request: Request) -> AsyncIterator[bytes]:
    """The request body as ``receive()`` hands it over: whole, or as the client streams it."""
    content = request.content
    if content is None:
        return
    data = content.as_bytes()
    if data is not None:
        if data:
            yield data
        return
    async for chunk in content:
        if chunk:
            yield bytes(chunk)


class _AppBody:
    """An ASGI app's answer as it sends it, handed over as a raw body stream (so the response
    decodes its Content-Encoding the same way as over the network)."""

    def __init__(self, run: _AppRun) -> None:
        self._run = run
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        run = self._run
        chunks = run.chunks
        while not self._closed:
            if chunks:
                chunk = chunks.popleft()
                run.took_chunks()
                yield chunk
            elif run.complete or run.returned:
                await run.finish()
                return
            else:
                await run.wait("reading the response body")

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        run = self._run
        run.chunks.clear()
        if run.complete:
            await run.finish()  # the answer is whole: the app ends as under a server
        elif not run.returned:
            await run.stop()

    def __del__(self) -> None:
        # A streamed response dropped unclosed: its app must not wait in send() for good.
        # (Not on _AppRun: the app's task refers to that one, so it would never be freed.)
        task = self._run.task
        if not task.done() and not task.get_loop().is_closed():
            task.cancel()
