"""Connection servers in the spirit of socketserver: one handler call per connection.

:class:`TCPServer` and :class:`UnixServer` run handlers on a bounded thread pool;
:class:`AsyncServer` runs coroutine handlers on asyncio. All of them bind port 0 on request
(``server.address`` tells the real one), filter clients with ``allow``, log a failing
handler and keep serving, and stop gracefully: stop accepting, then wait for handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import selectors
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeAlias

from wirekit.net.addresses import IPNetwork, NetworkSpec, _networks, in_network

__all__ = [
    "DEFAULT_BACKLOG",
    "DEFAULT_CONNECTION_TIMEOUT",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_STOP_TIMEOUT",
    "AsyncServer",
    "TCPServer",
    "UnixServer",
]

#: Connections handled at once (threads for the sync servers); more wait in the backlog.
DEFAULT_MAX_CONNECTIONS = 64
#: Kernel queue of not-yet-accepted connections (socket.SOMAXCONN is often 4096: too many
#: clients would wait unserved without knowing it).
DEFAULT_BACKLOG = 128
#: Seconds stop() waits for running handlers before cutting their connections.
DEFAULT_STOP_TIMEOUT = 5.0
#: Seconds a blocking read or write on a client connection may wait (socket timeout), so a
#: silent client cannot hold a handler slot for ever. None disables it.
DEFAULT_CONNECTION_TIMEOUT: float | None = 60.0

#: Seconds the accept loop pauses after accept() failed for lack of resources (EMFILE...):
#: the listener stays readable, and retrying at once would spin a core until a descriptor
#: is free. asyncio's own servers pause 1 s; handlers finishing free descriptors sooner.
_ACCEPT_PAUSE = 0.1
#: accept() errors that mean "out of descriptors or memory", not "this one client failed".
_RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})

SyncHandler: TypeAlias = Callable[[socket.socket, Any], None]
AsyncHandler: TypeAlias = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

logger = logging.getLogger("wirekit.net.servers")


def _tcp_listener(host: str, port: int, backlog: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # Lets a restarted server bind while old connections sit in TIME_WAIT.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and host == "::":
            # Dual stack: one socket for IPv6 and IPv4 (as ::ffff:a.b.c.d), whatever the
            # system default (net.ipv6.bindv6only) says.
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((host, port))
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def _unix_listener(path: str, backlog: int) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def _check_max_connections(max_connections: int) -> None:
    if max_connections < 1:
        raise ValueError(f"max_connections must be at least 1, not {max_connections}")


def _client_ip(address: Any) -> str | None:
    return address[0] if isinstance(address, tuple) and address else None


def _allowed_networks(allow: NetworkSpec | None) -> list[IPNetwork] | None:
    # Parsed once, at construction: a typo is InvalidAddress for the caller, instead of an
    # exception in the serving thread on the first client.
    return None if allow is None else _networks(allow)


class _ThreadedServer:
    """Accept loop in one thread, handlers on a pool of at most ``max_connections`` threads."""

    def __init__(
        self,
        listener: socket.socket,
        handler: SyncHandler,
        *,
        max_connections: int,
        allow: NetworkSpec | None,
        stop_timeout: float,
        connection_timeout: float | None,
    ) -> None:
        try:
            self._allowed = _allowed_networks(allow)
        except BaseException:
            listener.close()
            raise
        self.handler = handler
        self.connection_timeout = connection_timeout
        self.allow = allow
        self.max_connections = max_connections
        self.stop_timeout = stop_timeout
        self._listener = listener
        self._address = listener.getsockname()
        self._slots = threading.BoundedSemaphore(max_connections)
        self._pool = ThreadPoolExecutor(max_connections, thread_name_prefix="wirekit-conn")
        self._active: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._wake_read, self._wake_write = socket.socketpair()
        self._stopping = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> Any:
        """Where the server listens: (host, port) with the real port, or the Unix path."""
        return self._address

    def start(self) -> Any:
        if self._thread is None:
            self._thread = threading.Thread(target=self._accept_loop, name="wirekit-accept")
            self._thread.daemon = True
            self._thread.start()
        return self

    def _accept_loop(self) -> None:
        starved = False  # accept() is failing for lack of descriptors: said once per spell
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake_read, selectors.EVENT_READ)
            while not self._stopping.is_set():
                # Take a handler slot before accepting: when every slot is busy, new clients
                # wait in the kernel backlog instead of in an unbounded queue here.
                if not self._slots.acquire(timeout=0.5):
                    continue
                ready = [key.fileobj for key, _ in selector.select()]
                if self._wake_read in ready or self._stopping.is_set():
                    self._slots.release()
                    break
                try:
                    conn, address = self._listener.accept()
                except OSError as exc:
                    self._slots.release()
                    if exc.errno in _RESOURCE_ERRNOS:
                        if not starved:
                            logger.warning(
                                "cannot accept connections: %s; retrying every %s s",
                                exc.strerror,
                                _ACCEPT_PAUSE,
                            )
                            starved = True
                        self._stopping.wait(_ACCEPT_PAUSE)
                    continue
                starved = False
                if self._allowed is not None:
                    ip = _client_ip(address)
                    if ip is not None and not in_network(ip, self._allowed):
                        logger.info("refused connection from %s: not in allow list", ip)
                        conn.close()
                        self._slots.release()
                        continue
                with self._lock:
                    self._active.add(conn)
                self._pool.submit(self._handle, conn, address)

    def _handle(self, conn: socket.socket, address: Any) -> None:
        try:
            conn.settimeout(self.connection_timeout)
            self.handler(conn, address)
        except TimeoutError:
            logger.info(
                "closed connection from %s: idle longer than connection_timeout=%ss",
                address,
                self.connection_timeout,
            )
        except Exception:
            logger.exception("handler failed for connection from %s", address)
        finally:
            with self._lock:
                self._active.discard(conn)
            conn.close()
            self._slots.release()

    def stop(self, timeout: float | None = None) -> bool:
        """Stop accepting, wait up to ``timeout`` for handlers, then cut what is left.

        Returns True if every handler finished on its own.
        """
        if self._stopped:
            return True
        self._stopped = True
        timeout = self.stop_timeout if timeout is None else timeout
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_write.send(b"x")
        if self._thread is not None:
            self._thread.join(timeout)
        self._listener.close()
        finished = self._wait_idle(timeout)
        if not finished:
            with self._lock:
                left = list(self._active)
            logger.warning("stop: cutting %d connection(s) still open", len(left))
            for conn in left:
                # shutdown() wakes a handler blocked in recv() with EOF, close() would not.
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        self._pool.shutdown(wait=finished)
        self._wake_read.close()
        self._wake_write.close()
        return finished

    def _wait_idle(self, timeout: float) -> bool:
        # Every idle slot is released: acquiring them all means no handler is running.
        deadline = time.monotonic() + timeout
        taken = 0
        try:
            while taken < self.max_connections:
                if not self._slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
                    return False
                taken += 1
            return True
        finally:
            for _ in range(taken):
                self._slots.release()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class TCPServer(_ThreadedServer):
    """Call ``handler(connection, client_address)`` in a worker thread for each client.

    ``host="::"`` listens on IPv6 and IPv4 at once. Each connection has a socket timeout of
    ``connection_timeout`` seconds (a handler stuck on a silent client gets TimeoutError,
    logged at info level) and is closed after the handler returns. Use as a context
    manager, or call start() and stop().
    """

    def __init__(
        self,
        handler: SyncHandler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        allow: NetworkSpec | None = None,
        backlog: int = DEFAULT_BACKLOG,
        stop_timeout: float = DEFAULT_STOP_TIMEOUT,
        connection_timeout: float | None = DEFAULT_CONNECTION_TIMEOUT,
    ) -> None:
        _check_max_connections(max_connections)
        super().__init__(
            _tcp_listener(host, port, backlog),
            handler,
            max_connections=max_connections,
            allow=allow,
            stop_timeout=stop_timeout,
            connection_timeout=connection_timeout,
        )

    def __enter__(self) -> TCPServer:
        self.start()
        return self


class UnixServer(_ThreadedServer):
    """:class:`TCPServer` on a Unix socket ``path`` (removed again when stopped)."""

    def __init__(
        self,
        handler: SyncHandler,
        path: str,
        *,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        backlog: int = DEFAULT_BACKLOG,
        stop_timeout: float = DEFAULT_STOP_TIMEOUT,
        connection_timeout: float | None = DEFAULT_CONNECTION_TIMEOUT,
    ) -> None:
        _check_max_connections(max_connections)
        self.path = path
        super().__init__(
            _unix_listener(path, backlog),
            handler,
            max_connections=max_connections,
            allow=None,
            stop_timeout=stop_timeout,
            connection_timeout=connection_timeout,
        )

    def stop(self, timeout: float | None = None) -> bool:
        finished = super().stop(timeout)
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        return finished

    def __enter__(self) -> UnixServer:
        self.start()
        return self


class AsyncServer:
    """asyncio server: ``await handler(reader, writer)`` per connection (TCP or Unix).

    Give ``host``/``port`` for TCP or ``path`` for a Unix socket. At most
    ``max_connections`` handlers run at once; later clients wait. The writer is closed
    after the handler returns. ``async with AsyncServer(...) as server:`` starts and stops.
    """

    def __init__(
        self,
        handler: AsyncHandler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        allow: NetworkSpec | None = None,
        backlog: int = DEFAULT_BACKLOG,
        stop_timeout: float = DEFAULT_STOP_TIMEOUT,
    ) -> None:
        _check_max_connections(max_connections)
        self.handler = handler
        self.host, self.port, self.path = host, port, path
        self.allow = allow
        self._allowed = _allowed_networks(allow)
        self.backlog = backlog
        self.stop_timeout = stop_timeout
        self.max_connections = max_connections
        self._server: asyncio.Server | None = None
        self._slots: asyncio.Semaphore | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> Any:
        """Where the server listens: (host, port) with the real port, or the Unix path."""
        if self._server is None:
            raise RuntimeError("server not started")
        return self._server.sockets[0].getsockname()

    async def start(self) -> AsyncServer:
        self._slots = asyncio.Semaphore(self.max_connections)
        if self.path is not None:
            self._server = await asyncio.start_unix_server(
                self._on_connection, self.path, backlog=self.backlog
            )
        else:
            listener = _tcp_listener(self.host, self.port, self.backlog)
            self._server = await asyncio.start_server(self._on_connection, sock=listener)
        return self

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        assert self._slots is not None
        self._tasks.add(task)
        try:
            ip = _client_ip(writer.get_extra_info("peername"))
            if self._allowed is not None and ip is not None and not in_network(ip, self._allowed):
                logger.info("refused connection from %s: not in allow list", ip)
                return
            async with self._slots:
                try:
                    await self.handler(reader, writer)
                except Exception:
                    logger.exception("handler failed for connection from %s", ip)
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def stop(self, timeout: float | None = None) -> bool:
        """Stop accepting, wait up to ``timeout`` for handlers, then cancel what is left."""
        timeout = self.stop_timeout if timeout is None else timeout
        if self._server is not None:
            self._server.close()
        pending = set(self._tasks)
        finished = True
        if pending:
            _done, still = await asyncio.wait(pending, timeout=timeout)
            for task in still:
                task.cancel()
            if still:
                finished = False
                await asyncio.wait(still, timeout=1.0)
        if self.path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
        return finished

    async def __aenter__(self) -> AsyncServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
