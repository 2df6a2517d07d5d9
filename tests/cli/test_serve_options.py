"""``wirekit serve`` flags for the limits that had none: each drives a real server process.

``--max-header-bytes`` turns a large head into 431, ``--retry-after`` is what the 503 over
``--max-connections`` carries, ``--no-date-header`` drops Date, and a zero or negative
value is a usage error (exit status 2) that names the flag.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Result, cli_environment
from tests.server.process_support import PROCESS_WAIT, ServeProcess
from tests.server.support import raw_exchange
from wirekit.cli import serve as serve_command
from wirekit.server.config import ServerConfig

pytestmark = pytest.mark.slow

Run = Callable[..., Result]


#: Reads at most this many chunks of one answer (bounds the loop; answers here are small).
MAX_READS = 1_000


def one_answer(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=PROCESS_WAIT) as sock:
        return raw_exchange(sock, request)


def head_of(answer: bytes) -> list[bytes]:
    return answer.partition(b"\r\n\r\n")[0].lower().split(b"\r\n")


def test_max_header_bytes_gives_431_and_no_date_header_drops_date(tmp_path: Path) -> None:
    with ServeProcess(
        "peer_apps:wsgi_hello",
        ["--max-header-bytes", "1024", "--no-date-header"],
        log_path=tmp_path / "serve.log",
    ) as server:
        port = server.wait_serving()
        big = (
            b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 2048 + b"\r\nConnection: close\r\n\r\n"
        )
        answer = one_answer(port, big)
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]

        small = one_answer(port, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        assert small.startswith(b"HTTP/1.1 200 "), small[:200]
        assert small.endswith(b"\r\n\r\nhello")
        names = [line.partition(b":")[0] for line in head_of(small)[1:]]
        assert b"date" not in names, small
        assert b"server" in names  # only Date is dropped


def test_retry_after_is_sent_with_the_503_over_max_connections(tmp_path: Path) -> None:
    with ServeProcess(
        "peer_apps:wsgi_hello",
        ["--max-connections", "1", "--retry-after", "7", "--idle-timeout", "30"],
        log_path=tmp_path / "serve.log",
    ) as server:
        port = server.wait_serving()
        with socket.create_connection(("127.0.0.1", port), timeout=PROCESS_WAIT) as held:
            # A full keep-alive exchange: the server has counted this connection.
            held.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            first = b""
            for _ in range(MAX_READS):
                first += held.recv(65536)
                if first.endswith(b"hello"):
                    break
            assert first.startswith(b"HTTP/1.1 200 "), first[:200]

            # Nothing is sent: the server answers 503 as it accepts, then closes (bytes
            # sent into that close would make it reset the connection).
            refused = one_answer(port, b"")
        assert refused.startswith(b"HTTP/1.1 503 "), refused[:200]
        assert b"retry-after: 7" in head_of(refused), refused
        assert "max_connections=1 reached" in server.log()


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--max-header-bytes", "0"),
        ("--max-header-bytes", "-1"),
        ("--ws-max-message-bytes", "0"),
        ("--write-timeout", "0"),
        ("--write-timeout", "-2.5"),
        ("--body-rate-grace", "0"),
        ("--retry-after", "-1"),
        ("--retry-after", "soon"),
    ],
)
def test_invalid_values_are_usage_errors_naming_the_flag(
    wirekit: Run, flag: str, value: str
) -> None:
    result = wirekit("serve", "peer_apps:wsgi_hello", flag, value)
    assert result.code == 2, result
    assert f"argument {flag}:" in result.stderr
    assert "serving" not in result.stderr


def test_invalid_value_through_python_m_wirekit_cli_serve_exits_2() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "wirekit.cli.serve", "x:y", "--max-header-bytes", "0"],
        capture_output=True,
        text=True,
        timeout=PROCESS_WAIT,
        env=cli_environment(),
        check=False,
    )
    assert done.returncode == 2
    assert "argument --max-header-bytes: must be at least 1, got 0" in done.stderr


def test_new_flags_reach_the_config_and_default_to_the_constants() -> None:
    parser = argparse.ArgumentParser()
    serve_command.add_parser(parser.add_subparsers())
    argv = ["serve", "m:a", "--write-timeout", "12.5", "--body-rate-grace", "1.5",
            "--max-header-bytes", "4096", "--ws-max-message-bytes", "1000",
            "--retry-after", "0", "--no-date-header"]  # fmt: skip
    given = serve_command.config_from_args(parser.parse_args(argv))
    assert (given.write_timeout, given.body_rate_grace) == (12.5, 1.5)
    assert (given.max_header_bytes, given.ws_max_message_bytes) == (4096, 1000)
    assert (given.retry_after, given.date_header) == (0, False)
    defaults = serve_command.config_from_args(parser.parse_args(["serve", "m:a"]))
    plain = ServerConfig()
    for name in ("write_timeout", "body_rate_grace", "max_header_bytes", "ws_max_message_bytes",
                 "retry_after", "date_header"):  # fmt: skip
        assert getattr(defaults, name) == getattr(plain, name), name


@pytest.mark.parametrize("switched_off", [False, True], ids=["default", "switched-off"])
def test_no_ws_per_message_deflate_turns_compression_off(
    tmp_path: Path, switched_off: bool
) -> None:
    from websockets.sync.client import connect

    arguments = ["--no-ws-per-message-deflate"] if switched_off else []
    with ServeProcess(
        "apps:asgi_websocket_echo", arguments, log_path=tmp_path / "serve.log"
    ) as server:
        port = server.wait_serving()
        # websockets offers permessage-deflate by default.
        with connect(f"ws://127.0.0.1:{port}/", open_timeout=PROCESS_WAIT) as ws:
            assert ws.response is not None
            answered = ws.response.headers.get("Sec-WebSocket-Extensions")
            ws.send("hi")
            assert ws.recv(timeout=PROCESS_WAIT) == "echo: hi"
    if switched_off:
        assert answered is None
    else:
        assert answered is not None
        assert answered.startswith("permessage-deflate")


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        pytest.param([], os.SCHED_BATCH, id="default"),
        pytest.param(["--no-sched-batch"], os.SCHED_OTHER, id="switched-off"),
        pytest.param(["--workers", "2"], os.SCHED_BATCH, id="workers"),
    ],
)
def test_wsgi_threads_run_with_sched_batch_unless_switched_off(
    tmp_path: Path, arguments: list[str], expected: int
) -> None:
    with ServeProcess("peer_apps:wsgi_sched", arguments, log_path=tmp_path / "serve.log") as server:
        port = server.wait_serving()
        answer = one_answer(port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    policies = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert policies == {"worker": expected, "main": expected}
