"""``wirekit bench`` end to end: counts, report fields, error kinds, and the loopback rule."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from tests.cli.conftest import Result
from tests.support.keepalive import KeepAliveServer
from tests.support.scripted import ScriptedServer, expect, hold, send
from tests.support.wsgi_server import ThreadedWSGIServer
from wirekit._models.url import URL
from wirekit.cli.bench import EXIT_REMOTE_TARGET, loopback_check

Run = Callable[..., Result]


def test_sends_exactly_n_requests_and_reports_json(wirekit: Run) -> None:
    with KeepAliveServer(b"x" * 100) as server:
        result = wirekit("bench", server.url, "-n", "50", "-c", "5", "--json")
        served = server.requests
    assert result.code == 0, result.stderr
    report = result.json()
    assert served == 50
    assert (report["requests"], report["answered"], report["failed"]) == (50, 50, 0)
    assert report["concurrency"] == 5
    assert report["stopped_by"] == "count"
    assert report["statuses"] == {"200": 50}
    assert report["requests_per_second"] > 0
    assert report["bytes_received"] >= 50 * 100
    latency = report["latency_ms"]
    assert set(latency) == {"min", "p50", "p90", "p99", "max", "mean"}
    assert latency["min"] <= latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]
    assert report["errors"] == {
        "timeout": 0,
        "refused": 0,
        "reset": 0,
        "http_4xx": 0,
        "http_5xx": 0,
    }


def test_text_report_has_rate_percentiles_and_histogram(wirekit: Run) -> None:
    with KeepAliveServer() as server:
        result = wirekit("bench", server.url, "-n", "40", "-c", "4")
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("40 requests in ")
    assert any(line.startswith("requests/s: ") for line in lines)
    assert any(line.startswith("transfer: ") and "KiB/s" in line for line in lines)
    percentiles = next(line for line in lines if line.startswith("latency ms: "))
    for key in ("p50", "p90", "p99", "max"):
        assert f" {key} " in percentiles
    header = next(i for i, line in enumerate(lines) if line.strip().startswith("latency ms  "))
    buckets = lines[header + 1 : header + 11]
    assert sum(int(row.split()[2]) for row in buckets) == 40  # "<= 1.23  COUNT  bar"
    assert "statuses:   200: 40" in lines
    assert "errors:     none" in lines
    assert "\x1b[" not in result.stdout


def test_duration_stops_the_run(wirekit: Run) -> None:
    with KeepAliveServer() as server:
        report = wirekit("bench", server.url, "-d", "0.5", "-c", "2", "--json").json()
    assert report["stopped_by"] == "duration"
    assert report["requests"] == report["answered"] > 0


def test_method_headers_and_body_are_sent(wirekit: Run) -> None:
    answer = b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
    with ScriptedServer([expect(b"\r\n\r\n", extra_bytes=5), send(answer)]) as server:
        result = wirekit(
            "bench", server.url, "-n", "1", "-c", "1", "-m", "PUT", "-H", "X-Run: 7",
            "--data", "hello", "--json",
        )  # fmt: skip
        received = server.received[0]
    assert result.json()["statuses"] == {"201": 1}
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"PUT / HTTP/1.1\r\n")
    assert b"\r\nX-Run: 7\r\n" in head
    assert body == b"hello"


def test_http_errors_are_counted(wirekit: Run, httpbin_server: ThreadedWSGIServer) -> None:
    url = f"{str(httpbin_server.url).rstrip('/')}/status/503"
    result = wirekit("bench", url, "-n", "6", "-c", "2", "--json")
    assert result.code == 0  # answers, even 5xx ones, are results, not failures of the run
    report = result.json()
    assert report["errors"]["http_5xx"] == 6
    assert report["statuses"] == {"503": 6}


def test_refused_connections_are_counted_and_set_the_exit_code(wirekit: Run) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = wirekit("bench", f"http://127.0.0.1:{port}/", "-n", "4", "-c", "2")
    assert result.code == 7
    assert "refused: 4" in result.stdout
    assert f"no request got an answer: connection refused by 127.0.0.1:{port}" in result.stderr


def test_non_loopback_target_is_refused_before_any_connection(wirekit: Run) -> None:
    # 192.0.2.1 is TEST-NET-1: never routed. The refusal must come before any connect.
    result = wirekit("bench", "http://192.0.2.1/", "-n", "1")
    assert result.code == EXIT_REMOTE_TARGET
    assert "refusing to load-test 192.0.2.1" in result.stderr
    assert "--allow-remote" in result.stderr
    assert result.stdout == ""
    document = wirekit("bench", "http://192.0.2.1:8080/", "--json").json()
    assert document["exit_code"] == EXIT_REMOTE_TARGET


def test_loopback_check() -> None:
    assert loopback_check(URL("http://127.0.0.1:1/")) is None
    assert loopback_check(URL("http://127.5.6.7/")) is None
    assert loopback_check(URL("http://[::1]:80/")) is None
    assert loopback_check(URL("http://localhost/")) is None
    reason = loopback_check(URL("http://10.0.0.1/"))
    assert reason is not None
    assert "10.0.0.1" in reason


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-c", "0"], "MAX_CONCURRENCY"),
        (["-c", "1001"], "MAX_CONCURRENCY"),
        (["-n", "0"], "MAX_REQUESTS"),
        (["-d", "301"], "MAX_DURATION"),
        (["-H", "nocolon"], "Name:Value"),
    ],
)
def test_limits_are_enforced_on_the_command_line(
    wirekit: Run, args: list[str], message: str
) -> None:
    result = wirekit("bench", "http://127.0.0.1:1/", *args)
    assert result.code == 2
    assert message in result.stderr


def test_not_an_http_url(wirekit: Run) -> None:
    result = wirekit("bench", "ftp://127.0.0.1/")
    assert result.code == 2
    assert "not an http:// or https:// URL" in result.stderr


def test_request_timeouts_are_counted(wirekit: Run) -> None:
    with ScriptedServer([expect(), hold()]) as server:
        result = wirekit("bench", server.url, "-n", "1", "-c", "1", "--timeout", "0.5", "--json")
    assert result.code == 8
    assert result.json()["errors"]["timeout"] == 1
