"""TLS inside an already encrypted stream (HTTPS origin through an HTTPS proxy), sync side.

``ssl.SSLSocket`` cannot wrap another TLS socket, so the inner session runs on an
``ssl.SSLObject`` with memory BIOs, pumping bytes through the outer stream. (The asyncio
backend needs none of this: ``loop.start_tls`` nests transports since Python 3.11.)
"""

from __future__ import annotations

import functools
import ssl
import time
from collections.abc import Callable
from typing import Any, TypeVar

from wirekit._io._shared import (
    read_failure,
    read_timeout,
    tls_details,
    tls_failure,
    tls_timeout,
    trace_done,
    write_failure,
)
from wirekit._io.base import NetworkStream, Trace
from wirekit.errors import ReadTimeout, TimeoutException, TransportError

__all__ = ["TLSOverStream"]

_T = TypeVar("_T")

#: Bytes asked of the outer stream per pump: one TLS record is at most 16 KiB + overhead.
_PUMP_BYTES = 65536


class TLSOverStream:
    """A :class:`NetworkStream` running TLS over another (possibly TLS) NetworkStream."""

    def __init__(
        self,
        outer: NetworkStream,
        ssl_object: ssl.SSLObject,
        bios: tuple[ssl.MemoryBIO, ssl.MemoryBIO],
        peer: str,
        trace: Trace | None,
    ) -> None:
        self._outer = outer
        self._ssl_object = ssl_object
        self._incoming, self._outgoing = bios
        self._peer = peer
        self._trace = trace
        self._closed = False

    @classmethod
    def wrap(
        cls,
        outer: NetworkStream,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None,
        *,
        peer: str,
        timeout: float | None,
        trace: Trace | None,
    ) -> TLSOverStream:
        """Handshake over ``outer``. On failure the outer stream is closed."""
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        try:
            ssl_object = ssl_context.wrap_bio(incoming, outgoing, server_hostname=server_hostname)
        except (ssl.SSLError, ValueError) as exc:
            outer.close()
            raise tls_failure(server_hostname, exc) from exc
        stream = cls(outer, ssl_object, (incoming, outgoing), peer, trace)
        try:
            stream._run(ssl_object.do_handshake, timeout)
        except TimeoutException as exc:
            outer.close()
            raise tls_timeout(server_hostname, timeout) from exc
        except (ssl.SSLError, TransportError) as exc:
            outer.close()
            raise tls_failure(server_hostname, exc) from exc
        except BaseException:
            outer.close()
            raise
        if trace is not None:
            trace_done(trace, "tls.done", tls_details(ssl_object), outer.close)
        return stream

    def _run(self, operation: Callable[[], _T], timeout: float | None) -> _T:
        """Retry ``operation`` while the TLS engine wants bytes, pumping both directions."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                result = operation()
            except ssl.SSLWantReadError:
                self._flush(deadline)
                remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
                data = self._outer.read(_PUMP_BYTES, timeout=remaining)
                if data:
                    self._incoming.write(data)
                else:
                    self._incoming.write_eof()
                continue
            self._flush(deadline)
            return result

    def _flush(self, deadline: float | None) -> None:
        pending = self._outgoing.read()
        if pending:
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            self._outer.write(pending, timeout=remaining)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            return self._run(functools.partial(self._ssl_object.read, max_bytes), timeout)
        except ssl.SSLZeroReturnError:
            return b""
        except ssl.SSLEOFError:
            return b""  # ragged EOF: as the standard library's suppress_ragged_eofs does
        except ReadTimeout as exc:
            raise read_timeout(self._peer, timeout) from exc
        except ssl.SSLError as exc:
            raise read_failure(self._peer, exc) from exc

    def write(self, data: bytes, timeout: float | None = None) -> None:
        view = memoryview(data)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while view:
                remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
                written = self._run(functools.partial(self._ssl_object.write, view), remaining)
                view = view[written:]
        except ssl.SSLError as exc:
            raise write_failure(self._peer, exc) from exc

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._outer.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None,
        timeout: float | None = None,
    ) -> TLSOverStream:
        if self._trace is not None:
            self._trace("tls.start", {"server_hostname": server_hostname})
        return TLSOverStream.wrap(
            self, ssl_context, server_hostname, peer=self._peer, timeout=timeout, trace=self._trace
        )

    def get_extra_info(self, name: str) -> Any:
        if name == "ssl_object":
            return self._ssl_object
        if name == "alpn_protocol":
            return self._ssl_object.selected_alpn_protocol()
        return self._outer.get_extra_info(name)

    def is_readable(self) -> bool:
        return self._closed or bool(self._ssl_object.pending()) or self._outer.is_readable()
