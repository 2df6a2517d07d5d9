"""Request bodies and uploads against requests and httpx on one loopback peer: edge cases
found by a differential review (each failed before its fix).
"""

from __future__ import annotations

import http.server
import json
from pathlib import Path
from typing import Any

import pytest

import wirekit
from tests.client.conftest import HashingServer
from tests.support.handler_peer import Peer, response
from tests.support.stdlib_server import serving

# -- 1. an empty file in files= makes the whole multipart body chunked -----------------------


class _LengthOnlyHandler(http.server.BaseHTTPRequestHandler):
    """What http.server/wsgiref-style apps do: read Content-Length bytes (no chunked
    decoding) and look at the form they got."""

    protocol_version = "HTTP/1.0"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        out = json.dumps({"length": length, "has_title": b'name="title"' in body}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args: Any) -> None:
        pass


def _empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    return path


@pytest.mark.parametrize("as_path", [False, True], ids=["file-object", "path"])
def test_empty_file_upload_keeps_the_form_on_a_content_length_server(
    tmp_path: Path, as_path: bool
) -> None:
    # An empty attachment (a user picked an empty file) next to ordinary fields: the body's
    # length is fully known (the file adds 0 bytes), yet the client sends the whole
    # multipart body chunked because the file's st_size is 0 (treated as "/proc-like,
    # unknown"). A server that reads Content-Length only (wsgiref, http.server apps, S3-style
    # 411 endpoints) gets no body at all: the "title" field is lost. requests and httpx send
    # Content-Length and the form arrives.
    path = _empty(tmp_path)
    with serving(_LengthOnlyHandler) as port:
        with path.open("rb") as file:
            source: Any = path if as_path else file
            response_ = wirekit.post(
                f"http://127.0.0.1:{port}/upload",
                data={"title": "report"},
                files={"attachment": ("empty.txt", source, "text/plain")},
                timeout=5.0,
            )
    seen = response_.json()
    assert seen["has_title"] is True, seen


@pytest.mark.anyio
async def test_empty_file_multipart_is_sent_with_content_length_async(tmp_path: Path) -> None:
    path = _empty(tmp_path)
    with HashingServer() as server:
        async with wirekit.AsyncClient(timeout=5.0) as client:
            with path.open("rb") as file:
                got = await client.post(
                    server.url + "/up", data={"title": "report"}, files={"attachment": file}
                )
    seen = json.loads(got.content)
    assert seen["chunked"] is False
    assert ("content-length", str(seen["length"])) in [tuple(h) for h in seen["headers"]]


# -- 2. one file object in two parts: the client contradicts its own Content-Length ------------


def test_same_file_object_in_two_parts_is_sent(tmp_path: Path) -> None:
    # files=[("original", f), ("copy", f)]: the declared Content-Length counts the file
    # twice (each part measured from the same position), but the second part reads from
    # where the first stopped (EOF): LocalProtocolError "body ended after N of N+10 bytes
    # declared by Content-Length", nothing sent. httpx seeks each file part to its start
    # (the file goes out twice); requests sends a consistent body too.
    path = tmp_path / "d.txt"
    path.write_bytes(b"0123456789")
    bodies: list[bytes] = []

    def handler(seen: Any, peer: Peer) -> bytes:
        bodies.append(seen.body)
        return response(200, body=b"ok")

    with Peer(handler) as peer, path.open("rb") as file:
        got = wirekit.post(
            peer.url + "/upload",
            files=[("original", ("one.txt", file)), ("copy", ("two.txt", file))],
            timeout=5.0,
        )
    assert got.status_code == 200
    assert len(bodies) == 1
    assert b"0123456789" in bodies[0]


# -- 3. files={} (no files) still turns a form into multipart ----------------------------------


def test_empty_files_mapping_sends_the_form_urlencoded() -> None:
    # Code that builds files= from a list of attachments passes files={} when there are
    # none. requests and httpx treat an empty files= as no files: data= goes out as
    # application/x-www-form-urlencoded ("a=1"). wirekit sends multipart/form-data, which
    # an endpoint that takes only urlencoded forms (an OAuth 2 token endpoint, RFC 6749
    # §4.1.3) refuses; with no data= it sends a multipart body with no part at all.
    with HashingServer() as server, wirekit.Client(timeout=5.0) as client:
        got = client.post(server.url + "/form", data={"a": "1"}, files={})
        bare = client.post(server.url + "/bare", files={})
    seen = json.loads(got.content)
    content_type = dict(map(tuple, seen["headers"])).get("content-type", "")
    assert content_type.startswith("application/x-www-form-urlencoded"), content_type
    assert seen["length"] == 3
    bare_seen = json.loads(bare.content)
    bare_type = dict(map(tuple, bare_seen["headers"])).get("content-type", "")
    assert not bare_type.startswith("multipart/"), bare_type


# -- 4. content= given as a list is treated as a one-shot stream --------------------------------


@pytest.mark.parametrize("status", [307, 308])
def test_list_body_is_replayed_on_307_and_308(status: int) -> None:
    # content=[b"abc", b"def"] (pieces already in memory) is sent chunked like a generator
    # and marked not replayable: a 307/308 raises StreamConsumed ("the request body was
    # streamed and cannot be sent again"). A list can be iterated again; httpx resends it.
    bodies: list[bytes] = []

    def handler(seen: Any, peer: Peer) -> bytes:
        bodies.append(seen.body)
        if seen.target == "/old":
            return response(status, headers=[("Location", "/new")])
        return response(200, body=b"ok")

    with Peer(handler) as peer, wirekit.Client(timeout=5.0) as client:
        got = client.post(peer.url + "/old", content=[b"abc", b"def"])
    assert got.status_code == 200
    assert bodies == [b"abcdef", b"abcdef"]
