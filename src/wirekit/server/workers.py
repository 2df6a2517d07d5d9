"""The pre-fork process supervisor: N worker processes serving inherited listening sockets.

Restarts workers that die (with backoff), stops them all on SIGTERM/SIGINT, replaces them
one at a time on SIGHUP, and never leaves orphans (PR_SET_PDEATHSIG on Linux plus cleanup).
Workers are started with the "spawn" method; see :class:`Supervisor` for why.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import ctypes.util
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from typing import Any, Final

__all__ = [
    "DEFAULT_GRACEFUL_TIMEOUT",
    "DEFAULT_MAX_RESTART_BACKOFF",
    "DEFAULT_READY_TIMEOUT",
    "DEFAULT_RESTART_BACKOFF",
    "MAX_WORKERS",
    "STABLE_AFTER",
    "STARTUP_FAILURES",
    "Supervisor",
    "WorkersNeverStarted",
    "worker_stop_event",
]

logger = logging.getLogger("wirekit.server.workers")

#: Seconds a worker gets to finish its requests after SIGTERM before it is killed
#: (gunicorn's default too).
DEFAULT_GRACEFUL_TIMEOUT: Final = 30.0
#: First delay before restarting a worker that died; doubled on each quick death so a
#: worker that crashes at import does not fork-bomb the machine.
DEFAULT_RESTART_BACKOFF: Final = 0.1
#: Ceiling for that doubling delay.
DEFAULT_MAX_RESTART_BACKOFF: Final = 10.0
#: A worker that lived this long is "stable": its next death restarts without delay.
STABLE_AFTER: Final = 10.0
#: Exits before ever being ready, per slot, after which a supervisor whose workers never
#: became ready gives up (the app cannot start: a broken import, a failing lifespan
#: startup): restarting it forever would hold the port while serving no one.
STARTUP_FAILURES: Final = 3


class WorkersNeverStarted(RuntimeError):
    """No worker ever became ready: each exited at startup ``STARTUP_FAILURES`` times."""


#: Seconds a new worker has to report ready during a SIGHUP roll before it is given up on.
DEFAULT_READY_TIMEOUT: Final = 60.0
#: More processes than this is a configuration mistake (each is a whole interpreter).
MAX_WORKERS: Final = 512

_PR_SET_PDEATHSIG: Final = 1  # from <linux/prctl.h>
_READY: Final = b"ready"

# Set in a worker process by SIGTERM; see worker_stop_event().
_stop_event = threading.Event()


def worker_stop_event() -> threading.Event:
    """In a worker: the event set when the supervisor asks this worker to stop.

    A target serving requests should stop accepting when it is set, finish the requests in
    flight and return; a target that ignores it is killed after ``graceful_timeout``.
    (A target may instead install its own SIGTERM handler, e.g. with asyncio's
    ``loop.add_signal_handler``; that replaces this one.)
    """
    return _stop_event


@dataclass(frozen=True, slots=True)
class _SocketSpec:
    """How a worker gets its socket: inherited (``sock``) or re-bound with SO_REUSEPORT."""

    sock: socket.socket | None
    family: int
    type: int
    address: Any


@dataclass(slots=True)
class _Worker:
    slot: int
    process: BaseProcess
    ready_pipe: multiprocessing.connection.Connection
    started: float
    ready: bool = False
    stop_deadline: float | None = None  # set once SIGTERM was sent
    killed: bool = False


@dataclass(slots=True)
class _Roll:
    """A SIGHUP replacement in progress: slots still to replace, and the new worker."""

    slots: list[int]
    incoming: _Worker | None = None
    deadline: float = 0.0


@dataclass(slots=True)
class _SlotState:
    failures: int = 0
    restart_at: float | None = None
    history: list[int] = field(default_factory=list)


class Supervisor:
    """Run ``workers`` processes, each calling ``target(sock)`` on a listening socket.

    ``target`` must be picklable (a module-level function or a ``functools.partial`` of one)
    because workers are started with the **spawn** method: a fresh interpreter per worker.
    Fork would start faster but copies whatever the parent holds (threads mid-lock, an
    event loop, open connections); after fork only async-signal-safe calls are safe if the
    parent had threads, and Python 3.12+ warns about exactly that. Spawn has no such state
    to inherit, and the listening sockets are passed explicitly as file descriptors.

    By default every worker shares the parent's listening socket(s): the kernel queues
    connections in one backlog that any worker accepts from, so a stopping worker never
    strands a queued connection. With ``reuse_port=True`` each worker instead binds its own
    socket with SO_REUSEPORT (the kernel spreads connections evenly), and ``sockets`` must
    be bound with SO_REUSEPORT but *not* listening: the parent only holds the port. Caveat:
    Linux drops connections queued on a worker's socket when that worker exits.

    With several sockets, a worker serves ``sockets[0]`` on its main thread and each other
    socket on a thread of its own.

    ``run()`` blocks until SIGTERM/SIGINT (or :meth:`request_stop`); SIGHUP (or
    :meth:`request_reload`) replaces workers one at a time: start the new one, wait until it
    reports ready, then stop the old one. Signals are handled only when ``run()`` is called
    on the main thread.
    """

    def __init__(
        self,
        target: Callable[[socket.socket], None],
        sockets: Sequence[socket.socket],
        workers: int,
        *,
        graceful_timeout: float = DEFAULT_GRACEFUL_TIMEOUT,
        restart_backoff: float = DEFAULT_RESTART_BACKOFF,
        max_restart_backoff: float = DEFAULT_MAX_RESTART_BACKOFF,
        ready_timeout: float = DEFAULT_READY_TIMEOUT,
        reuse_port: bool = False,
        target_reports_ready: bool = False,
    ) -> None:
        if not 1 <= workers <= MAX_WORKERS:
            raise ValueError(
                f"workers must be between 1 and MAX_WORKERS={MAX_WORKERS}, not {workers}"
            )
        if not sockets:
            raise ValueError("the supervisor needs at least one listening socket")
        if graceful_timeout < 0 or restart_backoff < 0 or max_restart_backoff < restart_backoff:
            raise ValueError(
                "graceful_timeout and restart_backoff must be >= 0 and "
                "max_restart_backoff >= restart_backoff"
            )
        if reuse_port and not hasattr(socket, "SO_REUSEPORT"):
            raise ValueError("reuse_port=True: this platform has no SO_REUSEPORT")
        self.target = target
        self.sockets = list(sockets)
        self.worker_count = workers
        self.graceful_timeout = graceful_timeout
        self.restart_backoff = restart_backoff
        self.max_restart_backoff = max_restart_backoff
        self.ready_timeout = ready_timeout
        self.reuse_port = reuse_port
        #: True: a worker is ready when its target calls ``notify_ready()`` (after importing
        #: the app and starting to serve), not merely when the target is called. A SIGHUP
        #: roll onto an app that no longer imports then keeps the old workers serving.
        self.target_reports_ready = target_reports_ready
        self._specs = [self._spec(sock) for sock in self.sockets]
        self._context = multiprocessing.get_context("spawn")
        self._workers: dict[int, _Worker] = {}
        self._retiring: list[_Worker] = []
        self._slots = [_SlotState() for _ in range(workers)]
        self._roll: _Roll | None = None
        self._stopping = False
        self._force = False
        self._ever_ready = False
        #: Set when run() gave up because no worker could start (it then raises).
        self.startup_failure: str | None = None
        self._wake_reader, self._wake_writer = multiprocessing.Pipe(duplex=False)
        # A deque, not a list behind a lock: signal handlers post here, and a handler that
        # waited for a lock the interrupted main thread holds would deadlock.
        self._requests: collections.deque[str] = collections.deque()

    def _spec(self, sock: socket.socket) -> _SocketSpec:
        if not self.reuse_port:
            return _SocketSpec(sock, sock.family, sock.type, None)
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
            raise ValueError(
                f"reuse_port=True: socket {sock.getsockname()!r} is listening; the parent would "
                "take a share of the connections and never accept them"
            )
        if not sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT):
            raise ValueError(
                f"reuse_port=True: socket {sock.getsockname()!r} lacks SO_REUSEPORT, so workers "
                "could not bind the same address"
            )
        return _SocketSpec(None, sock.family, sock.type, sock.getsockname())

    # -- control from other threads or signal handlers -----------------------------------
    def request_stop(self) -> None:
        """Ask ``run()`` to stop all workers gracefully and return (a second call kills)."""
        self._post("stop")

    def request_reload(self) -> None:
        """Ask ``run()`` to replace every worker, one at a time."""
        self._post("reload")

    def _post(self, request: str) -> None:
        self._requests.append(request)
        with contextlib.suppress(OSError):
            self._wake_writer.send_bytes(b"!")

    def worker_pids(self) -> list[int]:
        """PIDs of the workers currently serving, by slot (for status pages and tests)."""
        current = list(self._workers.items())
        return [w.process.pid for _, w in sorted(current) if w.process.pid]

    # -- the loop ------------------------------------------------------------------------
    def run(self) -> None:
        """Start the workers and supervise them until stopped. Always reaps every child."""
        restore = self._install_signal_handlers()
        try:
            for slot in range(self.worker_count):
                self._workers[slot] = self._start(slot)
            while not self._finished():
                self._step()
        finally:
            self._kill_everything()
            restore()
        if self.startup_failure is not None:
            raise WorkersNeverStarted(self.startup_failure)

    def _finished(self) -> bool:
        return self._stopping and not self._workers and not self._retiring

    def _step(self) -> None:
        now = time.monotonic()
        waitables: list[Any] = [self._wake_reader]
        for worker in self._all_workers():
            waitables.append(worker.process.sentinel)
            if not worker.ready:
                waitables.append(worker.ready_pipe)
        timeout = self._next_timeout(now)
        ready = multiprocessing.connection.wait(waitables, timeout)
        if self._wake_reader in ready:
            with contextlib.suppress(EOFError, OSError):
                while self._wake_reader.poll():
                    self._wake_reader.recv_bytes()
        self._handle_requests()
        self._collect_ready()
        self._collect_exits()
        self._advance_roll()
        self._restart_due()
        self._enforce_deadlines()

    def _all_workers(self) -> list[_Worker]:
        found = [*self._workers.values(), *self._retiring]
        if self._roll is not None and self._roll.incoming is not None:
            found.append(self._roll.incoming)
        return found

    def _next_timeout(self, now: float) -> float:
        moments = [state.restart_at for state in self._slots if state.restart_at is not None]
        moments += [w.stop_deadline for w in self._all_workers() if w.stop_deadline is not None]
        if self._roll is not None and self._roll.incoming is not None:
            moments.append(self._roll.deadline)
        if not moments:
            return 1.0
        return max(0.0, min(min(moments) - now, 1.0))

    def _handle_requests(self) -> None:
        while self._requests:
            request = self._requests.popleft()
            if request == "stop":
                if self._stopping:
                    self._force = True  # a second Ctrl-C: do not wait any longer
                self._begin_stop()
            elif request == "reload" and not self._stopping:
                if self._roll is None:
                    logger.info("reloading: replacing %d workers one at a time", len(self._workers))
                    self._roll = _Roll(sorted(self._workers))
                else:  # a roll is running: queue every slot again after it
                    self._roll.slots.extend(sorted(self._workers))

    def _begin_stop(self) -> None:
        if not self._stopping:
            logger.info("stopping %d workers", len(self._workers))
            # The workers keep their own copies of the listening sockets until they have
            # stopped accepting; ours would keep the kernel queueing connections nobody will
            # accept (reset when we exit): closed, new clients are refused at once.
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.close()
        self._stopping = True
        for state in self._slots:
            state.restart_at = None
        if self._roll is not None:
            if self._roll.incoming is not None:
                self._retiring.append(self._roll.incoming)
            self._roll = None
        self._retiring.extend(self._workers.values())
        self._workers.clear()
        for worker in self._retiring:
            self._terminate(worker)
        if self._force:
            for worker in self._retiring:
                self._kill(worker)

    def _collect_ready(self) -> None:
        for worker in self._all_workers():
            if worker.ready:
                continue
            with contextlib.suppress(EOFError, OSError):
                if worker.ready_pipe.poll() and worker.ready_pipe.recv_bytes() == _READY:
                    worker.ready = True
                    self._ever_ready = True

    def _collect_exits(self) -> None:
        now = time.monotonic()
        for worker in list(self._retiring):
            if not worker.process.is_alive():
                worker.process.join()
                worker.ready_pipe.close()
                self._retiring.remove(worker)
        roll = self._roll
        if roll is not None and roll.incoming is not None and not roll.incoming.process.is_alive():
            incoming = roll.incoming
            incoming.process.join()
            incoming.ready_pipe.close()
            logger.warning(
                "reload: new worker for slot %d exited with %s before it was ready; "
                "keeping the old one and retrying",
                incoming.slot,
                incoming.process.exitcode,
            )
            roll.incoming = None
            state = self._slots[incoming.slot]
            state.failures += 1
            roll.deadline = now + self._backoff(state.failures)
        for slot, worker in list(self._workers.items()):
            if worker.process.is_alive():
                continue
            worker.process.join()
            worker.ready_pipe.close()
            del self._workers[slot]
            state = self._slots[slot]
            lived = now - worker.started
            state.failures = 0 if lived >= STABLE_AFTER else state.failures + 1
            delay = 0.0 if state.failures == 0 else self._backoff(state.failures)
            logger.warning(
                "worker %d (pid %s) exited with %s after %.1fs; restarting in %.2fs",
                slot,
                worker.process.pid,
                worker.process.exitcode,
                lived,
                delay,
            )
            state.restart_at = now + delay
            if (
                not self._ever_ready
                and not worker.ready
                and state.failures >= STARTUP_FAILURES
                and not self._stopping
            ):
                self.startup_failure = (
                    f"no worker ever started: worker {slot} exited {state.failures} times "
                    f"before it was ready (last exit code {worker.process.exitcode}); "
                    "see the workers' errors above"
                )
                logger.error("%s; giving up", self.startup_failure)
                self._begin_stop()

    def _backoff(self, failures: int) -> float:
        return float(min(self.max_restart_backoff, self.restart_backoff * 2 ** (failures - 1)))

    def _restart_due(self) -> None:
        if self._stopping:
            return
        now = time.monotonic()
        for slot, state in enumerate(self._slots):
            if state.restart_at is None or now < state.restart_at:
                continue
            state.restart_at = None
            if slot not in self._workers:  # a reload may have filled the slot already
                self._workers[slot] = self._start(slot)

    def _advance_roll(self) -> None:
        roll = self._roll
        if roll is None or self._stopping:
            return
        now = time.monotonic()
        if roll.incoming is None:
            while roll.slots and roll.slots[0] not in self._workers:
                roll.slots.pop(0)  # that slot is restarting anyway: it gets new code
            if not roll.slots:
                logger.info("reload finished")
                self._roll = None
                return
            if now < roll.deadline:
                return  # backing off after a failed new worker
            roll.incoming = self._start(roll.slots[0])
            roll.deadline = now + self.ready_timeout
            return
        incoming = roll.incoming
        if incoming.ready:
            slot = roll.slots.pop(0)
            old = self._workers.get(slot)
            self._workers[slot] = incoming
            roll.incoming = None
            roll.deadline = 0.0
            self._slots[slot].failures = 0
            if old is not None:
                self._retiring.append(old)
                self._terminate(old)
        elif now >= roll.deadline:
            logger.warning(
                "reload: new worker for slot %d not ready within ready_timeout=%.1fs; killing it",
                incoming.slot,
                self.ready_timeout,
            )
            self._kill(incoming)

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        for worker in self._all_workers():
            if worker.stop_deadline is not None and now >= worker.stop_deadline:
                if not worker.killed:
                    logger.warning(
                        "worker pid %s still running after graceful_timeout=%.1fs; killing it",
                        worker.process.pid,
                        self.graceful_timeout,
                    )
                self._kill(worker)

    # -- process control -----------------------------------------------------------------
    def _start(self, slot: int) -> _Worker:
        reader, writer = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_worker_main,
            args=(self.target, self._specs, writer, os.getpid(), self.target_reports_ready),
            name=f"wirekit-worker-{slot}",
            # Not daemonic: daemonic processes may not start children of their own, which
            # apps do; run() reaps every worker itself on every way out.
            daemon=False,
        )
        process.start()
        writer.close()  # the child holds its own copy: EOF tells us it died
        self._slots[slot].history.append(process.pid or 0)
        return _Worker(slot, process, reader, time.monotonic())

    def _terminate(self, worker: _Worker) -> None:
        if worker.stop_deadline is None:
            worker.stop_deadline = time.monotonic() + self.graceful_timeout
            _signal(worker, signal.SIGTERM)

    def _kill(self, worker: _Worker) -> None:
        worker.killed = True
        # Look again in a second (SIGKILL takes effect at once unless the process is stuck
        # in the kernel), rather than spinning on a deadline already past.
        worker.stop_deadline = time.monotonic() + 1.0
        _signal(worker, signal.SIGKILL)

    def _kill_everything(self) -> None:
        """Last resort on every way out of run(): no child may outlive the supervisor."""
        for worker in self._all_workers():
            if worker.process.is_alive():
                self._terminate(worker)
        deadline = time.monotonic() + (self.graceful_timeout if not self._force else 0.0)
        for worker in self._all_workers():
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                _signal(worker, signal.SIGKILL)
                worker.process.join()
            worker.ready_pipe.close()
        self._workers.clear()
        self._retiring.clear()
        self._roll = None
        self._wake_reader.close()
        self._wake_writer.close()

    def _install_signal_handlers(self) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous: dict[int, Any] = {}

        def on_stop(signum: int, frame: object) -> None:
            self.request_stop()

        def on_reload(signum: int, frame: object) -> None:
            self.request_reload()

        for signum, handler in ((signal.SIGTERM, on_stop), (signal.SIGINT, on_stop)):
            previous[signum] = signal.signal(signum, handler)
        if hasattr(signal, "SIGHUP"):
            previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, on_reload)

        def restore() -> None:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

        return restore


def _signal(worker: _Worker, signum: int) -> None:
    pid = worker.process.pid
    if pid is not None and worker.process.is_alive():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


# -- inside the worker process ---------------------------------------------------------------
def _worker_main(
    target: Callable[[socket.socket], None],
    specs: list[_SocketSpec],
    ready_pipe: multiprocessing.connection.Connection,
    parent_pid: int,
    target_reports_ready: bool = False,
) -> None:
    global _ready_pipe
    _die_with_parent(parent_pid)
    # Ctrl-C in a terminal reaches the whole process group: let the supervisor decide.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: _stop_event.set())
    sockets = [_worker_socket(spec) for spec in specs]
    threads = [
        threading.Thread(target=target, args=(sock,), name=f"wirekit-listener-{index}", daemon=True)
        for index, sock in enumerate(sockets[1:], start=1)
    ]
    for thread in threads:
        thread.start()
    # Ready means "about to serve": the shared socket is already listening, so connections
    # that arrive before the first accept() wait in the kernel backlog, none is refused.
    _ready_pipe = ready_pipe
    if not target_reports_ready:
        notify_ready()
    target(sockets[0])
    for thread in threads:
        thread.join()


#: In a worker, until it has said so: where to say it is ready.
_ready_pipe: multiprocessing.connection.Connection | None = None


def notify_ready() -> None:
    """In a worker: tell the supervisor this worker serves (``target_reports_ready``).

    Once only; from any thread; a no-op outside a worker."""
    global _ready_pipe
    pipe, _ready_pipe = _ready_pipe, None
    if pipe is not None:
        pipe.send_bytes(_READY)
        pipe.close()


def _worker_socket(spec: _SocketSpec) -> socket.socket:
    if spec.sock is not None:
        return spec.sock
    sock = socket.socket(spec.family, spec.type)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if spec.family != getattr(socket, "AF_UNIX", None):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(spec.address)
    sock.listen(socket.SOMAXCONN)
    return sock


def follow_parent(parent_pid: int) -> None:
    """Stop (SIGTERM, so gracefully) when ``parent_pid``, our parent, dies: a server run by
    ``--reload`` must not outlive its reloader, killed by SIGKILL or not."""
    _die_with_parent(parent_pid, signal.SIGTERM)


def _die_with_parent(parent_pid: int, signum: int = signal.SIGKILL) -> None:
    """Linux: have the kernel send us ``signum`` when the parent dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        libc_name = ctypes.util.find_library("c") or "libc.so.6"
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(libc_name, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)
    # The parent may have died before prctl took effect; then we were already re-parented.
    if os.getppid() != parent_pid:
        os._exit(1)
