"""The file watcher and the reloader that restarts a child process on change."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from wirekit.errors import LimitExceeded
from wirekit.server.reload import FileWatcher, run_with_reload

WAIT_SECONDS = 30.0


def bump(path: Path, seconds: float = 10.0) -> None:
    """Move a file's mtime forward: a change no file system can round away."""
    stamp = path.stat().st_mtime + seconds
    os.utime(path, (stamp, stamp))


def wait_for(condition: object, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError(f"gave up waiting: {what}")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text("x = 1\n")
    (tmp_path / "notes.txt").write_text("not code\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("y = 2\n")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "cached.py").write_text("")
    return tmp_path


def test_touched_file_is_reported(project: Path) -> None:
    watcher = FileWatcher([project])
    assert watcher.changed() == set()
    bump(project / "pkg" / "mod.py")
    assert watcher.changed() == {(project / "pkg" / "mod.py").resolve()}
    assert watcher.changed() == set()


def test_added_and_removed_files_are_reported(project: Path) -> None:
    watcher = FileWatcher([project])
    (project / "new.py").write_text("")
    (project / "app.py").unlink()
    assert watcher.changed() == {(project / "new.py").resolve(), (project / "app.py").resolve()}


def test_other_patterns_and_ignored_folders_are_not_watched(project: Path) -> None:
    watcher = FileWatcher([project])
    bump(project / "notes.txt")
    bump(project / "__pycache__" / "cached.py")
    assert watcher.changed() == set()
    text_watcher = FileWatcher([project], patterns=("*.txt",))
    bump(project / "notes.txt")
    assert text_watcher.changed() == {(project / "notes.txt").resolve()}


def test_a_file_path_is_watched_whatever_its_name(project: Path) -> None:
    watcher = FileWatcher([project / "notes.txt"])
    bump(project / "notes.txt")
    assert watcher.changed() == {(project / "notes.txt").resolve()}


def test_wait_returns_changes_or_nothing(project: Path) -> None:
    watcher = FileWatcher([project], interval=0.01)
    assert watcher.wait(timeout=0.05) == set()
    stop = threading.Event()
    stop.set()
    assert watcher.wait(stop=stop) == set()
    bump(project / "app.py")
    assert watcher.wait(timeout=WAIT_SECONDS) == {(project / "app.py").resolve()}


def test_file_limit_is_named(project: Path) -> None:
    for number in range(5):
        (project / f"extra{number}.py").write_text("")
    with pytest.raises(LimitExceeded, match="max_files=3") as caught:
        FileWatcher([project], max_files=3)
    assert caught.value.limit == "max_files"


CHILD = """
import os, sys, time
with open(sys.argv[1], "a") as log:
    log.write(f"{os.getpid()}\\n")
if sys.argv[2] == "crash":
    sys.exit(3)
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    time.sleep(0.05)
"""


def started_pids(log: Path) -> list[int]:
    return [int(line) for line in log.read_text().split()] if log.exists() else []


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat_file:
            return stat_file.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("mode", ["serve", "crash"])
def test_reloader_restarts_the_child_on_change(project: Path, tmp_path: Path, mode: str) -> None:
    script = tmp_path / "server_script.txt"  # not *.py, so writing it is not a change
    script.write_text(CHILD)
    log = tmp_path / "started.log"
    stop = threading.Event()
    restarts: list[set[Path]] = []
    result: list[int] = []

    def reloader() -> None:
        result.append(
            run_with_reload(
                [sys.executable, str(script), str(log), mode],
                paths=[project],
                interval=0.02,
                stop_timeout=10,
                stop=stop,
                on_restart=restarts.append,
            )
        )

    thread = threading.Thread(target=reloader)
    thread.start()
    try:
        wait_for(lambda: len(started_pids(log)) == 1, "the first child")
        first = started_pids(log)[0]
        if mode == "crash":
            wait_for(lambda: not alive(first), "the crashing child to exit")
        bump(project / "app.py")
        wait_for(lambda: len(started_pids(log)) == 2, "a restarted child")
        second = started_pids(log)[1]
        assert second != first
        assert not alive(first)
        assert restarts == [{(project / "app.py").resolve()}]
        if mode == "crash":
            wait_for(lambda: not alive(second), "the second crash")
    finally:
        stop.set()
        thread.join(WAIT_SECONDS)
    assert not thread.is_alive()
    assert not alive(second)
    assert result == [3 if mode == "crash" else 0]
    assert len(started_pids(log)) == 2


def test_reloader_needs_a_command(project: Path) -> None:
    with pytest.raises(ValueError, match="command"):
        run_with_reload([], paths=[project], stop=threading.Event())
