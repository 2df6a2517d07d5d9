"""The client's request bodies at their edges (content=, data=, json=, files=).

Each test is a bug a user hit: empty and zero-sized files, decompressing file objects,
dicts and text-mode files as content=, the caller's boundary and Transfer-Encoding, bytes
field names, CR/LF in part headers, an early 413 before a write timeout. Real loopback
peers only (the hashing server answers with the body's length, SHA-256 and framing;
httpbin parses multipart like a real app would).
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

import wirekit
from tests.client.conftest import HashingServer
from tests.support.scripted import ScriptedServer, close, expect, send, sleep
from wirekit.errors import WirekitError

CSV = b"id,name\r\n" + b"1,some value\r\n" * 4000


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _post(client: wirekit.Client, server: HashingServer, **kwargs: Any) -> dict[str, Any]:
    response = client.post(server.url + "/up", **kwargs)
    assert response.status_code == 200
    seen: dict[str, Any] = json.loads(response.content)
    return seen


def _close_files(kwargs: dict[str, Any]) -> None:
    for value in kwargs.values():
        if isinstance(value, io.IOBase):
            value.close()


# -- empty bodies of "known" length --------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda path: {"content": path.open("rb")}, id="empty-file"),
        pytest.param(lambda path: {"content": io.BytesIO()}, id="empty-BytesIO"),
        pytest.param(lambda path: {"data": path.open("rb")}, id="empty-file-as-data"),
        pytest.param(
            lambda path: {"content": iter([]), "headers": {"Content-Length": "0"}},
            id="empty-iterator-with-length-0",
        ),
    ],
)
def test_empty_streamed_body_is_sent(tmp_path: Path, make: Any) -> None:
    # Uploading a zero-byte file (an empty log, a placeholder object in a bucket) fails
    # before the response with LocalProtocolError "cannot end a message in state DONE":
    # send_request(content_length=0) already finishes the message, then the connection
    # calls send_end_of_message() anyway. requests and httpx send it with length 0.
    path = tmp_path / "empty.bin"
    path.write_bytes(b"")
    kwargs = make(path)
    try:
        with HashingServer() as server, wirekit.Client(timeout=5.0) as client:
            seen = _post(client, server, **kwargs)
    finally:
        _close_files(kwargs)
    assert seen["length"] == 0
    assert seen["sha256"] == _sha(b"")


@pytest.mark.anyio
async def test_empty_file_upload_async(tmp_path: Path) -> None:
    path = tmp_path / "empty.bin"
    path.write_bytes(b"")
    with HashingServer() as server:
        async with wirekit.AsyncClient(timeout=5.0) as client:
            with path.open("rb") as file:
                response = await client.put(server.url + "/up", content=file)
    assert response.status_code == 200
    assert json.loads(response.content)["length"] == 0


def test_file_whose_size_the_os_reports_as_zero_is_sent_whole() -> None:
    # /proc and /sys files (and some FUSE files) are regular files whose st_size is 0 but
    # which do have content: the client sends "Content-Length: 0" and then fails with
    # LocalProtocolError "cannot send body data in state DONE". requests treats a zero
    # size as unknown and sends chunked.
    path = Path("/proc/self/status")
    if not path.exists():
        pytest.skip("needs /proc")
    with HashingServer() as server, wirekit.Client(timeout=5.0) as client:
        with path.open("rb") as file:
            seen = _post(client, server, content=file)
    assert seen["length"] > 0


# -- Content-Length taken from the wrong file ------------------------------------------------


@pytest.mark.parametrize("opener", [gzip.open, bz2.open], ids=["gzip", "bz2"])
def test_decompressing_file_object_is_sent_with_its_real_length(
    tmp_path: Path, opener: Any
) -> None:
    # gzip.open()/bz2.open() objects have a fileno() that names the *compressed* file:
    # remaining_file_size() fstat()s it and declares the compressed size, then the
    # decompressed bytes overflow it: LocalProtocolError "body is longer than its
    # Content-Length of N bytes", nothing uploaded.
    path = tmp_path / "data.csv.z"
    with opener(path, "wb") as out:
        out.write(CSV)
    with HashingServer() as server, wirekit.Client(timeout=5.0) as client:
        with opener(path, "rb") as file:
            seen = _post(client, server, content=file)
    assert seen["length"] == len(CSV)
    assert seen["sha256"] == _sha(CSV)


def test_decompressing_file_object_in_multipart_upload(tmp_path: Path) -> None:
    path = tmp_path / "data.csv.gz"
    with gzip.open(path, "wb") as out:
        out.write(CSV)
    with HashingServer() as server, wirekit.Client(timeout=5.0) as client:
        with gzip.open(path, "rb") as file:
            seen = _post(client, server, files={"f": ("data.csv", file, "text/csv")})
    assert seen["length"] > len(CSV)


# -- content= given a dict -------------------------------------------------------------------


def test_content_dict_is_refused_not_sent_as_its_keys() -> None:
    # content={"name": "x"} (meant as json= or data=) is taken as an iterable of str and
    # the body sent is "name": the values are silently dropped. httpx refuses a dict here
    # (httpx#2491) with TypeError.
    with HashingServer() as server, wirekit.Client(timeout=5.0) as client:
        with pytest.raises(TypeError):
            client.post(server.url + "/up", content={"name": "x", "id": 1})
        assert server.requests == []


# -- multipart boundary from the caller's Content-Type --------------------------------------


@pytest.fixture
def quiet_httpbin(httpbin_server: Any) -> Any:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    return httpbin_server


def test_multipart_uses_the_boundary_of_the_callers_content_type(quiet_httpbin: Any) -> None:
    # A caller who sets "Content-Type: multipart/form-data; boundary=..." (an API that
    # wants a given boundary, code ported from httpx, which honours it) gets a body framed
    # with a different, random boundary: the server finds no parts at all.
    headers = {"Content-Type": "multipart/form-data; boundary=wirekit-test-boundary"}
    with wirekit.Client(timeout=5.0) as client:
        response = client.post(
            quiet_httpbin.url + "/post",
            data={"field": "value"},
            files={"upload": ("a.txt", b"hello", "text/plain")},
            headers=headers,
        )
    seen = response.json()
    assert seen["form"] == {"field": "value"}
    assert seen["files"] == {"upload": "hello"}


# -- text-mode file as content= -----------------------------------------------------------------


def test_text_mode_file_as_content_is_not_silently_altered(tmp_path: Path) -> None:
    # files= refuses a text-mode file (its bytes would change on the way); content= takes
    # it and sends it after universal-newline translation and re-encoding to UTF-8: the
    # server gets "a\nJos\xc3\xa9\n" for the file's "a\r\nJos\xe9\r\n", with no error.
    on_disk = b"a\r\nJos\xe9\r\n"
    path = tmp_path / "windows.csv"
    path.write_bytes(on_disk)
    with HashingServer() as server, wirekit.Client(timeout=5.0) as client:
        with path.open(encoding="latin-1") as text_file:
            try:
                seen = _post(client, server, content=text_file)
            except (TypeError, ValueError):
                return  # refused up front, as files= does: fine
    assert seen["sha256"] == _sha(on_disk)


# -- form field names given as bytes ------------------------------------------------------------


def test_bytes_form_names_are_sent_as_their_octets() -> None:
    # data={b"key": "v"} is sent as "b%27key%27=v" (the repr of the bytes), where requests
    # and httpx send "key=v"; bytes values are already sent as their octets.
    with HashingServer() as server, wirekit.Client(timeout=5.0) as client:
        seen = _post(client, server, data={b"key": "v", "other": b"w"})
    assert seen["sha256"] == _sha(b"key=v&other=w")


def test_bytes_multipart_field_names_are_sent_as_their_octets() -> None:
    from wirekit._models.multipart import MultipartContent

    body = b"".join(MultipartContent(data={b"key": "v"}, files={"f": b"x"}, boundary="b"))
    assert b'name="key"' in body


# -- CR/LF in a part's content type or headers ----------------------------------------------------


@pytest.mark.parametrize(
    "part",
    [
        pytest.param(("a.txt", b"data", "text/plain\r\nX-Injected: 1"), id="content-type"),
        pytest.param(("a.txt", b"data", "text/plain", {"X-A": "1\r\nX-Injected: 1"}), id="header"),
    ],
)
def test_crlf_in_part_content_type_or_headers_does_not_inject_a_header(part: Any) -> None:
    # The filename and field name are escaped (%0D%0A), but a part's content type and
    # extra headers are written raw: a content type taken from an uploaded file's metadata
    # ("text/plain\r\nX-Injected: 1") adds a header line to the part. Request headers with
    # CR/LF are refused by the client; part headers should be too (or escaped).
    with HashingServer() as server, wirekit.Client(timeout=5.0) as client:
        try:
            client.post(server.url + "/up", files={"f": part})
        except (ValueError, TypeError, WirekitError):
            return  # refused: fine
    from wirekit._models.multipart import MultipartContent

    body = b"".join(MultipartContent(files={"f": part}, boundary="b"))
    assert b"\r\nX-Injected: 1\r\n" not in body


# -- Transfer-Encoding chosen by the caller --------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda path: path.open("rb"), id="file"),
        pytest.param(lambda path: path.read_bytes(), id="bytes"),
    ],
)
def test_callers_transfer_encoding_chunked_is_honoured(tmp_path: Path, make: Any) -> None:
    # The client honours a caller's Content-Length (drops its own chunked framing), but
    # not the reverse: with headers={"Transfer-Encoding": "chunked"} it adds its own
    # Content-Length and then refuses its own request: LocalProtocolError "message has
    # both Content-Length and chunked framing" (the caller set only one).
    path = tmp_path / "body.csv"
    path.write_bytes(CSV)
    body = make(path)
    try:
        with HashingServer() as server, wirekit.Client(timeout=5.0) as client:
            seen = _post(client, server, content=body, headers={"Transfer-Encoding": "chunked"})
    finally:
        _close_files({"content": body})
    assert seen["chunked"] is True
    assert seen["sha256"] == _sha(CSV)


# -- an early answer followed by a stalled write ---------------------------------------------------

ANSWER_413 = (
    b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big!"
)


def test_early_413_is_returned_when_the_write_then_times_out() -> None:
    # The server reads the head, answers 413 with "Connection: close" and stops reading
    # (it closes a little later). The client keeps writing into a full socket buffer until
    # its write timeout and raises WriteTimeout: the 413, already received, is lost (only
    # a WriteError takes the early-answer path; RFC 9112 §9.6 says to watch for it).
    body = b"x" * (64 * 1024 * 1024)
    with ScriptedServer([expect(), send(ANSWER_413), sleep(4.0), close()]) as server:
        with wirekit.Client(timeout=wirekit.Timeout(10.0, write=1.0)) as client:
            started = time.monotonic()
            response = client.post(f"http://127.0.0.1:{server.port}/upload", content=body)
    assert response.status_code == 413
    assert response.content == b"too big!"
    assert time.monotonic() - started < 4.0
