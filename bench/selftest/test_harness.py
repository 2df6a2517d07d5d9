"""Self-tests of the benchmark harness: the parts whose mistakes would publish wrong numbers.

wrk output parsing, the responder's request framing, the README marker rewrite, the
``--only`` selection and the apps' identical answers. Run: ``pytest bench/selftest``.
"""

from __future__ import annotations

import json
from typing import Any

import apps
import pytest
import report
import run
import server_bench
from responder import BIG_BODY_BYTES, Responder

WRK_OUTPUT = """\
Running 5s test @ http://127.0.0.1:8000/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.10ms    1.20ms  20.00ms   90.00%
    Req/Sec    20.50k     1.10k   22.00k    80.00%
  Latency Distribution
     50%  912.00us
     75%    3.40ms
     90%    4.10ms
     99%    1.25s
  102000 requests in 5.00s, 12.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 0
  Non-2xx or 3xx responses: 3
Requests/sec:  20400.50
Transfer/sec:      2.40MB
"""


def test_parse_wrk_reads_rate_percentiles_and_errors() -> None:
    parsed = server_bench.parse_wrk(WRK_OUTPUT)
    assert parsed["requests_per_s"] == 20400.50
    assert parsed["p50_ms"] == pytest.approx(0.912)
    assert parsed["p99_ms"] == pytest.approx(1250.0)
    assert parsed["requests"] == 102000
    assert parsed["non_2xx"] == 3
    assert parsed["socket_errors"] == "connect 0, read 2, write 0, timeout 0"


def test_parse_wrk_rejects_output_without_a_rate() -> None:
    with pytest.raises(ValueError, match="no Requests/sec"):
        server_bench.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused")


class FakeTransport:
    """Collects what the responder writes; stands in for an asyncio transport."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> Any:
        return None


def _responder() -> tuple[Responder, FakeTransport]:
    responder = Responder()
    transport = FakeTransport()
    responder.connection_made(transport)  # type: ignore[arg-type]
    return responder, transport


def _bodies(written: list[bytes]) -> list[bytes]:
    """Split the written bytes back into response bodies (Content-Length framed)."""
    data = b"".join(written)
    bodies = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        bodies.append(rest[:length])
        data = rest[length:]
    return bodies


def test_responder_answers_pipelined_requests_in_order() -> None:
    responder, transport = _responder()
    responder.data_received(
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    bodies = _bodies(transport.written)
    assert bodies[0] == apps.HELLO_BODY
    assert bodies[1] == apps.json_body()
    assert len(bodies[2]) == BIG_BODY_BYTES
    assert not transport.closed


def test_responder_waits_for_split_heads_and_skips_request_bodies() -> None:
    responder, transport = _responder()
    responder.data_received(b"POST /json HTTP/1.1\r\nContent-Len")
    assert transport.written == []
    # The body "GET / HTTP/1.1\r\n\r\n" must not be taken for a second request.
    responder.data_received(b"gth: 18\r\n\r\nGET / HTTP/1.1\r\n\r")
    responder.data_received(b"\nGET / HTTP/1.1\r\n\r\n")
    assert _bodies(transport.written) == [apps.json_body(), apps.HELLO_BODY]


def test_responder_closes_after_connection_close() -> None:
    responder, transport = _responder()
    responder.data_received(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert _bodies(transport.written) == [apps.HELLO_BODY]
    assert transport.closed


def test_json_document_is_one_kibibyte() -> None:
    assert len(apps.json_body()) == 1024
    assert json.loads(apps.json_body()) == apps.JSON_DOCUMENT


def test_wsgi_and_asgi_apps_send_the_same_bytes() -> None:
    for path, expected in (("/", apps.HELLO_BODY), ("/json", apps.json_body())):
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]]) -> None:
            captured["status"] = status  # noqa: B023 - called before the loop moves on
            captured["headers"] = headers  # noqa: B023

        body = b"".join(apps.wsgi_app({"PATH_INFO": path}, start_response))
        assert captured["status"] == "200 OK"
        assert body == expected
        assert ("Content-Length", str(len(expected))) in captured["headers"]


@pytest.mark.anyio
async def test_asgi_app_sends_the_expected_body() -> None:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        raise AssertionError("the app must not read a body")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await apps.asgi_app({"type": "http", "path": "/json"}, receive, send)
    assert sent[0]["status"] == 200
    assert (b"content-length", b"1024") in sent[0]["headers"]
    assert sent[1]["body"] == apps.json_body()


def test_readme_markers_are_replaced_and_the_rest_kept() -> None:
    text = "intro\n<!-- results:client -->\nold\n<!-- /results:client -->\noutro\n"
    updated = report.replace_between_markers(text, "client", "new | table")
    assert (
        updated == "intro\n<!-- results:client -->\nnew | table\n<!-- /results:client -->\noutro\n"
    )
    appended = report.replace_between_markers("intro\n", "server", "rows")
    assert appended.endswith("<!-- results:server -->\nrows\n<!-- /results:server -->\n")


def test_only_selects_sections_cases_clients_and_servers() -> None:
    everything = run._selection([])
    assert everything["client"]
    assert everything["server"]
    wirekit = run._selection(["wirekit", "sequential"])
    assert wirekit["clients"] == {
        "wirekit",
        "wirekit-async",
        "wirekit-mypyc",
        "wirekit-async-mypyc",
    }
    assert wirekit["client_cases"] == {"sequential"}
    assert wirekit["servers"] == {
        "wirekit-asgi",
        "wirekit-wsgi",
        "wirekit-asgi-mypyc",
        "wirekit-wsgi-mypyc",
    }
    server_only = run._selection(["server"])
    assert not server_only["client"]
    assert server_only["server"]
    with pytest.raises(SystemExit, match="unknown name"):
        run._selection(["nosuchthing"])


def test_unavailable_wirekit_shows_as_not_available_in_the_targets() -> None:
    client = {
        "sequential": {
            "http.client": {"cpu_us_per_request": 100.0},
            "wirekit": {"unavailable": "cannot import wirekit"},
        }
    }
    _, _, rows = report.targets_table(client)
    assert rows[0][1] == report.NOT_AVAILABLE
    assert rows[0][4] == "-"


@pytest.mark.parametrize("floor", [False, True], ids=["wirekit", "floor"])
def test_server_overhead_answers_every_in_memory_request(floor: bool) -> None:
    import uvloop
    from server_overhead import measure

    seconds, answers = uvloop.run(measure(floor=floor, rounds=3))
    assert seconds > 0
    assert len(answers) == 64
    for answer in answers:
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
        assert answer.endswith(b"\r\n\r\nHello, world!")


def test_compiled_client_rows_follow_the_pure_ones_in_the_targets() -> None:
    client = {
        "sequential": {
            "http.client": {"cpu_us_per_request": 100.0},
            "wirekit": {"cpu_us_per_request": 90.0},
            "wirekit-mypyc": {"cpu_us_per_request": 60.0},
        }
    }
    _, _, rows = report.targets_table(client)
    goals = [row[0] for row in rows]
    compiled = rows[goals.index("sequential CPU/request <= 0.7x http.client (compiled)")]
    assert compiled[3:] == ["0.60x", "yes"]
    assert rows[0][3:] == ["0.90x", "NO"]
    assert not any("async" in goal and "compiled" in goal for goal in goals)  # not run
