"""WSGI (PEP 3333) bridge: runs a WSGI app in a bounded thread pool off the event loop.

The request body streams into ``wsgi.input`` (the connection stops reading while the app has
enough unread bytes); the response is iterated in the worker thread and each chunk is handed
to the loop with ``call_soon_threadsafe``, waiting while the client is slow to read. The
iterable's ``close()`` is always called (PEP 3333, "Specification Details").
"""

from __future__ import annotations

import logging
import os
import queue
import re
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import unquote_to_bytes

from wirekit.server.asgi import error_body, split_target, target_authority
from wirekit.server.protocol import ClientDisconnected

if TYPE_CHECKING:  # pragma: no cover
    from wirekit._proto.http1 import Request
    from wirekit.server.protocol import HTTPServerProtocol

__all__ = [
    "WSGIApp",
    "WSGICycle",
    "WSGIInput",
    "WorkerPool",
    "apply_forwarded",
    "batch_scheduling",
    "build_environ",
]

logger = logging.getLogger("wirekit.server")

ExcInfo: TypeAlias = tuple[type[BaseException], BaseException, TracebackType | None]
StartResponse: TypeAlias = Callable[..., Callable[[bytes], None]]
WSGIApp: TypeAlias = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

#: Hop-by-hop headers (RFC 9110 §7.6.1) a WSGI app must not set (PEP 3333): we frame the
#: message ourselves, so an app's Transfer-Encoding would corrupt it. Dropped, with a log.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
     "trailer", "trailers", "transfer-encoding", "upgrade"}
)  # fmt: skip
#: RFC 9110 §5.6.2 token, and a field value without CR, LF or NUL (response splitting).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
#: Header names a WSGI app has sent that passed the token check (never hop-by-hop ones),
#: with their bytes; emptied when full so odd apps cannot grow it without bound.
_CHECKED_NAMES: dict[str, bytes] = {}
_CHECKED_NAMES_MAX = 512
#: PEP 3333 status: three digits, then a space and the reason (a bare code is let through).
_STATUS = re.compile(r"([1-9][0-9][0-9])(?: (.*))?\Z", re.DOTALL)
#: Status lines a WSGI app has sent that passed the check, as (code, reason bytes): apps
#: answer with the same few ("200 OK"); emptied when full.
_CHECKED_STATUSES: dict[str, tuple[int, bytes]] = {}
_CHECKED_STATUSES_MAX = 256


def batch_scheduling() -> Callable[[], None] | None:
    """Put the calling thread in the SCHED_BATCH policy (Linux); return how to undo it.

    None where the policy does not exist or may not be set, or the thread already runs
    under another policy than the default one (it is left as it was). Threads and processes
    started from a SCHED_BATCH thread inherit the policy.
    See ``ServerConfig.sched_batch`` for why a server of GIL-bound threads wants it.
    """
    policy = getattr(os, "SCHED_BATCH", None)
    if policy is None:
        return None
    try:
        previous = os.sched_getscheduler(0)
        if previous != os.SCHED_OTHER:
            return None  # the operator chose a policy (chrt, systemd): theirs stands
        previous_param = os.sched_getparam(0)
        os.sched_setscheduler(0, policy, os.sched_param(0))
    except OSError as exc:
        logger.debug("SCHED_BATCH not set: %s", exc)
        return None

    def undo() -> None:
        try:
            os.sched_setscheduler(0, previous, previous_param)
        except OSError as exc:
            logger.debug("scheduling policy not restored: %s", exc)

    return undo


class WorkerPool:
    """A fixed set of threads taking jobs from one queue (started on first use)."""

    def __init__(
        self, threads: int, *, name: str = "wirekit-wsgi", sched_batch: bool = False
    ) -> None:
        self.size = threads
        self.name = name
        self.sched_batch = sched_batch
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    def submit(self, job: Callable[[], None]) -> None:
        if not self._threads:
            for number in range(self.size):
                thread = threading.Thread(
                    target=self._work, name=f"{self.name}-{number}", daemon=True
                )
                thread.start()
                self._threads.append(thread)
        self._jobs.put(job)

    def _work(self) -> None:
        if self.sched_batch:
            batch_scheduling()
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                job()
            except BaseException:
                logger.exception("WSGI worker job failed")
            # Not kept while the thread waits for the next job: a finished request (its
            # cycle, which its wsgi.input refers to weakly) is freed now.
            del job

    def shutdown(self, *, timeout: float) -> bool:
        """Stop the threads after their current jobs; False if some did not finish in time."""
        for _ in self._threads:
            self._jobs.put(None)
        # One deadline for all: joining each thread for the whole timeout in turn took
        # threads x timeout with stuck jobs.
        ends = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, ends - time.monotonic()))
        alive = any(thread.is_alive() for thread in self._threads)
        self._threads = []
        return not alive


#: The lock of every ``wsgi.input`` whose body was complete before the app started.
_COMPLETE_LOCK = threading.Condition(threading.Lock())


class WSGIInput:
    """``wsgi.input``: the request body, read in the worker thread as the loop receives it."""

    __slots__ = (
        "_asked_continue",
        "_buffered",
        "_chunks",
        "_cycle",
        "_done",
        "_gone",
        "_lock",
        "_offset",
        "need",
    )

    def __init__(self, cycle: WSGICycle, *, complete: bool = False) -> None:
        # Weak: the cycle holds this input, and so does its environ. A strong reference back
        # made every request a reference cycle left to the garbage collector, whose
        # collections were most of the WSGI server's latency tail (p99 at 64 connections:
        # 9-11 ms with the cycles, 5-6.5 ms with the collector off). A body complete from
        # the start needs nothing from its cycle (most GETs): no reference at all.
        self._cycle: weakref.ReferenceType[WSGICycle] | None = (
            None if complete else weakref.ref(cycle)
        )
        self._chunks: deque[bytes] = deque()
        self._offset = 0  # bytes of the first chunk already handed over
        self._buffered = 0
        self._done = complete
        self._gone = False
        self._asked_continue = False
        #: What the app, blocked in a read, needs buffered: 0 when it does not wait, -1 for
        #: the whole body. Reading goes on up to that much even above the high-water mark
        #: (or a read() would never finish), and no further.
        self.need = 0
        # A request that came without a body (most GETs) never waits and is never fed, so it
        # shares one Condition instead of building its own: creating a Condition (a Lock
        # and bound methods) was the largest Python cost of a small WSGI request.
        self._lock = _COMPLETE_LOCK if complete else threading.Condition(threading.Lock())

    # -- loop thread ----------------------------------------------------------------------
    def feed(self, data: bytes) -> int:
        with self._lock:
            self._chunks.append(data)
            self._buffered += len(data)
            self._lock.notify()
            return self._buffered

    def finish(self, *, gone: bool = False) -> None:
        if self._lock is _COMPLETE_LOCK and not gone:
            return  # complete from the start: nobody waits, nothing changes
        with self._lock:
            # Gone only counts before the body ended: a client that half-closes after a
            # complete request still sent the whole body.
            self._gone = self._gone or (gone and not self._done)
            self._done = True
            self._lock.notify()

    def over(self, high_water: int) -> bool:
        """More is buffered than the app needs or ``high_water`` allows: stop reading."""
        need = self.need
        return need >= 0 and self._buffered > max(high_water, need)

    # -- worker thread --------------------------------------------------------------------
    def _fill(self, wanted: int) -> None:
        """Wait until ``wanted`` bytes are buffered (-1: all of them) or the body ended."""
        lock = self._lock
        while not self._done and (wanted < 0 or self._buffered < wanted):
            cycle = self._owner()
            if cycle is None:
                # The cycle is gone only once its request is over: the app kept wsgi.input
                # and read it after its answer, when nothing reads the connection for it.
                raise ClientDisconnected("wsgi.input read after its request ended")
            if not self._asked_continue:
                self._asked_continue = True
                cycle.body_wanted()
            self.need = wanted if wanted > 0 else -1
            cycle.release_body()
            lock.wait(cycle.read_wait)
            self.need = 0
        if self._gone and (wanted < 0 or self._buffered < max(wanted, 1)):
            # Never hand over part of the body as if it were all of it (a truncated upload
            # stored as complete): reading the whole body, or past what came, fails.
            raise ClientDisconnected("client disconnected while sending the request body")

    def _take(self, size: int) -> bytes:
        """Hand over ``size`` buffered bytes (-1: all). A chunk read in part keeps its place
        with ``_offset``: slicing off its rest at every readline() copied the rest again
        for each line (quadratic in the chunk size)."""
        chunks = self._chunks
        offset = self._offset
        if size < 0 or size >= self._buffered:
            if offset:
                chunks[0] = chunks[0][offset:]
            data = b"".join(chunks)
            chunks.clear()
            self._offset = 0
        else:
            parts: list[bytes] = []
            need = size
            while need:
                chunk = chunks[0]
                available = len(chunk) - offset
                if available > need:
                    parts.append(chunk[offset : offset + need])
                    offset += need
                    break
                parts.append(chunk[offset:] if offset else chunk)
                chunks.popleft()
                offset = 0
                need -= available
            self._offset = offset
            data = parts[0] if len(parts) == 1 else b"".join(parts)
        self._buffered -= len(data)
        cycle = self._owner()
        if cycle is not None:
            cycle.release_body()
        return data

    def _owner(self) -> WSGICycle | None:
        """The request's cycle: None for a body complete from the start, or once it ended."""
        ref = self._cycle
        return None if ref is None else ref()

    def _line_end(self, scanned: int) -> int:
        """Where the first buffered line ends (just past its LF), or 0 if none has yet;
        the first ``scanned`` bytes are known to hold no LF and are not searched again."""
        position = 0  # buffered bytes before this chunk
        start = self._offset
        for chunk in self._chunks:
            length = len(chunk) - start
            if scanned < position + length:
                found = chunk.find(b"\n", start + max(0, scanned - position))
                if found >= 0:
                    return position + found - start + 1
            position += length
            start = 0
        return 0

    def read(self, size: int | None = -1) -> bytes:
        size = -1 if size is None else size
        if size == 0:
            return b""
        with self._lock:
            self._fill(size)
            return self._take(size)

    def read1(self, size: int = -1) -> bytes:
        with self._lock:
            self._fill(1)
            return self._take(size)

    def readline(self, size: int | None = -1) -> bytes:
        size = -1 if size is None else size
        with self._lock:
            scanned = 0
            while True:
                end = self._line_end(scanned)
                if end:
                    return self._take(end if size < 0 else min(end, size))
                buffered = self._buffered
                if 0 <= size <= buffered or (self._done and not self._gone):
                    return self._take(size)
                scanned = buffered
                self._fill(buffered + 1)

    def readlines(self, hint: int = -1) -> list[bytes]:
        lines: list[bytes] = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                return lines

    def __iter__(self) -> Iterator[bytes]:
        while True:
            line = self.readline()
            if not line:
                return
            yield line

    @property
    def buffered(self) -> int:
        return self._buffered


def build_environ(
    protocol: HTTPServerProtocol,
    request: Request,
    body: WSGIInput,
    *,
    root_path: str,
    multiprocess: bool,
) -> dict[str, Any]:
    """The PEP 3333 environ for one request."""
    raw_path, query = split_target(request.target)
    # PEP 3333 "Unicode issues": PATH_INFO is the decoded bytes, carried as latin-1 text.
    path = (unquote_to_bytes(raw_path) if b"%" in raw_path else raw_path).decode("latin-1")
    # SCRIPT_NAME in the same form: its UTF-8 bytes as latin-1 text.
    script_name = root_path if root_path.isascii() else root_path.encode().decode("latin-1")
    if script_name and (path == script_name or path.startswith(script_name + "/")):
        path = path[len(script_name) :]
    base = protocol.wsgi_environ
    if base is None:
        server = protocol.server or ("", 0)
        base = protocol.wsgi_environ = {
            "SERVER_NAME": server[0],
            "SERVER_PORT": str(server[1]),
            "SERVER_SOFTWARE": "wirekit",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": protocol.scheme,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": multiprocess,
            "wsgi.run_once": False,
            "wsgi.input_terminated": True,
        }
        if protocol.client is not None:
            base["REMOTE_ADDR"] = protocol.client[0]
            base["REMOTE_PORT"] = str(protocol.client[1])
    environ = base.copy()
    environ["REQUEST_METHOD"] = request.method.decode("ascii")
    environ["SCRIPT_NAME"] = script_name
    environ["PATH_INFO"] = path
    environ["QUERY_STRING"] = query.decode("latin-1")
    environ["RAW_URI"] = request.target.decode("latin-1")
    environ["SERVER_PROTOCOL"] = "HTTP/" + request.http_version.decode("ascii")
    environ["wsgi.input"] = body
    keys = _ENVIRON_KEYS
    for raw_name, raw_value in request.headers:
        key = keys.get(raw_name)
        if key is None:
            key = _environ_key(raw_name)
        if not key:
            continue
        value = raw_value.decode("latin-1")
        if key in environ and key[0] == "H":  # CONTENT_TYPE/LENGTH: the last one stands
            # Repeated fields join with "," (RFC 9110 §5.3); Cookie joins with "; " (§5.4).
            environ[key] += ("; " if key == "HTTP_COOKIE" else ",") + value
        else:
            environ[key] = value
    if request.target[:1] != b"/":
        authority = target_authority(request.target)
        if authority is not None:  # RFC 9112 §3.2.2: the target's host, not the Host header
            environ["HTTP_HOST"] = authority.decode("latin-1")
    host = environ.get("HTTP_HOST")
    if host:
        name, _, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
        if name and port.isdigit():
            environ["SERVER_NAME"] = name
        else:
            environ["SERVER_NAME"] = host
    return environ


#: Header name as received -> its environ key ("" for names dropped); clients send the same
#: few names in the same spelling, so each is worked out once (bounded, emptied when full).
_ENVIRON_KEYS: dict[bytes, str] = {}
_ENVIRON_KEYS_MAX = 1024


def _environ_key(raw_name: bytes) -> str:
    name = raw_name.decode("latin-1").upper()
    if "_" in name:
        # "X_Forwarded_For" would map to the same key as "X-Forwarded-For": dropping
        # underscores stops a client from spoofing a header a proxy set (as nginx does).
        key = ""
    elif name == "CONTENT-TYPE" or name == "CONTENT-LENGTH":
        key = name.replace("-", "_")
    else:
        key = "HTTP_" + name.replace("-", "_")
    if len(_ENVIRON_KEYS) >= _ENVIRON_KEYS_MAX:
        _ENVIRON_KEYS.clear()
    _ENVIRON_KEYS[raw_name] = key
    return key


def apply_forwarded(
    environ: dict[str, Any], client: tuple[str, int] | None, scheme: str, host: str | None
) -> None:
    """Put what a trusted proxy said (--proxy-headers) in place of the socket's view."""
    if client is not None:
        environ["REMOTE_ADDR"] = client[0]
        environ["REMOTE_PORT"] = str(client[1])
    environ["wsgi.url_scheme"] = scheme
    if host:
        environ["HTTP_HOST"] = host
        environ["SERVER_NAME"] = host.rsplit(":", 1)[0] if not host.endswith("]") else host


class WSGICycle:
    """One request handled by a WSGI app in a worker thread."""

    __slots__ = (
        "__weakref__",
        "_close_after",
        "_done_posted",
        "_headers",
        "_headers_sent",
        "_posted",
        "_resume_scheduled",
        "_started",
        "_status_parts",
        "_writable",
        "_written",
        "app",
        "debug",
        "environ",
        "expect_continue",
        "gone",
        "input",
        "loop",
        "protocol",
    )

    def __init__(
        self,
        protocol: HTTPServerProtocol,
        request: Request,
        app: WSGIApp,
        *,
        pool: WorkerPool,
        root_path: str,
        multiprocess: bool,
        debug: bool,
        forwarded: tuple[tuple[str, int] | None, str, str | None] | None = None,
    ) -> None:
        self.protocol = protocol
        self.loop = protocol.loop
        self.app = app
        self.debug = debug
        self.expect_continue = request.expect_continue
        # Bodiless (its EndOfMessage is the next event): the input is complete from the
        # start. Not "their_state is DONE": a body that came with the head is parsed, and
        # the state DONE, while its Data events still wait in the queue.
        self.input = WSGIInput(self, complete=protocol.conn.next_is_end_of_message)
        self.environ = build_environ(
            protocol, request, self.input, root_path=root_path, multiprocess=multiprocess
        )
        if forwarded is not None:
            apply_forwarded(self.environ, *forwarded)
        self.gone = False
        self._resume_scheduled = False
        self._posted = 0
        self._written = 0
        # Made by the worker the first time it has to wait for the client to read (most
        # answers never do); the loop sets it, if it exists, when the buffer drains.
        self._writable: threading.Event | None = None
        self._status_parts: tuple[int, bytes] = (500, b"")
        self._headers: list[tuple[bytes, bytes]] = []
        self._started = False
        self._headers_sent = False
        self._close_after = False
        self._done_posted = False
        pool.submit(self.run)

    # Settings only the body and back-pressure paths need: read when used, not per request.
    @property
    def high_water(self) -> int:
        return self.protocol.state.config.write_high_water

    @property
    def read_wait(self) -> float:
        return self.protocol.state.config.header_timeout

    @property
    def write_wait(self) -> float:
        return self.protocol.state.config.write_timeout

    # -- loop thread: from the connection ----------------------------------------------------
    def feed_body(self, data: bytes) -> None:
        body = self.input
        body.feed(data)
        if body.over(self.high_water):
            self.protocol.pause_body()

    def end_body(self) -> None:
        self.input.finish()

    def client_closed(self) -> None:
        pass  # WSGI has no way to tell the app; the answer is still written

    def connection_lost(self) -> None:
        self.gone = True
        self.input.finish(gone=True)
        self._wake_writer()

    def resume_writing(self) -> None:
        self._wake_writer()

    def _wake_writer(self) -> None:
        writable = self._writable
        if writable is not None:
            writable.set()

    # -- worker thread ---------------------------------------------------------------------
    def body_wanted(self) -> None:
        if self.expect_continue and not self._headers_sent:
            self._post(self.protocol.send_continue)

    def release_body(self) -> None:
        """Worker side: the app took bytes or waits for more; maybe read again."""
        if self.protocol.body_paused and not self._resume_scheduled:
            self._resume_scheduled = True
            self._post(self._loop_resume)

    def _loop_resume(self) -> None:
        self._resume_scheduled = False
        if not self.input.over(self.high_water):
            self.protocol.resume_body()

    def start_response(
        self,
        status: str,
        headers: list[tuple[str, str]],
        exc_info: ExcInfo | None = None,
    ) -> Callable[[bytes], None]:
        if exc_info is not None:
            try:
                if self._headers_sent:
                    # PEP 3333: too late to change the answer; re-raise the app's error.
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # break the traceback cycle, as PEP 3333 asks
        elif self._started:
            raise RuntimeError("WSGI start_response() called twice without exc_info")
        parts = _CHECKED_STATUSES.get(status) if isinstance(status, str) else None
        if parts is None:
            matched = _STATUS.match(status) if isinstance(status, str) else None
            if matched is None:
                raise ValueError(f"WSGI status must be a str like '200 OK', got {status!r}")
            parts = (int(matched[1]), (matched[2] or "").encode("latin-1"))
            if len(_CHECKED_STATUSES) >= _CHECKED_STATUSES_MAX:
                _CHECKED_STATUSES.clear()
            _CHECKED_STATUSES[status] = parts
        encoded: list[tuple[bytes, bytes]] = []
        names = _CHECKED_NAMES
        for pair in headers:
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise TypeError(f"WSGI header must be a (name, value) tuple, got {pair!r}")
            name, value = pair
            if not isinstance(name, str) or not isinstance(value, str):
                raise TypeError(f"WSGI header name and value must be str, got {pair!r}")
            if "\r" in value or "\n" in value or "\x00" in value:
                raise ValueError(f"WSGI header not allowed in HTTP: {pair!r}")
            raw_name = names.get(name)
            if raw_name is None:
                if not _TOKEN.match(name):
                    raise ValueError(f"WSGI header not allowed in HTTP: {pair!r}")
                lowered = name.lower()
                if lowered in _HOP_BY_HOP:
                    if lowered == "connection" and "close" in value.lower():
                        self._close_after = True
                    logger.debug("dropped hop-by-hop header %r set by the WSGI app", name)
                    continue
                # Apps send the same few names on every answer: each is checked once.
                if len(names) >= _CHECKED_NAMES_MAX:
                    names.clear()
                raw_name = names[name] = name.encode("latin-1")
            encoded.append((raw_name, value.encode("latin-1")))
        self._status_parts = parts
        self._headers = encoded
        self._started = True
        return self._write_legacy

    def _write_legacy(self, data: bytes) -> None:
        """The ``write()`` callable of PEP 3333 (for old apps)."""
        if not self._started:
            raise RuntimeError("WSGI write() called before start_response()")
        if not isinstance(data, bytes):
            raise TypeError(f"WSGI write() takes bytes, got {type(data).__name__}")
        if data:
            self._send(data, final=False)

    def _send(self, data: bytes, *, final: bool) -> None:
        if self.gone:
            raise ClientDisconnected("client disconnected while the response was being sent")
        if not self._headers_sent:
            self._headers_sent = True
            code, reason = self._status_parts
            self._post(self._loop_head, code, reason, self._headers, data, final)
        else:
            self._post(self._loop_body, data, final)
        self._posted += len(data)
        self._wait_writable()

    def _wait_writable(self) -> None:
        # Back-pressure: wait while the transport buffer is over its high-water mark or
        # too many bytes are queued for the loop, so a slow reader cannot fill our memory.
        writable = self._writable
        while not self.gone and (
            self.protocol.write_paused or self._posted - self._written > self.high_water
        ):
            if writable is None:
                # Published before the check below, so a loop that drains after that check
                # finds the event and sets it (the loop updates its counters first).
                writable = self._writable = threading.Event()
            writable.clear()
            # Checked again after clear(): the loop may have drained in between.
            still_full = not self.gone and (
                self.protocol.write_paused or self._posted - self._written > self.high_water
            )
            if still_full and not writable.wait(self.write_wait):
                self.gone = True
                self._post(self.protocol.abort)
                raise ClientDisconnected(
                    f"client did not read the response within write_timeout={self.write_wait}s"
                )

    def _post(self, callback: Callable[..., None], *args: Any) -> None:
        """Run ``callback(*args)`` in the loop's thread. A request that outlives the server
        (still running after shutdown_timeout and the pool's join) finds the loop closed:
        its connection was closed with it, so the app is told its client is gone."""
        try:
            self.loop.call_soon_threadsafe(callback, *args)
        except RuntimeError as exc:
            if not self.loop.is_closed():
                raise
            logger.debug(
                "WSGI request for %s %s outlived the server: its answer is dropped",
                self.environ["REQUEST_METHOD"],
                self.environ["PATH_INFO"],
            )
            self.gone = True
            raise ClientDisconnected("the server stopped before the response was sent") from exc

    def run(self) -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            result = self.app(self.environ, self.start_response)
            if isinstance(result, (str, bytes)):
                # A str or bytes "iterable" yields one character/int at a time: a classic
                # bug (PEP 3333 requires an iterable of bytestrings). Refuse it clearly.
                raise TypeError(
                    f"WSGI app returned {type(result).__name__}; it must return an "
                    "iterable of bytes, e.g. [body]"
                )
            if (
                isinstance(result, (list, tuple))
                and len(result) == 1
                and type(result[0]) is bytes
                and self._started
                and not self._headers_sent  # write() already sent the head: not "whole"
            ):
                # The common case: one hop to the loop writes the whole answer and frees
                # the request slot (a list has no close() to wait for).
                if self.gone:
                    raise ClientDisconnected("client disconnected before the response")
                self._headers_sent = True
                self._done_posted = True
                code, reason = self._status_parts
                self._post(self._loop_whole, code, reason, result[0])
            else:
                for chunk in result:
                    if not isinstance(chunk, bytes):
                        raise TypeError(
                            f"WSGI app yielded {type(chunk).__name__}; chunks must be bytes"
                        )
                    if not self._started:
                        raise RuntimeError("WSGI app yielded body before start_response()")
                    if chunk:
                        self._send(chunk, final=False)
                if not self._started:
                    raise RuntimeError("WSGI app returned without calling start_response()")
                if self._headers_sent:
                    self._post(self._loop_body, b"", True)
                else:
                    self._send(b"", final=True)
        except ClientDisconnected:
            pass
        except BaseException as exc:
            error = exc
            logger.error(
                "exception in WSGI app for %s %s",
                self.environ["REQUEST_METHOD"],
                self.environ["PATH_INFO"],
                exc_info=exc,
            )
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                try:
                    close()
                except BaseException as exc:
                    logger.error("WSGI iterable close() raised", exc_info=exc)
            if not self._done_posted:
                try:
                    self._post(self._loop_done, error)
                except ClientDisconnected:
                    pass  # the server stopped: nothing is left to answer or to count

    # -- loop thread: writes posted by the worker ----------------------------------------------
    def _loop_head(
        self,
        status: int,
        reason: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        final: bool,
    ) -> None:
        protocol = self.protocol
        if self._close_after:
            protocol.conn_keep_alive_off()
        try:
            protocol.send_head_and_body(status, headers, body, final=final, reason=reason or None)
        except Exception as exc:
            logger.error("WSGI response could not be sent: %s", exc)
            self.gone = True
            protocol.send_error(500, "Internal Server Error\n")
        self._written += len(body)
        if not protocol.write_paused:
            self._wake_writer()

    def _loop_whole(self, status: int, reason: bytes, body: bytes) -> None:
        self.protocol.state.in_flight -= 1
        self._loop_head(status, reason, self._headers, body, True)

    def _loop_body(self, data: bytes, final: bool) -> None:
        if self.gone:
            return
        try:
            self.protocol.send_body(data, final=final)
        except Exception as exc:  # e.g. a body longer or shorter than its Content-Length
            # The status line is gone: cutting the connection is the only honest signal left
            # (left open, the client would wait for bytes that never come).
            logger.error("WSGI response could not be sent: %s", exc)
            self.gone = True
            self.protocol.cut()
            return
        self._written += len(data)
        if not self.protocol.write_paused:
            self._wake_writer()

    def _loop_done(self, error: BaseException | None) -> None:
        protocol = self.protocol
        protocol.state.in_flight -= 1
        if error is None or self.gone:
            return
        if self._headers_sent:
            # The status line is gone: cutting the connection (a reset, so a close-delimited
            # body does not look complete) is all we can do.
            protocol.cut()
            return
        protocol.send_head_and_body(
            500,
            [(b"content-type", b"text/plain; charset=utf-8")],
            error_body(error, debug=self.debug),
            final=True,
        )
