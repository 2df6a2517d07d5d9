"""Accepting a TLS connection: count it, hand it to the TLS layer, log a failed handshake.

The server listens on plain TCP and starts TLS itself (``loop.start_tls``) rather than
giving ``ssl=`` to ``create_server``. asyncio's own path calls the protocol only once the
handshake is done, which left three holes:

- a client that connects and never finishes its handshake was not counted against
  ``max_connections`` (its descriptor was held for the handshake timeout, uncounted);
- a failed handshake (a client certificate from an unknown CA, a client that refuses our
  certificate) was reported only in asyncio's debug mode;
- the server did not hold the socket transport, so it could not tell when an answer had
  really left its buffers (``HTTPServerProtocol.close`` waits for that over TLS).

Written here, not taken from a library: no library for asyncio does this part, and the TLS
work itself stays asyncio's (or uvloop's) own ``start_tls``.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from typing import cast

from wirekit.server.protocol import FIRST_REQUEST_GRACE, HTTPServerProtocol, ServerState

__all__ = ["TLSAcceptor"]

logger = logging.getLogger("wirekit.server")


class TLSAcceptor(asyncio.Protocol):
    """The protocol of a TCP connection until its TLS handshake is done.

    Then the connection belongs to a new :class:`HTTPServerProtocol` (on the TLS transport)
    and this object is dropped. While the handshake runs the connection counts against
    ``max_connections`` (``ServerState.handshakes``).
    """

    def __init__(self, state: ServerState, shutdown_timeout: float) -> None:
        self.state = state
        self.shutdown_timeout = shutdown_timeout
        self.transport: asyncio.Transport | None = None
        self.task: asyncio.Task[None] | None = None
        #: "host:port" of the client, for the log (read while the transport is open:
        #: uvloop's raises once it is closed).
        self.client = "unknown client"
        #: The start of the ClientHello if it came before start_tls took the transport.
        self.early = bytearray()
        #: Until when a graceful shutdown lets the handshake (then the first request) run.
        self.fresh_until = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)
        state = self.state
        if state.connection_count() >= state.max_connections:
            # Over the limit: no handshake (it is what the limit protects), just close.
            logger.warning(
                "TLS connection refused: max_connections=%d reached", state.max_connections
            )
            transport.abort()
            return
        # Accepted, even while a graceful shutdown begins: as for plain TCP, its handshake
        # and first request may finish within FIRST_REQUEST_GRACE of now.
        self.fresh_until = time.monotonic() + FIRST_REQUEST_GRACE
        # Nothing should be read until start_tls has put the TLS layer in place (it
        # resumes reading). uvloop starts reading after connection_made regardless, so
        # data_received below keeps what comes early.
        transport.pause_reading()
        self.transport = transport
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            self.client = f"{peer[0]}:{peer[1]}"
        state.handshakes.add(self)
        self.task = asyncio.get_running_loop().create_task(self._handshake(transport))

    def data_received(self, data: bytes) -> None:
        # Only before start_tls took the transport over (uvloop): keep it for the TLS
        # layer, and stop reading (pause_reading works once reading has started).
        self.early += data
        if self.transport is not None:
            self.transport.pause_reading()

    def eof_received(self) -> bool:
        return True  # the handshake sees the EOF (and fails) once it starts

    def connection_lost(self, exc: Exception | None) -> None:
        # Only reached when the connection is closed before start_tls took it over.
        self.state.handshakes.discard(self)
        if self.task is not None:
            self.task.cancel()

    def abort_if_late(self) -> None:
        """Graceful shutdown: drop the connection if its handshake is not done in time."""
        if time.monotonic() >= self.fresh_until:
            self.abort()

    def abort(self) -> None:
        """Drop a connection still in its handshake.

        The transport is aborted here, not only by the task: a task cancelled before its
        first step never runs its own cleanup."""
        self.state.handshakes.discard(self)
        if self.task is not None:
            self.task.cancel()
        if self.transport is not None:
            self.transport.abort()

    async def _handshake(self, transport: asyncio.Transport) -> None:
        state = self.state
        loop = asyncio.get_running_loop()
        waiting = _Waiting()
        timeout = state.config.header_timeout
        started = loop.time()
        if self.early:
            # Runs after start_tls (just below) has swapped in its TLS protocol and before
            # that protocol's connection_made starts the handshake, which reads these
            # bytes first.
            loop.call_soon(_feed_early, transport, self.early)
        try:
            tls = await loop.start_tls(
                transport,
                waiting,
                cast(ssl.SSLContext, state.ssl_context),
                server_side=True,
                ssl_handshake_timeout=timeout,
                ssl_shutdown_timeout=self.shutdown_timeout,
            )
        except asyncio.CancelledError:
            transport.abort()
            return
        except Exception as exc:  # ssl.SSLError is an OSError; a closed transport raises others
            transport.abort()
            _log_failed_handshake(self.client, exc, loop.time() - started >= timeout, timeout)
            return
        finally:
            state.handshakes.discard(self)
        if tls is None:  # the connection went away as the handshake ended
            transport.abort()
            return
        protocol = HTTPServerProtocol(state)
        protocol.raw_transport = transport
        tls.set_protocol(protocol)
        protocol.connection_made(tls)
        protocol.fresh_until = self.fresh_until  # the grace runs from the TCP accept
        waiting.hand_over(protocol)


class _Waiting(asyncio.Protocol):
    """The TLS protocol's app protocol until start_tls has returned.

    The TLS layer delivers what came with the client's last handshake message (a TLS 1.3
    client sends its first request right after its Finished) as soon as the handshake is
    done, before start_tls returns: given to HTTPServerProtocol then, the request would
    come before its connection_made. Kept here and replayed in order instead.
    """

    def __init__(self) -> None:
        self.data = bytearray()
        self.eof = False
        self.lost: list[Exception | None] = []

    def data_received(self, data: bytes) -> None:
        self.data += data

    def eof_received(self) -> bool:
        self.eof = True
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.append(exc)

    def hand_over(self, protocol: HTTPServerProtocol) -> None:
        if self.data:
            protocol.data_received(bytes(self.data))
        if self.eof:
            protocol.eof_received()
        if self.lost:
            protocol.connection_lost(self.lost[0])


def _feed_early(transport: asyncio.Transport, data: bytearray) -> None:
    """Give the TLS protocol bytes read before it was in place (a BufferedProtocol in
    asyncio and uvloop: get_buffer/buffer_updated write them into its incoming buffer)."""
    protocol = transport.get_protocol()
    view = memoryview(data)
    if not hasattr(protocol, "buffer_updated"):  # uvloop's is no BufferedProtocol subclass
        cast(asyncio.Protocol, protocol).data_received(bytes(view))
        return
    buffered = cast(asyncio.BufferedProtocol, protocol)
    while view:
        buffer = memoryview(buffered.get_buffer(len(view)))
        size = min(len(buffer), len(view))
        buffer[:size] = view[:size]
        buffered.buffer_updated(size)
        view = view[size:]


def _log_failed_handshake(client: str, exc: BaseException, timed_out: bool, timeout: float) -> None:
    if timed_out:
        logger.info("closing %s: TLS handshake not done within header_timeout=%ss", client, timeout)
    elif isinstance(exc, ssl.SSLCertVerificationError):
        logger.info(
            "TLS handshake with %s failed: client certificate rejected: %s",
            client,
            exc.verify_message or exc.reason or exc,
        )
    elif isinstance(exc, ssl.SSLError) and not isinstance(exc, ssl.SSLEOFError):
        reason = str(exc.reason or exc)
        if "_ALERT_" in reason:
            # The client ended the handshake: TLSV1_ALERT_UNKNOWN_CA is "it does not trust
            # our certificate", ..._PROTOCOL_VERSION "no TLS version in common".
            alert = reason.partition("_ALERT_")[2].replace("_", " ").lower()
            logger.info("TLS handshake with %s failed: the client sent alert %r", client, alert)
        else:
            # A protocol or cipher mismatch, plain HTTP sent to the TLS port...
            logger.info("TLS handshake with %s failed: %s", client, reason)
    else:
        # The client went away mid-handshake (a TCP health check, a port scan): routine.
        logger.debug("TLS handshake with %s ended early: %r", client, exc)
