"""``wirekit serve MODULE:APP``: run a WSGI or ASGI app on wirekit's HTTP/1.1 server.

Imports the app from the current directory (or ``--app-dir``), turns the options into a
``ServerConfig`` and runs ``Server`` (or several worker processes with ``--workers``).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import logging
import math
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from wirekit.server.config import (
    DEFAULT_BACKLOG,
    DEFAULT_BODY_RATE_GRACE,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_PENDING_REQUESTS,
    DEFAULT_MIN_BODY_RATE,
    DEFAULT_RETRY_AFTER,
    DEFAULT_SHUTDOWN_TIMEOUT,
    DEFAULT_THREADS,
    DEFAULT_WRITE_TIMEOUT,
    DEFAULT_WS_MAX_MESSAGE_BYTES,
    ServerConfig,
)

__all__ = [
    "AppImportError",
    "add_parser",
    "child_arguments",
    "config_from_args",
    "import_app",
    "main",
    "run",
]

logger = logging.getLogger("wirekit.server")

_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class AppImportError(Exception):
    """``MODULE:APP`` could not be imported; the message says which part and why."""


def import_app(spec: str, *, app_dir: str = ".") -> Any:
    """Import ``module.path:attribute.path`` with ``app_dir`` first on ``sys.path``."""
    module_name, colon, attribute = spec.partition(":")
    if not colon or not module_name or not attribute:
        raise AppImportError(
            f"app must look like MODULE:APP (e.g. myproject.web:app), not {spec!r}"
        )
    directory = os.path.abspath(app_dir)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name or module_name.startswith(f"{exc.name}."):
            raise AppImportError(
                f"could not import module {module_name!r} from {directory}"
            ) from exc
        raise
    found: Any = module
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise AppImportError(f"module {module_name!r} has no attribute {attribute!r}") from None
    return found


def _whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``minimum``. A bad value exits with status 2
    and argparse's message names the flag."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _seconds(text: str) -> float:
    """An argparse type: a finite number of seconds above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds > 0, got {text}")
    return value


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``serve`` on an ``argparse`` subparsers object."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="run a WSGI or ASGI app on the wirekit HTTP server",
        description="Serve a WSGI (PEP 3333) or ASGI 3 app over HTTP/1.1.",
    )
    parser.add_argument(
        "app",
        metavar="MODULE:APP",
        nargs="?",
        help="the app to import, e.g. mysite.wsgi:application (may be left out with --static: "
        "a static file server, its files at / unless --static-path says otherwise)",
    )
    parser.add_argument(
        "--app-dir", default=".", help="directory to import the app from (default: .)"
    )
    bind = parser.add_argument_group("binding")
    bind.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind; '::' for dual-stack IPv6+IPv4 (default: 127.0.0.1)",
    )
    bind.add_argument(
        "--port", type=int, default=8000, help="TCP port, 0 for any free one (default: 8000)"
    )
    bind.add_argument("--uds", help="listen on this Unix socket path instead of TCP")
    bind.add_argument("--fd", type=int, help="listen on this inherited, already-bound socket")
    bind.add_argument(
        "--backlog",
        type=int,
        default=DEFAULT_BACKLOG,
        help=f"listen() backlog (default: {DEFAULT_BACKLOG})",
    )
    app = parser.add_argument_group("application")
    app.add_argument(
        "--interface",
        choices=["auto", "asgi", "asgi3", "wsgi"],
        default="auto",
        help="app interface (default: detect; asgi is asgi3)",
    )
    app.add_argument(
        "--lifespan",
        choices=["auto", "on", "off"],
        default="auto",
        help="ASGI lifespan events (default: auto)",
    )
    app.add_argument(
        "--threads",
        type=int,
        default=DEFAULT_THREADS,
        help=f"WSGI worker threads (default: {DEFAULT_THREADS})",
    )
    app.add_argument(
        "--no-sched-batch",
        dest="sched_batch",
        action="store_false",
        help="keep the default Linux scheduling policy for a WSGI app's threads instead "
        "of SCHED_BATCH (which stops GIL-bound threads preempting each other)",
    )
    app.add_argument(
        "--workers", type=int, default=1, help="worker processes sharing the socket (default: 1)"
    )
    app.add_argument(
        "--root-path", default="", help="URL prefix the app is mounted at behind a proxy"
    )
    app.add_argument(
        "--debug", action="store_true", help="show tracebacks in 500 answers (never in production)"
    )
    app.add_argument(
        "--health-path", help="answer 200 'ok' on this path without calling the app, e.g. /healthz"
    )
    app.add_argument("--static", metavar="DIR", help="serve the files in DIR under --static-path")
    app.add_argument(
        "--static-path",
        help="URL prefix for --static (default: /static, or / when no MODULE:APP is given)",
    )
    app.add_argument(
        "--reload", action="store_true", help="restart when Python files change (development)"
    )
    limits = parser.add_argument_group("limits and timeouts")
    limits.add_argument(
        "--max-connections",
        type=int,
        default=DEFAULT_MAX_CONNECTIONS,
        help=f"open connections before 503 (default: {DEFAULT_MAX_CONNECTIONS})",
    )
    limits.add_argument(
        "--max-pending-requests",
        type=int,
        default=DEFAULT_MAX_PENDING_REQUESTS,
        help=f"queued requests before 503 (default: {DEFAULT_MAX_PENDING_REQUESTS})",
    )
    limits.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help="request body limit, 413 beyond (default: 100 MiB)",
    )
    limits.add_argument(
        "--idle-timeout",
        type=float,
        default=DEFAULT_IDLE_TIMEOUT,
        help=f"seconds of silence before and between requests (default: {DEFAULT_IDLE_TIMEOUT})",
    )
    limits.add_argument(
        "--header-timeout",
        type=float,
        default=DEFAULT_HEADER_TIMEOUT,
        help=f"seconds for a whole request head (default: {DEFAULT_HEADER_TIMEOUT})",
    )
    limits.add_argument(
        "--min-body-rate",
        type=int,
        default=DEFAULT_MIN_BODY_RATE,
        help=f"minimum upload bytes/s (default: {DEFAULT_MIN_BODY_RATE})",
    )
    limits.add_argument(
        "--shutdown-timeout",
        type=float,
        default=DEFAULT_SHUTDOWN_TIMEOUT,
        help=f"seconds in-flight requests get at shutdown (default: {DEFAULT_SHUTDOWN_TIMEOUT})",
    )
    limits.add_argument(
        "--write-timeout",
        type=_seconds,
        default=DEFAULT_WRITE_TIMEOUT,
        metavar="SECONDS",
        help=f"seconds an answer may wait on a client that does not read it "
        f"(default: {DEFAULT_WRITE_TIMEOUT})",
    )
    limits.add_argument(
        "--body-rate-grace",
        type=_seconds,
        default=DEFAULT_BODY_RATE_GRACE,
        metavar="SECONDS",
        help=f"seconds of upload before --min-body-rate applies "
        f"(default: {DEFAULT_BODY_RATE_GRACE})",
    )
    limits.add_argument(
        "--max-header-bytes",
        type=_whole_number(1),
        default=DEFAULT_MAX_HEADER_BYTES,
        metavar="BYTES",
        help=f"request head size limit, 431 beyond (default: {DEFAULT_MAX_HEADER_BYTES})",
    )
    limits.add_argument(
        "--ws-max-message-bytes",
        type=_whole_number(1),
        default=DEFAULT_WS_MAX_MESSAGE_BYTES,
        metavar="BYTES",
        help=f"largest WebSocket message, closed with 1009 beyond "
        f"(default: {DEFAULT_WS_MAX_MESSAGE_BYTES})",
    )
    limits.add_argument(
        "--no-ws-per-message-deflate",
        dest="ws_per_message_deflate",
        action="store_false",
        help="do not compress WebSocket messages even when the client offers "
        "permessage-deflate (RFC 7692)",
    )
    limits.add_argument(
        "--retry-after",
        # 0 is allowed: Retry-After is 1*DIGIT seconds (RFC 9110 section 10.2.3).
        type=_whole_number(0),
        default=DEFAULT_RETRY_AFTER,
        metavar="SECONDS",
        help=f"Retry-After value sent with 503 answers (default: {DEFAULT_RETRY_AFTER})",
    )
    tls = parser.add_argument_group("TLS")
    tls.add_argument("--ssl-certfile", help="certificate chain (PEM)")
    tls.add_argument("--ssl-keyfile", help="private key (PEM)")
    tls.add_argument("--ssl-ca-certs", help="CA bundle to require client certificates (mutual TLS)")
    tls.add_argument(
        "--ssl-dev",
        action="store_true",
        help="serve HTTPS with a throwaway self-signed certificate",
    )
    proxy = parser.add_argument_group("behind a proxy")
    proxy.add_argument(
        "--proxy-headers",
        action="store_true",
        help="trust X-Forwarded-For/-Proto (or Forwarded) from --forwarded-allow-ips",
    )
    proxy.add_argument(
        "--forwarded-headers",
        choices=("x-forwarded", "forwarded"),
        default="x-forwarded",
        help="the headers the proxy sets: X-Forwarded-* (default) or RFC 7239 Forwarded; "
        "the other kind is ignored",
    )
    proxy.add_argument(
        "--forwarded-host",
        action="store_true",
        help="let X-Forwarded-Host (or Forwarded host=) replace Host: only if the proxy "
        "always sets it",
    )
    proxy.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1,::1",
        help="comma-separated proxy addresses to trust (default: 127.0.0.1,::1)",
    )
    proxy.add_argument(
        "--proxy-protocol",
        action="store_true",
        help="expect a PROXY protocol v1/v2 header on each connection",
    )
    logs = parser.add_argument_group("logging")
    logs.add_argument(
        "--access-log",
        metavar="FORMAT",
        choices=["common", "combined", "json"],
        help="log each request (common, combined, json)",
    )
    logs.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="server log level (default: info)",
    )
    logs.add_argument(
        "--no-server-header", action="store_true", help="do not send 'Server: wirekit'"
    )
    logs.add_argument("--no-date-header", action="store_true", help="do not send the Date header")
    logs.add_argument(
        "--no-uvloop",
        action="store_true",
        help="use the standard asyncio loop even if uvloop is installed",
    )
    parser.set_defaults(handler=run)
    return parser


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    """The ``ServerConfig`` the command-line options describe."""
    return ServerConfig(
        host=args.host,
        port=args.port,
        uds=args.uds,
        fd=args.fd,
        backlog=args.backlog,
        interface="asgi3" if args.interface == "asgi" else args.interface,
        lifespan=args.lifespan,
        threads=args.threads,
        sched_batch=args.sched_batch,
        workers=args.workers,
        root_path=args.root_path,
        debug=args.debug,
        health_path=args.health_path,
        static_dir=args.static,
        static_path=args.static_path or ("/static" if args.app != STATIC_ONLY_APP else "/"),
        max_connections=args.max_connections,
        max_pending_requests=args.max_pending_requests,
        max_body_bytes=args.max_body_bytes,
        idle_timeout=args.idle_timeout,
        header_timeout=args.header_timeout,
        min_body_rate=args.min_body_rate,
        shutdown_timeout=args.shutdown_timeout,
        write_timeout=args.write_timeout,
        body_rate_grace=args.body_rate_grace,
        max_header_bytes=args.max_header_bytes,
        ws_max_message_bytes=args.ws_max_message_bytes,
        ws_per_message_deflate=args.ws_per_message_deflate,
        retry_after=args.retry_after,
        ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile,
        ssl_ca_certs=args.ssl_ca_certs,
        ssl_dev=args.ssl_dev,
        proxy_headers=args.proxy_headers,
        forwarded_headers=args.forwarded_headers,
        forwarded_host=args.forwarded_host,
        forwarded_allow_ips=tuple(
            address.strip() for address in args.forwarded_allow_ips.split(",") if address.strip()
        ),
        proxy_protocol=args.proxy_protocol,
        access_log=args.access_log,
        server_header=None if args.no_server_header else "wirekit",
        date_header=not args.no_date_header,
        use_uvloop=not args.no_uvloop,
    )


def run(args: argparse.Namespace) -> int:
    """Run the server; the exit status is 0 after a clean shutdown, 1 on a startup error."""
    from wirekit.server.main import Server

    level = _log_level(args.log_level)
    logging.basicConfig(level=level, format=_LOG_FORMAT)
    _follow_reloader()
    if args.app is None:
        if args.static is None:
            print(
                "wirekit serve: give the app to serve (MODULE:APP), or --static DIR",
                file=sys.stderr,
            )
            return 2
        args.app = STATIC_ONLY_APP  # an importable name, for workers and --reload too
    try:
        config = config_from_args(args)
        if config.static_dir is not None and not os.path.isdir(config.static_dir):
            # Checked here, before any worker or reloader starts, for a one-line error.
            raise ValueError(f"static directory {config.static_dir} does not exist")
    except (ValueError, OverflowError) as exc:
        print(f"wirekit serve: {exc}", file=sys.stderr)
        return 1
    if config.workers > 1 and not args.reload and hasattr(signal, "SIGHUP"):
        # A reload asked for while the app imports (systemctl reload at startup) must not
        # kill the server: the workers about to start load the current code anyway. The
        # supervisor installs its own SIGHUP handler when it runs.
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        app = import_app(args.app, app_dir=args.app_dir)
    except AppImportError as exc:
        # Only the loader's own errors are one line: an exception raised by the app's
        # module while importing keeps its traceback (it says where the app went wrong).
        print(f"wirekit serve: {exc}", file=sys.stderr)
        return 1
    if args.reload:
        return _run_with_reload(args)
    try:
        if config.workers > 1:
            return _run_workers(args.app, args.app_dir, config, log_level=level)
        Server(app, config).run()
    except OSError as exc:
        print(f"wirekit serve: {_serve_failure(config, exc)}", file=sys.stderr)
        return 1
    return 0


def _follow_reloader() -> None:
    """In a server started by ``--reload``: stop when the reloader dies."""
    from wirekit.server.reload import RELOADER_PID_VARIABLE

    reloader = os.environ.pop(RELOADER_PID_VARIABLE, "")
    if reloader.isdigit():
        from wirekit.server.workers import follow_parent  # multiprocessing: only when needed

        follow_parent(int(reloader))


def _serve_failure(config: ServerConfig, exc: OSError) -> str:
    message = str(exc)
    # Bind errors already name the address; others get it added.
    return message if "cannot bind" in message else f"could not serve on {_where(config)}: {exc}"


#: What ``wirekit serve --static DIR`` serves besides the files (every path that is not a
#: file is answered by the static server itself, so this only answers what is left: 404).
STATIC_ONLY_APP = "wirekit.cli.serve:static_only_app"


async def static_only_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The ASGI app of a static-only server: 404 for anything the files do not answer.
    (Lifespan: returning at once means "nothing to start", which the server accepts.)"""
    if scope["type"] != "http":
        return
    body = b"Not Found\n"
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def main(argv: list[str] | None = None) -> int:
    """``python -m wirekit.cli.serve MODULE:APP ...``: the same command without the
    dispatcher (what ``--reload`` restarts)."""
    parser = argparse.ArgumentParser(prog="wirekit")
    add_parser(parser.add_subparsers())
    return run(parser.parse_args(["serve", *(sys.argv[1:] if argv is None else argv)]))


def _log_level(name: str) -> int:
    level = logging.getLevelName(name.upper())
    if not isinstance(level, int):
        raise ValueError(f"unknown log level {name!r}")
    return level


def child_arguments(
    args: argparse.Namespace, *, leave_out: frozenset[str] = frozenset()
) -> list[str]:
    """Arguments for ``python -m wirekit.cli.serve`` that repeat the options in ``args``.

    Rebuilt from the parsed options, not from ``sys.argv``: the parent may have been started
    as ``wirekit serve``, ``python -m wirekit.cli.serve`` or from Python, with abbreviated
    flags. Options left at their default are omitted; ``leave_out`` names destinations
    (``"reload"``, ``"ssl_dev"``...) to drop.
    """
    serve_parser = add_parser(argparse.ArgumentParser(prog="wirekit").add_subparsers())
    arguments = [args.app]
    for action in serve_parser._actions:
        if not action.option_strings or action.dest == "help" or action.dest in leave_out:
            continue
        value = getattr(args, action.dest, action.default)
        if value == action.default:
            continue
        flag = action.option_strings[-1]
        if action.nargs == 0:  # an on/off switch such as --debug
            arguments.append(flag)
        else:
            # FLAG=VALUE so that a value starting with "-" is not read as a flag.
            arguments.append(f"{flag}={value}")
    return arguments


def _run_with_reload(args: argparse.Namespace) -> int:
    """Development: run the server as a child process, restarted when a .py file changes."""
    from wirekit.server.main import Server
    from wirekit.server.reload import run_with_reload

    leave_out = {"reload"}
    extra: list[str] = []
    binder: Server | None = None
    if args.fd is not None:
        listening_fd = args.fd
    else:
        # Bound once here and handed to every restarted server: the address stays the same
        # (even with --port 0), and connections made during a restart wait in the backlog
        # instead of being refused.
        config = config_from_args(args)
        binder = Server(_no_app, config)
        try:
            sockets = binder.bind()
        except OSError as exc:
            print(f"wirekit serve: {_serve_failure(config, exc)}", file=sys.stderr)
            return 1
        binder.sockets = sockets
        sockets[0].set_inheritable(True)
        listening_fd = sockets[0].fileno()
        extra += ["--fd", str(listening_fd)]
    certificate_folder: str | None = None
    try:
        if args.ssl_dev:
            # Made once here: a certificate per restart would change the fingerprint a
            # developer's client was told to trust at every saved edit.
            from wirekit.server.tls import serving_dev_certificate

            certificate = serving_dev_certificate(logger)
            certificate_folder = str(certificate.certfile.parent)
            leave_out |= {"ssl_dev", "ssl_certfile", "ssl_keyfile"}
            extra += [
                f"--ssl-certfile={certificate.certfile}",
                f"--ssl-keyfile={certificate.keyfile}",
            ]
        command = [
            sys.executable,
            "-m",
            "wirekit.cli.serve",
            *child_arguments(args, leave_out=frozenset(leave_out)),
            *extra,
        ]
        return run_with_reload(
            command, paths=[os.path.abspath(args.app_dir)], pass_fds=[listening_fd]
        )
    finally:
        if certificate_folder is not None:
            shutil.rmtree(certificate_folder, ignore_errors=True)
        if binder is not None:
            binder._close_sockets()


def _run_workers(
    app_spec: str, app_dir: str, config: ServerConfig, *, log_level: int = logging.INFO
) -> int:
    """Bind once here, then let N spawned worker processes serve the shared socket."""
    from wirekit.server.main import Server
    from wirekit.server.workers import Supervisor, WorkersNeverStarted

    if config.ssl_dev:
        # One certificate for every worker: if each made its own, clients would meet a
        # different certificate per connection, most not matching the one printed.
        from wirekit.server.tls import serving_dev_certificate

        certificate = serving_dev_certificate(logger)
        config = config.replace(
            ssl_dev=False,
            ssl_certfile=str(certificate.certfile),
            ssl_keyfile=str(certificate.keyfile),
        )
    binder = Server(_no_app, config)
    # Load the certificate here once: a bad one is an error now (as with one process), not
    # workers that die at startup and are restarted forever.
    binder._ssl_context()
    sockets = binder.bind()
    binder.sockets = sockets  # so _close_sockets() below closes them, not just the UDS path
    # Spawned workers start with fresh logging: they are told the level explicitly.
    target = functools.partial(_serve_in_worker, app_spec, app_dir, config, log_level=log_level)
    try:
        Supervisor(
            target,
            sockets,
            config.workers,
            # A worker's own shutdown_timeout ends with steps still to do (cancelling tasks,
            # lifespan shutdown): it is not killed before it had the time for them.
            graceful_timeout=config.shutdown_timeout + _WORKER_SHUTDOWN_MARGIN,
            target_reports_ready=True,
        ).run()
    except WorkersNeverStarted as exc:
        # As one process would: the app cannot start, so exit non-zero (not restart forever).
        print(f"wirekit serve: {exc}", file=sys.stderr)
        return 1
    finally:
        binder._close_sockets()
    return 0


#: Seconds a worker gets past shutdown_timeout before the supervisor kills it.
_WORKER_SHUTDOWN_MARGIN = 5.0


def _no_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:  # pragma: no cover
    raise RuntimeError("placeholder app used only to bind sockets")


def _serve_in_worker(
    app_spec: str, app_dir: str, config: ServerConfig, sock: Any, *, log_level: int = logging.INFO
) -> None:
    """Runs in each worker process (module level, so ``spawn`` can pickle it)."""
    from wirekit.server.main import Server
    from wirekit.server.workers import notify_ready, worker_stop_event

    logging.basicConfig(level=log_level, format=_LOG_FORMAT)
    app = import_app(app_spec, app_dir=app_dir)
    server = Server(app, config)

    def stop_when_told() -> None:
        # A SIGTERM that came while the app was importing (before the server had its own
        # handlers) must still stop this worker, not be lost until the supervisor kills it.
        worker_stop_event().wait()
        server.shutdown()

    threading.Thread(target=stop_when_told, name="wirekit-stop", daemon=True).start()

    def ready_once_serving() -> None:
        # Ready only once the app imported and the server started (lifespan included).
        if server.started.wait():
            notify_ready()

    threading.Thread(target=ready_once_serving, name="wirekit-ready", daemon=True).start()
    server.run([sock])


def _where(config: ServerConfig) -> str:
    if config.uds:
        return f"unix socket {config.uds}"
    if config.fd is not None:
        return f"fd {config.fd}"
    return f"{config.host}:{config.port}"


if __name__ == "__main__":
    sys.exit(main())
