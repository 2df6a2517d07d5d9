"""Access log lines: Apache common/combined and JSON, escaping, logging integration."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from wirekit.server.accesslog import (
    MAX_LOGGED_FIELD_CHARS,
    AccessLogger,
    AccessLogRecord,
    escape_field,
    format_combined,
    format_common,
    format_json,
)

WHEN = datetime(2000, 10, 10, 13, 55, 36, tzinfo=timezone(timedelta(hours=-7)))


def record(**overrides: object) -> AccessLogRecord:
    fields: dict[str, object] = {
        "peer": ("127.0.0.1", 51000),
        "method": "GET",
        "target": "/apache_pb.gif",
        "version": "1.0",
        "status": 200,
        "bytes_sent": 2326,
        "duration": 0.0125,
        "referer": "http://www.example.com/start.html",
        "user_agent": "Mozilla/4.08 [en] (Win98; I ;Nav)",
        "request_id": "abc123",
        "time": WHEN,
    }
    fields.update(overrides)
    return AccessLogRecord(**fields)  # type: ignore[arg-type]


@pytest.fixture
def clean_logger() -> Iterator[None]:
    logger = logging.getLogger("wirekit.access")
    saved = (logger.level, logger.propagate, list(logger.handlers))
    yield
    logger.setLevel(saved[0])
    logger.propagate = saved[1]
    logger.handlers[:] = saved[2]


def test_common_format_matches_apache() -> None:
    assert format_common(record()) == (
        '127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326'
    )


def test_combined_format_matches_apache() -> None:
    assert format_combined(record()) == (
        '127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 '
        '"http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"'
    )


def test_missing_values_are_dashes() -> None:
    line = format_combined(record(peer=None, bytes_sent=0, referer=None, user_agent=""))
    assert line.startswith("- - - [")
    assert line.endswith('" 200 - "-" "-"')


def test_unix_socket_peer() -> None:
    assert format_common(record(peer="/run/app.sock")).startswith("/run/app.sock - - [")


def test_json_format_is_one_object() -> None:
    line = format_json(record())
    assert "\n" not in line
    document = json.loads(line)
    assert document["peer"] == "127.0.0.1"
    assert document["peer_port"] == 51000
    assert document["status"] == 200
    assert document["bytes_sent"] == 2326
    assert document["duration_ms"] == 12.5
    assert document["request_id"] == "abc123"
    assert document["time"] == "2000-10-10T13:55:36.000-07:00"


def test_control_characters_cannot_forge_lines() -> None:
    evil = record(
        target='/x HTTP/1.1" 200 1\n10.0.0.1 - - [forged] "GET /admin',
        user_agent="agent\r\n\x1b[31mred\x00",
        referer='back\\slash"quote',
    )
    for line in (format_common(evil), format_combined(evil), format_json(evil)):
        assert "\n" not in line
        assert "\r" not in line
        assert "\x1b" not in line
        assert "\x00" not in line
    combined = format_combined(evil)
    assert '\\"quote' in combined
    assert "back\\\\slash" in combined
    assert "\\x0a10.0.0.1" in combined
    assert "\\x1b[31mred\\x00" in combined
    # The request field stays one quoted field: exactly 6 unescaped quotes in the line.
    assert combined.replace('\\"', "").count('"') == 6
    assert json.loads(format_json(evil))["user_agent"] == "agent\r\n\x1b[31mred\x00"


def test_non_ascii_is_escaped() -> None:
    assert escape_field("caf\xe9 \u2028 \U0001f600") == "caf\\xe9 \\u2028 \\U0001f600"


def test_long_fields_are_cut() -> None:
    line = format_common(record(target="/" + "a" * (MAX_LOGGED_FIELD_CHARS * 2)))
    assert len(line) < MAX_LOGGED_FIELD_CHARS + 200
    assert "...[cut]" in line
    document = json.loads(format_json(record(user_agent="u" * (MAX_LOGGED_FIELD_CHARS + 5))))
    assert document["user_agent"].endswith("...[cut]")
    assert escape_field("abcdef", max_chars=3) == "abc...[cut]"


@pytest.mark.usefixtures("clean_logger")
def test_logger_writes_to_stream() -> None:
    stream = io.StringIO()
    access = AccessLogger("common", stream=stream)
    access.log(record())
    access.log(record(status=404, target="/missing"))
    access.close()
    lines = stream.getvalue().splitlines()
    assert lines == [format_common(record()), format_common(record(status=404, target="/missing"))]


@pytest.mark.usefixtures("clean_logger")
def test_logger_writes_to_file(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    access = AccessLogger("json", path=path)
    access.log(record())
    access.close()
    assert json.loads(path.read_text().strip())["target"] == "/apache_pb.gif"


@pytest.mark.usefixtures("clean_logger")
def test_logger_goes_through_logging(caplog: pytest.LogCaptureFixture) -> None:
    access = AccessLogger("combined")
    with caplog.at_level(logging.INFO, logger="wirekit.access"):
        access.log(record())
    assert [entry.name for entry in caplog.records] == ["wirekit.access"]
    assert caplog.records[0].getMessage() == format_combined(record())
    assert caplog.records[0].access == record()  # type: ignore[attr-defined]


@pytest.mark.usefixtures("clean_logger")
def test_custom_formatter() -> None:
    stream = io.StringIO()
    access = AccessLogger(lambda r: f"{r.status} {r.target}", stream=stream)
    access.log(record())
    access.close()
    assert stream.getvalue() == "200 /apache_pb.gif\n"


def test_unknown_format_is_named() -> None:
    with pytest.raises(ValueError, match="'apache'"):
        AccessLogger("apache")  # type: ignore[arg-type]
