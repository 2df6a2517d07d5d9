"""Development auto-reload (``wirekit serve --reload``): watch source files, restart the server.

:class:`FileWatcher` polls modification times (no extra dependency, works on every file
system including network mounts and containers' bind mounts, where inotify often misses
events); :func:`run_with_reload` runs the server as a child process and restarts it on change.
"""

from __future__ import annotations

import contextlib
import fnmatch
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from wirekit.errors import LimitExceeded

#: Set in the environment of the server a reloader runs: the reloader's pid.
RELOADER_PID_VARIABLE: Final = "WIREKIT_RELOADER_PID"

__all__ = [
    "DEFAULT_IGNORED_DIRECTORIES",
    "DEFAULT_INTERVAL",
    "DEFAULT_PATTERNS",
    "DEFAULT_STOP_TIMEOUT",
    "MAX_WATCHED_FILES",
    "FileWatcher",
    "run_with_reload",
]

logger = logging.getLogger("wirekit.server.reload")

DEFAULT_PATTERNS: Final = ("*.py",)
#: Seconds between scans: quick enough to feel immediate after saving a file.
DEFAULT_INTERVAL: Final = 0.5
#: Files watched at most. Each scan stats every file; past this a scan costs more than the
#: interval it runs in (about 20 us per stat), and it usually means a data or virtualenv
#: folder is being watched by mistake.
MAX_WATCHED_FILES: Final = 10_000
#: Seconds the old server gets to exit after SIGTERM before it is killed.
DEFAULT_STOP_TIMEOUT: Final = 5.0
#: Folders never worth watching (caches, virtualenvs, VCS data): their churn is not edits.
DEFAULT_IGNORED_DIRECTORIES: Final = frozenset(
    {".git", ".hg", ".svn", "__pycache__", ".venv", "venv", "node_modules", ".mypy_cache",
     ".ruff_cache", ".pytest_cache", ".tox", ".nox", "build", "dist"}
)  # fmt: skip
# Lets a burst of saves (an editor writing several files, or "format on save") end before
# the restart, so one edit restarts the server once.
_SETTLE_SECONDS: Final = 0.05

_Stamp = tuple[int, int]  # (mtime in ns, size): size catches rewrites within one mtime tick


class FileWatcher:
    """Reports files under ``paths`` matching ``patterns`` that were added, changed or removed.

    A path given directly as a file is watched whatever its name. Directories are walked
    recursively, skipping ``ignored_directories``. Raises
    :class:`~wirekit.errors.LimitExceeded` (``limit="max_files"``) when more than
    ``max_files`` files match.
    """

    def __init__(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        patterns: Sequence[str] = DEFAULT_PATTERNS,
        interval: float = DEFAULT_INTERVAL,
        ignored_directories: Iterable[str] = DEFAULT_IGNORED_DIRECTORIES,
        max_files: int = MAX_WATCHED_FILES,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"reload interval must be positive, got {interval}")
        self.paths = [Path(path).resolve() for path in paths]
        self.patterns = tuple(patterns)
        self.interval = interval
        self.ignored_directories = frozenset(ignored_directories)
        self.max_files = max_files
        self._snapshot = self._scan()

    def _wanted(self, name: str) -> bool:
        return any(fnmatch.fnmatch(name, pattern) for pattern in self.patterns)

    def _scan(self) -> dict[Path, _Stamp]:
        found: dict[Path, _Stamp] = {}
        for root in self.paths:
            if root.is_file():
                self._add(found, root)
                continue
            for folder, directories, files in os.walk(root):
                directories[:] = [d for d in directories if d not in self.ignored_directories]
                for name in files:
                    if self._wanted(name):
                        self._add(found, Path(folder, name))
        return found

    def _add(self, found: dict[Path, _Stamp], path: Path) -> None:
        try:
            info = path.stat()
        except OSError:
            return  # removed between listing and stat: the next scan reports it
        found[path] = (info.st_mtime_ns, info.st_size)
        if len(found) > self.max_files:
            raise LimitExceeded(
                f"file watcher: more than max_files={self.max_files} files match "
                f"{list(self.patterns)} under {[str(p) for p in self.paths]}",
                limit="max_files",
                value=self.max_files,
            )

    def changed(self) -> set[Path]:
        """Files added, modified or removed since the last call (or since creation)."""
        current = self._scan()
        previous, self._snapshot = self._snapshot, current
        return {
            path
            for path in previous.keys() | current.keys()
            if previous.get(path) != current.get(path)
        }

    def wait(
        self, *, timeout: float | None = None, stop: threading.Event | None = None
    ) -> set[Path]:
        """Block until something changes and return it; an empty set when ``timeout``
        seconds passed or ``stop`` was set first."""
        stop = stop if stop is not None else threading.Event()
        remaining = timeout
        while remaining is None or remaining > 0:
            step = self.interval if remaining is None else min(self.interval, remaining)
            if stop.wait(step):
                return set()
            if remaining is not None:
                remaining -= step
            changes = self.changed()
            if changes:
                stop.wait(_SETTLE_SECONDS)
                return changes | self.changed()
        return set()


def run_with_reload(
    argv: Sequence[str],
    *,
    paths: Iterable[str | os.PathLike[str]] | None = None,
    patterns: Sequence[str] = DEFAULT_PATTERNS,
    interval: float = DEFAULT_INTERVAL,
    stop_timeout: float = DEFAULT_STOP_TIMEOUT,
    env: Mapping[str, str] | None = None,
    stop: threading.Event | None = None,
    on_restart: Callable[[set[Path]], None] | None = None,
    pass_fds: Sequence[int] = (),
) -> int:
    """Run ``argv`` as a child process; restart it whenever a watched file changes.

    Watches ``paths`` (default: the current directory). A child that exits by itself is
    not restarted until a file changes (restarting a crash in a loop helps nobody). Returns
    when ``stop`` is set or, on the main thread, on SIGTERM/SIGINT; the child is then asked
    to stop (SIGTERM) and killed after ``stop_timeout`` seconds. Returns the child's last
    exit status (0 if it was stopped by us). ``pass_fds`` stay open in every child (a
    listening socket bound once, so the address survives restarts).
    """
    stop = stop if stop is not None else threading.Event()
    watcher = FileWatcher(
        [Path.cwd()] if paths is None else paths, patterns=patterns, interval=interval
    )
    restore = _stop_on_signals(stop)
    child = _start(argv, env, pass_fds)
    exit_status = 0
    reported_exit = False
    try:
        while not stop.is_set():
            changes = watcher.wait(timeout=interval, stop=stop)
            if stop.is_set():
                break
            status = child.poll()
            if status is not None and not reported_exit:
                logger.warning("server exited with status %s; waiting for a change", status)
                exit_status, reported_exit = status, True
            if not changes:
                continue
            names = ", ".join(sorted(str(path) for path in changes)[:5])
            logger.info("change detected (%s); restarting the server", names)
            _stop_child(child, stop_timeout)
            if on_restart is not None:
                on_restart(changes)
            child = _start(argv, env, pass_fds)
            reported_exit = False
    finally:
        status = _stop_child(child, stop_timeout)
        if not reported_exit:
            exit_status = 0 if status < 0 else status
        restore()
    return exit_status


def _start(
    argv: Sequence[str], env: Mapping[str, str] | None, pass_fds: Sequence[int] = ()
) -> subprocess.Popen[bytes]:
    if not argv:
        raise ValueError("run_with_reload() needs a command to run")
    child_env = dict(os.environ if env is None else env)
    # The server stops with us, even if we are SIGKILLed (it asks the kernel, see
    # wirekit.server.workers.follow_parent), and has its own process group: Ctrl-C reaches
    # only us, and we stop it once, gracefully (two stop requests made a supervisor with
    # workers kill the requests in flight).
    child_env[RELOADER_PID_VARIABLE] = str(os.getpid())
    return subprocess.Popen(list(argv), env=child_env, pass_fds=tuple(pass_fds), process_group=0)


def _stop_child(child: subprocess.Popen[bytes], timeout: float) -> int:
    if child.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            child.terminate()
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.warning(
                "server pid %d ignored SIGTERM for stop_timeout=%.1fs; killing it",
                child.pid,
                timeout,
            )
            child.kill()
            child.wait()
    return child.returncode


def _stop_on_signals(stop: threading.Event) -> Callable[[], None]:
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: object) -> None:
        stop.set()

    # SIGHUP too (the terminal went away): stop the server rather than orphan it.
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        previous[signum] = signal.signal(signum, handler)

    def restore() -> None:
        for signum, old in previous.items():
            signal.signal(signum, old)

    return restore
