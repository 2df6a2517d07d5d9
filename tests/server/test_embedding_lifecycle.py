"""Embedding ``Server``: bind failures, reuse of one Server, signal handlers after run()."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from tests.server.apps import asgi_hello, wsgi_hello
from tests.server.support import WAIT
from wirekit.server import Server

ROOT = Path(__file__).resolve().parents[2]


def _pythonpath() -> str:
    """The repository root (for ``tests.*``), after any PYTHONPATH already set."""
    return os.pathsep.join([*filter(None, [os.environ.get("PYTHONPATH")]), str(ROOT)])


def _open_sockets() -> int:
    """Socket descriptors of this process (other fds, e.g. a loop's one-time pipes, ignored)."""
    count = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{name}").startswith("socket:")
        except OSError:  # the descriptor os.listdir itself used
            pass
    return count


def _busy_listener() -> socket.socket:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    return busy


# The leaked sockets are also reported as ResourceWarnings when the errors are freed; the
# assertion below is what this test checks.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_failed_bind_closes_the_socket_it_created() -> None:
    """Retrying on "address in use" (or keeping the error for a report) must not leak fds."""
    with _busy_listener() as busy:
        port = busy.getsockname()[1]
        before = _open_sockets()
        kept: list[OSError] = []
        for _ in range(3):
            try:
                Server(wsgi_hello, host="127.0.0.1", port=port).run()
            except OSError as exc:
                kept.append(exc)  # as a caller logging or re-raising it later would
        assert len(kept) == 3
        leaked = _open_sockets() - before
        del kept
    assert leaked == 0, f"{leaked} listening sockets left open by failed binds"


def test_address_in_use_error_names_host_and_port() -> None:
    with _busy_listener() as busy:
        port = busy.getsockname()[1]
        with pytest.raises(OSError) as caught:
            Server(wsgi_hello, host="127.0.0.1", port=port).run()
    message = str(caught.value)
    assert "127.0.0.1" in message, message
    assert str(port) in message, message


@pytest.mark.parametrize("port", [65536, 70000])
def test_out_of_range_port_is_refused_not_wrapped(port: int) -> None:
    """port=70000 must not quietly bind 4464 (70000 % 65536), nor 65536 a random port."""
    try:
        server = Server(wsgi_hello, host="127.0.0.1", port=port, shutdown_timeout=2.0)
    except (ValueError, OverflowError, OSError):
        return  # refused when configured: fine
    errors: list[BaseException] = []

    def main() -> None:
        try:
            server.run()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    started = server.started.wait(WAIT)
    if started:
        server.shutdown()
    thread.join(WAIT)
    assert not started, f"port={port} was accepted and the server listens on {server.addresses}"
    assert errors, "the server neither served nor raised"


@pytest.mark.parametrize("app", [wsgi_hello, asgi_hello], ids=["wsgi", "asgi"])
def test_a_server_can_run_again_after_shutdown(app: object) -> None:
    """run() a second time on the same Server must serve, not return at once."""
    server = Server(app, host="127.0.0.1", port=0, shutdown_timeout=2.0)
    for round_ in range(2):
        server.started.clear()
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        assert server.started.wait(WAIT), f"round {round_}: not started"
        thread.join(0.5)
        assert thread.is_alive(), f"round {round_}: run() returned without being stopped"
        port = server.addresses[0][1]
        with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 200"), f"round {round_}"
        server.shutdown()
        thread.join(WAIT)
        assert not thread.is_alive()


_SIGNAL_SCRIPT = textwrap.dedent(
    """
    import signal, sys, threading, time
    from wirekit.server import Server
    from tests.server.apps import asgi_hello

    def mine(signum, frame):
        print("own-sigterm-handler", flush=True)

    signal.signal(signal.SIGTERM, mine)
    server = Server(asgi_hello, host="127.0.0.1", port=0, shutdown_timeout=1.0,
                    use_uvloop=sys.argv[1] == "1")
    threading.Timer(0.3, server.shutdown).start()
    server.run()
    print("sigterm-restored", signal.getsignal(signal.SIGTERM) is mine, flush=True)
    signal.raise_signal(signal.SIGTERM)
    try:
        signal.raise_signal(signal.SIGINT)
        for _ in range(20):
            time.sleep(0.05)
        print("ctrl-c-ignored", flush=True)
    except KeyboardInterrupt:
        print("ctrl-c-works", flush=True)
    """
)


@pytest.mark.parametrize("uvloop", ["1", "0"], ids=["uvloop", "asyncio"])
def test_run_restores_signal_handlers_when_it_returns(uvloop: str) -> None:
    """After Server.run() returns in the main thread, Ctrl-C and the program's own SIGTERM
    handler must work again (with uvloop both signals were silently swallowed forever)."""
    done = subprocess.run(
        [sys.executable, "-c", _SIGNAL_SCRIPT, uvloop],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": _pythonpath()},
        check=False,
    )
    out = done.stdout
    assert "sigterm-restored True" in out, out + done.stderr[-2000:]
    assert "own-sigterm-handler" in out, out
    assert "ctrl-c-works" in out, out


# The listening socket is also reported as a ResourceWarning when the error is freed.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_startup_error_after_lifespan_startup_runs_lifespan_shutdown(tmp_path: Path) -> None:
    """A bad certificate path (any error between lifespan startup and listening) left the
    app's startup resources (pools, connections) without their shutdown, and the listening
    socket open."""
    events: list[str] = []

    async def app(scope: dict, receive: object, send: object) -> None:
        assert scope["type"] == "lifespan"
        for _ in range(2):
            message = await receive()  # type: ignore[operator]
            events.append(message["type"])
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})  # type: ignore[operator]
            else:
                await send({"type": "lifespan.shutdown.complete"})  # type: ignore[operator]
                return

    before = _open_sockets()
    kept: list[BaseException] = []
    try:
        Server(app, host="127.0.0.1", port=0, ssl_certfile=str(tmp_path / "missing.pem")).run()
    except Exception as exc:
        kept.append(exc)
    assert kept, "a missing certificate file did not stop the server"
    leaked = _open_sockets() - before
    if "lifespan.startup" in events:
        assert "lifespan.shutdown" in events, f"lifespan events: {events}"
    assert leaked == 0, f"{leaked} listening socket(s) left open"
