"""iter_lines()/aiter_lines() take a max_line_length: a long NDJSON record can be read."""

from __future__ import annotations

import json

import pytest

import wirekit
from tests.client.body_edges._common import reply
from tests.support.scripted import ScriptedServer, expect, send

RECORD = json.dumps({"blob": "x" * (2 << 20)})  # one 2 MiB line
BODY = (RECORD + "\n" + '{"b": 2}\n').encode()


def test_a_line_over_the_default_limit_raises_and_a_raised_limit_reads_it() -> None:
    script = [expect(), send(reply(BODY, b"Content-Type: application/x-ndjson", chunk=65536))]
    with ScriptedServer(script, script) as server, wirekit.Client(retry=0) as client:
        with client.stream("GET", server.url + "/") as response:
            with pytest.raises(wirekit.LimitExceeded, match="max_line_length"):
                list(response.iter_lines())
        with client.stream("GET", server.url + "/") as response:
            lines = list(response.iter_lines(max_line_length=4 << 20))
    assert [json.loads(line) for line in lines] == [json.loads(RECORD), {"b": 2}]


@pytest.mark.anyio
async def test_aiter_lines_takes_the_limit_too() -> None:
    script = [expect(), send(reply(BODY, chunk=65536))]
    with ScriptedServer(script) as server:
        async with wirekit.AsyncClient(retry=0) as client:
            async with client.stream("GET", server.url + "/") as response:
                lines = [line async for line in response.aiter_lines(max_line_length=4 << 20)]
    assert len(lines) == 2
    assert len(lines[0]) == len(RECORD)


def test_a_limit_below_one_is_refused() -> None:
    response = wirekit.Response(200, content=b"a\nb\n")
    with pytest.raises(ValueError, match="max_line_length must be at least 1"):
        list(response.iter_lines(max_line_length=0))
