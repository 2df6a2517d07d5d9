"""``Server``: bind sockets, run the app on an event loop, and shut down gracefully.

``Server(app, ...).run()`` blocks (installs SIGTERM/SIGINT handlers, uses uvloop when
installed); ``await Server(app, ...).serve()`` runs inside an existing loop; ``serve()`` is the
one-call form. Shutdown stops accepting, lets in-flight requests finish within
``shutdown_timeout``, closes idle keep-alive connections, then runs ASGI lifespan shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import inspect
import logging
import os
import signal
import socket
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

from mypy_extensions import mypyc_attr

from wirekit.errors import chained
from wirekit.server.accesslog import AccessLogger
from wirekit.server.asgi import ASGIApp, ASGICycle, build_scope
from wirekit.server.config import Interface, ServerConfig
from wirekit.server.lifespan import LifespanRunner
from wirekit.server.protocol import Cycle, HTTPServerProtocol, ServerState
from wirekit.server.proxy_headers import ProxyHeadersPolicy
from wirekit.server.wsgi import WorkerPool, WSGICycle, batch_scheduling

if TYPE_CHECKING:  # pragma: no cover
    import ssl

    from wirekit._proto.http1 import Request

__all__ = ["RejectRequest", "Server", "detect_interface", "serve"]

logger = logging.getLogger("wirekit.server")

#: How often a graceful shutdown checks whether in-flight requests are done.
_SHUTDOWN_POLL = 0.05


class RejectRequest(Exception):
    """Raised while starting a cycle to answer ``status`` with ``text`` instead."""

    def __init__(
        self, status: int, text: str, headers: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        super().__init__(text)
        self.status = status
        self.text = text
        self.headers = headers


def detect_interface(app: Any) -> Interface:
    """``asgi3`` for ``async def app(scope, receive, send)`` (function or object), else ``wsgi``."""
    if inspect.iscoroutinefunction(app):
        return "asgi3"
    call = getattr(app, "__call__", None)  # noqa: B004 - we need the bound method
    if call is not None and inspect.iscoroutinefunction(call):
        return "asgi3"
    return "wsgi"


#: Seconds a closing TLS connection waits for the client's close_notify.
_TLS_SHUTDOWN_TIMEOUT = 1.0


@mypyc_attr(allow_interpreted_subclasses=True)
class Server:
    """An HTTP/1.1 server for one WSGI or ASGI app.

    Options are the fields of :class:`ServerConfig`, given as ``config=`` or as keywords.
    """

    def __init__(self, app: Any, config: ServerConfig | None = None, **options: Any) -> None:
        base = config if config is not None else ServerConfig()
        self.config = base.replace(**options) if options else base
        self.interface: Interface = (
            detect_interface(app) if self.config.interface == "auto" else self.config.interface
        )
        self.app = app
        # Static files are dispatched by path before the app (for WSGI apps too), so
        # ``--static`` works whatever the app's interface is.
        self.static_app = self._static_app()
        self.proxy_policy: ProxyHeadersPolicy | None = (
            ProxyHeadersPolicy(
                self.config.forwarded_allow_ips,
                header_format=self.config.forwarded_headers,
                forwarded_host=self.config.forwarded_host,
            )
            if self.config.proxy_headers
            else None
        )
        prefix = self.config.static_path.rstrip("/")
        self._static_prefix = prefix.encode("latin-1")
        #: True when a request needs none of the optional dispatch steps (see _start_cycle).
        self._plain_asgi = (
            self.interface == "asgi3" and self.static_app is None and self.proxy_policy is None
        )
        #: Set once the sockets listen (from any thread: ``started.wait()``).
        self.started = threading.Event()
        #: The bound addresses (``(host, port)`` tuples, or Unix socket paths).
        self.addresses: list[Any] = []
        self.sockets: list[socket.socket] = []
        self.state: ServerState | None = None
        self.lifespan: LifespanRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stop_requested = False
        #: A second SIGINT/SIGTERM while stopping: requests in flight are not waited for.
        self._force_stop = False
        self._pool: WorkerPool | None = None
        self._uds_path: str | None = None
        self._saved_signals: dict[int, Any] = {}

    # -- app wiring -----------------------------------------------------------------------
    def _static_app(self) -> ASGIApp | None:
        if self.config.static_dir is None:
            return None
        from wirekit.server.static import StaticFiles

        return StaticFiles(self.config.static_dir)

    def _ssl_context(self) -> ssl.SSLContext | None:
        config = self.config
        if config.ssl_dev:
            from wirekit.server.tls import server_ssl_context, serving_dev_certificate

            certificate = serving_dev_certificate(logger)
            return server_ssl_context(
                certificate.certfile,
                certificate.keyfile,
                ca_certs=config.ssl_ca_certs,
                require_client_cert=config.ssl_ca_certs is not None,
            )
        if config.ssl_certfile:
            from wirekit.server.tls import server_ssl_context

            return server_ssl_context(
                config.ssl_certfile,
                config.ssl_keyfile or config.ssl_certfile,
                ca_certs=config.ssl_ca_certs,
                require_client_cert=config.ssl_ca_certs is not None,
            )
        return None

    # -- binding ----------------------------------------------------------------------------
    def bind(self) -> list[socket.socket]:
        """Create the listening sockets (called by ``serve`` unless sockets are given).

        A failure is an ``OSError`` that names the address (and leaves no socket open)."""
        config = self.config
        if config.fd is not None:
            sock = socket.socket(fileno=config.fd)
            if sock.type != socket.SOCK_STREAM:
                sock.detach()  # the descriptor is the caller's: left open, not closed
                raise OSError(errno.ENOTSOCK, f"fd {config.fd} is not a stream (TCP/Unix) socket")
            return [sock]
        if config.uds is not None:
            path = config.uds
            _remove_stale_unix_socket(path)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            with _closed_on_failure(sock, path):
                sock.bind(path)
                # A reverse proxy usually runs as another user: let it connect (as uvicorn
                # does); the directory's permissions decide who reaches the socket.
                os.chmod(path, 0o666)
                self._uds_path = path
                sock.listen(config.backlog)
            return [sock]
        host = config.host
        if host in ("", "::", "[::]"):
            # Dual-stack: one IPv6 socket that also takes IPv4 (RFC 3493 §5.3, V6ONLY off).
            sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            with _closed_on_failure(sock, f"[::]:{config.port}"):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                sock.bind(("::", config.port))
                sock.listen(config.backlog)
            return [sock]
        host = host.strip("[]")
        where = f"[{host}]:{config.port}" if ":" in host else f"{host}:{config.port}"
        try:
            family, kind, proto, _, address = socket.getaddrinfo(
                host, config.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )[0]
        except socket.gaierror as exc:
            raise chained(OSError(exc.errno, f"cannot bind {where}: {exc.strerror}"), exc) from exc
        sock = socket.socket(family, kind, proto)
        with _closed_on_failure(sock, where):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(config.backlog)
        return [sock]

    # -- request dispatch ---------------------------------------------------------------------
    def _start_cycle(self, protocol: HTTPServerProtocol, request: Request) -> Cycle:
        config = self.config
        if self._plain_asgi and request.upgrade is None:
            # The hot path (an ASGI app, no static files, no proxy headers, no upgrade):
            # the same steps as the general path below, without its checks.
            lifespan = self.lifespan
            scope = build_scope(
                protocol,
                request,
                root_path=config.root_path,
                state=lifespan.state if lifespan is not None else None,
            )
            cycle = ASGICycle(protocol, request, self.app, scope, debug=config.debug)
            cycle.start()
            return cycle
        forwarded = (
            self.proxy_policy.resolve(protocol.client, protocol.scheme, request.headers)
            if self.proxy_policy is not None
            else None
        )
        if forwarded is not None:
            protocol.log_peer = forwarded[0]  # the access log names the client, not the proxy
        state = self.lifespan.state if self.lifespan is not None else None
        built: dict[str, Any] | None = None
        static = self.static_app
        if static is not None and request.upgrade is None:
            # Built once: the static mount matches on its path, an ASGI app gets it otherwise.
            scope = built = build_scope(protocol, request, root_path=config.root_path, state=state)
            # Matched on the scope's path (decoded, absolute-form cut to its path, root_path
            # in front) as the app would see it, not on the raw target.
            mount = config.root_path + self._static_prefix.decode("latin-1")
            path = scope["path"]
            if path == mount or path.startswith(mount + "/"):
                # Mounted at the prefix: path stays whole, root_path grows (ASGI).
                scope["root_path"] = mount
                scope.pop("state", None)  # the app's lifespan state is not the mount's
                if forwarded is not None:
                    _apply_forwarded(scope, *forwarded)
                cycle = ASGICycle(protocol, request, static, scope, debug=config.debug)
                cycle.start()
                return cycle
        if self.interface == "wsgi":
            assert self._pool is not None
            return WSGICycle(
                protocol,
                request,
                self.app,
                pool=self._pool,
                root_path=config.root_path,
                multiprocess=config.workers > 1,
                debug=config.debug,
                forwarded=forwarded,
            )
        app: ASGIApp = self.app
        if request.upgrade and request.upgrade.strip().lower() == b"websocket":
            try:
                # Imported on first use: wsproto is needed only by apps that use WebSockets.
                from wirekit.server.websocket import WebSocketSession, handshake_problem
            except ImportError:
                raise chained(
                    RejectRequest(501, "WebSocket support needs the wsproto package\n"), None
                ) from None
            problem = handshake_problem(request)
            if problem is not None:
                # A version we do not speak is answered with the one we do (RFC 6455 §4.4).
                raise RejectRequest(400, problem + "\n", [(b"sec-websocket-version", b"13")])
            scope = build_scope(
                protocol, request, root_path=config.root_path, state=state, kind="websocket"
            )
            if forwarded is not None:
                _apply_forwarded(scope, *forwarded)
            return WebSocketSession(
                protocol, request, app, scope, max_message_bytes=config.ws_max_message_bytes
            )
        scope = (
            built
            if built is not None
            else build_scope(protocol, request, root_path=config.root_path, state=state)
        )
        if forwarded is not None:
            _apply_forwarded(scope, *forwarded)
        cycle = ASGICycle(protocol, request, app, scope, debug=config.debug)
        cycle.start()
        return cycle

    # -- running --------------------------------------------------------------------------------
    async def serve(
        self,
        sockets: list[socket.socket] | None = None,
        *,
        install_signal_handlers: bool = False,
    ) -> None:
        """Serve until :meth:`shutdown` (or a signal, if handlers are installed)."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._stop = stop = asyncio.Event()
        if self._stop_requested:
            stop.set()
        self.addresses = []
        # The certificate is read before anything is bound or started: a bad one leaves no
        # socket open and no lifespan startup without its shutdown.
        ssl_context = self._ssl_context()
        self.sockets = sockets if sockets is not None else self.bind()
        for sock in self.sockets:
            sock.setblocking(False)
        previous_handler = loop.get_exception_handler()
        loop.set_exception_handler(_AcceptErrorFilter(previous_handler))
        try:
            await self._serve(loop, stop, install_signal_handlers, ssl_context)
        finally:
            loop.set_exception_handler(previous_handler)
            self._stop_requested = self._force_stop = False  # the same Server can serve again
            self.started.clear()

    async def _serve(
        self,
        loop: asyncio.AbstractEventLoop,
        stop: asyncio.Event,
        install_signal_handlers: bool,
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        config = self.config
        if self.interface == "asgi3":
            self.lifespan = LifespanRunner(self.app, mode=config.lifespan)
            try:
                await self.lifespan.startup()
            except BaseException:
                self._close_sockets()
                raise
        else:
            self._pool = WorkerPool(config.threads, sched_batch=config.sched_batch)
        access_logger = (
            AccessLogger(config.access_log, stream=sys.stderr) if config.access_log else None
        )
        state = ServerState(
            config,
            start_cycle=self._start_cycle_checked,
            ssl_context=ssl_context,
            access_logger=access_logger,
        )
        state.proxy_policy = self.proxy_policy
        if self.interface == "wsgi":
            state.max_in_flight = config.max_pending_requests + config.threads
            state.hold_while_busy = True
        state.max_connections = connection_limit(config.max_connections)
        self.state = state
        servers: list[asyncio.Server] = []
        factory: Callable[[], asyncio.Protocol]
        if state.ssl_context is None:
            factory = partial(HTTPServerProtocol, state)
        else:
            # TLS is started per connection after the max_connections check (tls_accept
            # says why). The handshake has header_timeout (a client that never finishes
            # it is held no longer than one that never sends its head). After our
            # close_notify asyncio waits for the client's (30 s by default) with the
            # connection still counted: an idle browser connection then held graceful
            # shutdown for its whole timeout. Like nginx, wait no more than a moment.
            from wirekit.server.tls_accept import TLSAcceptor

            factory = partial(TLSAcceptor, state, _TLS_SHUTDOWN_TIMEOUT)
        error: BaseException | None = None
        try:
            for sock in self.sockets:
                if sock.family == socket.AF_UNIX:
                    server = await loop.create_unix_server(
                        factory, sock=sock, backlog=config.backlog
                    )
                else:
                    server = await loop.create_server(factory, sock=sock, backlog=config.backlog)
                servers.append(server)
                self.addresses.append(sock.getsockname())
            if install_signal_handlers:
                self._install_signal_handlers(loop)
            state.start_sweeping(loop)
            self.started.set()
            for address in self.addresses:
                logger.info("serving %s (%s) on %s", _describe(self.app), self.interface, address)
            await stop.wait()
        except BaseException as exc:  # cancelled, or a failure while starting
            error = exc
        # Shut down outside the except block, then raise what stopped us: a compiled
        # coroutine that awaits inside an except or finally block loses the exception in
        # flight (mypyc), so a cancelled serve() task returned as if it had finished.
        shutdown_error: BaseException | None = None
        try:
            await self._graceful_shutdown(servers, state)
        except BaseException as exc:
            shutdown_error = exc
        self._restore_signal_handlers(loop)
        if error is not None:
            raise error
        if shutdown_error is not None:
            raise shutdown_error

    def _start_cycle_checked(self, protocol: HTTPServerProtocol, request: Request) -> Cycle:
        try:
            return self._start_cycle(protocol, request)
        except RejectRequest as reject:
            protocol.state.in_flight -= 1
            from wirekit.server.protocol import _Fixed

            protocol.cycle = _Fixed(protocol)
            protocol.send_error(reject.status, reject.text, reject.headers)
            return protocol.cycle if protocol.cycle is not None else _Fixed(protocol)

    def _install_signal_handlers(self, loop: asyncio.AbstractEventLoop) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(signum)
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, self._on_signal)
                self._saved_signals[signum] = previous

    def _restore_signal_handlers(self, loop: asyncio.AbstractEventLoop) -> None:
        """Give the signals back as they were before ``serve`` (the program's own handlers,
        Ctrl-C's KeyboardInterrupt): left installed, they pointed at a finished loop."""
        saved, self._saved_signals = self._saved_signals, {}
        for signum, previous in saved.items():
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signum)
            with contextlib.suppress(TypeError, ValueError):
                signal.signal(signum, previous)

    def _on_signal(self) -> None:
        if self._stop_requested:
            # A second Ctrl-C (as with --workers, and uvicorn): stop now.
            self._force_stop = True
            logger.warning("second signal: closing connections without waiting for requests")
        self.shutdown()

    def shutdown(self) -> None:
        """Ask the server to stop gracefully. Safe from any thread, and before ``serve``."""
        self._stop_requested = True
        loop, stop = self._loop, self._stop
        if loop is None or stop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            stop.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(stop.set)

    async def _graceful_shutdown(self, servers: list[asyncio.Server], state: ServerState) -> None:
        config = self.config
        state.shutting_down = True
        await _stop_accepting(servers)
        state.refresh_clock()  # close_if_idle compares with it
        for server in servers:
            server.close()
        _wind_down(state)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + config.shutdown_timeout
        # Requests in flight finish (their connections close after the answer); the rest
        # of the connections are idle and were closed above.
        while (
            (state.connections or state.handshakes or state.in_flight > 0)
            and loop.time() < deadline
            and not self._force_stop
        ):
            state.refresh_clock()
            # Again and again: a connection accepted just before the shutdown may start a
            # request (a WebSocket too) after the first pass.
            _wind_down(state)
            await asyncio.sleep(_SHUTDOWN_POLL)
        pending = [task for task in state.tasks if not task.done()]
        if pending and loop.time() < deadline and not self._force_stop:
            # WebSocket handlers still cleaning up after their 1001: they finish (within
            # shutdown_timeout) before lifespan shutdown, as requests do.
            await asyncio.wait(pending, timeout=deadline - loop.time())
        for handshake in list(state.handshakes):  # out of time (or a second signal)
            handshake.abort()
        if state.connections or state.in_flight > 0:
            if not self._force_stop:
                logger.warning(
                    "shutdown_timeout=%ss passed with %d connections open: closing them",
                    config.shutdown_timeout,
                    len(state.connections),
                )
            for connection in list(state.connections):
                connection.abort()
            for task in list(state.tasks):
                task.cancel()
            if state.tasks:
                await asyncio.wait(list(state.tasks), timeout=1.0)
        state.stop_sweeping()
        for server in servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), timeout=1.0)
        if self.lifespan is not None:
            await self.lifespan.shutdown()
        if self._pool is not None:
            pool = self._pool
            await loop.run_in_executor(None, lambda: pool.shutdown(timeout=1.0))
        self._close_sockets()
        if state.access_logger is not None:
            state.access_logger.close()
        logger.info("server stopped")

    def _close_sockets(self) -> None:
        if self._uds_path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._uds_path)
        for sock in self.sockets:
            sock.close()

    def run(self, sockets: list[socket.socket] | None = None) -> None:
        """Serve in this thread until SIGTERM/SIGINT or :meth:`shutdown` (blocking)."""
        runner = _new_runner(self.config.use_uvloop)
        # The loop thread is ours here (not under serve(), which runs in the caller's
        # loop): it shares the GIL with the WSGI threads, so it gets their policy too,
        # for as long as it serves.
        undo = batch_scheduling() if self.interface == "wsgi" and self.config.sched_batch else None
        try:
            with runner:
                runner.run(self.serve(sockets, install_signal_handlers=True))
        finally:
            if undo is not None:
                undo()


def _wind_down(state: ServerState) -> None:
    """One pass of a graceful shutdown: WebSocket sessions are told the server is going away
    (1001; each says it once), idle connections are closed, and so are TLS handshakes begun
    more than FIRST_REQUEST_GRACE ago (a newer one may carry a request on its way)."""
    for handshake in list(state.handshakes):
        handshake.abort_if_late()
    for connection in list(state.connections):
        server_shutdown = getattr(connection.cycle, "server_shutdown", None)
        if server_shutdown is not None:
            server_shutdown()
        else:
            connection.close_if_idle()


async def _stop_accepting(servers: list[asyncio.Server]) -> None:
    """Stop accepting, and let connections accepted already reach their protocol.

    asyncio's own loop (not uvloop) hands each accepted socket to a task that attaches its
    transport to the Server one loop turn later; a Server closed in between fails that
    task with an AssertionError (CPython 3.11 ``Server._attach``) that asyncio swallows,
    and the connection is left open, answered by nobody, until garbage collection. So the
    listening sockets stop being read first, those tasks run, and only then is the Server
    closed (their protocols see ``shutting_down`` and close them)."""
    loop = asyncio.get_running_loop()
    if not isinstance(loop, asyncio.selector_events.BaseSelectorEventLoop):
        return  # uvloop attaches at once
    for server in servers:
        for sock in server.sockets:
            loop.remove_reader(sock.fileno())
    for _ in range(2):  # one turn runs the tasks, the next their connection_made
        await asyncio.sleep(0)


@contextlib.contextmanager
def _closed_on_failure(sock: socket.socket, where: str) -> Iterator[None]:
    """Close ``sock`` if binding it fails, and say which address failed."""
    try:
        yield
    except OSError as exc:
        sock.close()
        raise chained(
            OSError(exc.errno, f"cannot bind {where}: {exc.strerror or exc}"), exc
        ) from exc
    except BaseException:
        sock.close()
        raise


def _remove_stale_unix_socket(path: str) -> None:
    """Unlink a socket file left by an earlier run; refuse one a live server listens on."""
    try:
        if not stat.S_ISSOCK(os.stat(path).st_mode):
            return  # not ours to remove: bind() then fails with EADDRINUSE, naming it
    except FileNotFoundError:
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except ConnectionRefusedError:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # nobody listens: stale
        return
    except OSError:
        return  # let bind() report it
    finally:
        probe.close()
    raise OSError(errno.EADDRINUSE, f"cannot bind {path}: another server is listening on it")


class _AcceptErrorFilter:
    """An event-loop exception handler that says "accept() failed" once per interval.

    asyncio's accept loop reports an EMFILE once per backlog slot per attempt, each with a
    traceback (megabytes a second at the open-file limit); everything else goes to the
    handler that was there before."""

    INTERVAL = 10.0

    def __init__(self, previous: Any) -> None:
        self.previous = previous
        self.last = 0.0
        self.hidden = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") != "socket.accept() out of system resource":
            if self.previous is not None:
                self.previous(loop, context)
            else:
                loop.default_exception_handler(context)
            return
        now = loop.time()
        if now - self.last < self.INTERVAL:
            self.hidden += 1
            return
        logger.error(
            "accept() failed: %s (out of file descriptors? see max_connections and "
            "`ulimit -n`); %d more such errors in the last %.0f s not shown",
            context.get("exception"),
            self.hidden,
            self.INTERVAL,
        )
        self.last, self.hidden = now, 0


#: Descriptors kept free beyond the connections: listening sockets, the event loop's own,
#: log files, the app's. A connection over max_connections still takes one while it is
#: answered 503, so the limit must stay below the open-file limit.
FD_RESERVE = 32


def connection_limit(wanted: int) -> int:
    """``wanted`` connections, or fewer if the open-file limit cannot hold them.

    The soft RLIMIT_NOFILE (often 1,024) is raised toward the hard one first; what still
    does not fit lowers the limit, with a warning. Past the descriptor limit, accept()
    fails with EMFILE before the 503 answer can be given: clients hang (and asyncio logs a
    traceback per attempt) instead of being told to retry."""
    try:
        import resource
    except ImportError:  # pragma: no cover (not POSIX)
        return wanted
    unlimited = resource.RLIM_INFINITY
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + FD_RESERVE
    if soft != unlimited and soft < needed:
        raised = needed if hard == unlimited else min(hard, needed)
        if raised > soft:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
                soft = raised
            except (ValueError, OSError):
                pass
    if soft != unlimited and soft < needed:
        limit = max(1, soft - FD_RESERVE)
        logger.warning(
            "max_connections=%d does not fit the open-file limit (%d): serving at most %d "
            "connections at once (raise it with `ulimit -n`)",
            wanted,
            soft,
            limit,
        )
        return limit
    return wanted


def _apply_forwarded(
    scope: dict[str, Any], client: tuple[str, int] | None, scheme: str, host: str | None
) -> None:
    """Put what a trusted proxy said (--proxy-headers) in place of the socket's view."""
    scope["client"] = client
    if scope["type"] == "websocket":
        scheme = {"https": "wss", "http": "ws"}.get(scheme, scheme)
    scope["scheme"] = scheme
    if host:
        encoded = host.encode("latin-1")
        scope["headers"] = [(n, v) for n, v in scope["headers"] if n != b"host"]
        scope["headers"].append((b"host", encoded))


def _new_runner(use_uvloop: bool) -> asyncio.Runner:
    if use_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return asyncio.Runner(loop_factory=uvloop.new_event_loop)
    return asyncio.Runner()


def _describe(app: Any) -> str:
    name = getattr(app, "__qualname__", None) or type(app).__qualname__
    return f"{getattr(app, '__module__', '?')}:{name}"


def serve(app: Any, *, config: ServerConfig | None = None, **options: Any) -> None:
    """Serve ``app`` (WSGI or ASGI) until SIGTERM/SIGINT; options as in :class:`ServerConfig`."""
    Server(app, config, **options).run()
