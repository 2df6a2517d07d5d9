"""StaticFiles driven in-process through ASGI messages: what a client would receive."""

from __future__ import annotations

import email.utils
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from wirekit.server.static import MAX_RANGES, StaticFiles, content_type_for

pytestmark = pytest.mark.anyio


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    messages: list[dict[str, Any]] = field(default_factory=list)


async def call(
    app: StaticFiles,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    query: bytes = b"",
    extensions: dict[str, Any] | None = None,
) -> Reply:
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8"),
        "query_string": query,
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode("latin-1")) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    if extensions is not None:
        scope["extensions"] = extensions
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.zerocopy":
            # Read now, as a server's sendfile would: the app closes the file afterwards.
            file = message["file"]
            file.seek(message["offset"])
            message = {**message, "data": file.read(message["count"])}
        messages.append(dict(message))

    await app(scope, receive, send)
    start = messages[0]
    assert start["type"] == "http.response.start"
    body = b""
    for message in messages[1:]:
        body += message.get("body", b"") + message.get("data", b"")
    assert messages[-1].get("more_body", False) is False
    names = [k.decode() for k, _ in start["headers"]]
    assert len(names) == len(set(names)), f"repeated response header in {names}"
    return Reply(
        start["status"],
        {k.decode(): v.decode("latin-1") for k, v in start["headers"]},
        body,
        messages,
    )


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    (root / "hello.txt").write_text("hello world\n")
    (root / "app.js").write_text("console.log(1)\n")
    (root / "data.bin").write_bytes(bytes(range(256)) * 1024)  # 256 KiB
    (root / "docs").mkdir()
    (root / "docs" / "index.html").write_text("<h1>docs</h1>")
    (root / "files").mkdir()
    (root / "files" / "a <b>&.txt").write_text("odd name")
    (root / "files" / "sub").mkdir()
    (root / "files" / ".env").write_text("SECRET=1")
    (root / ".env").write_text("SECRET=1")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]")
    (root / ".well-known").mkdir()
    (root / ".well-known" / "security.txt").write_text("Contact: x")
    (tmp_path / "secret.txt").write_text("outside the root")
    return root


async def test_serves_a_file(site: Path) -> None:
    reply = await call(StaticFiles(site), "/hello.txt")
    assert reply.status == 200
    assert reply.body == b"hello world\n"
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"
    assert reply.headers["content-length"] == "12"
    assert reply.headers["accept-ranges"] == "bytes"
    assert reply.headers["etag"].startswith('"')
    assert "cache-control" not in reply.headers


async def test_head_has_headers_without_body(site: Path) -> None:
    reply = await call(StaticFiles(site), "/hello.txt", method="HEAD")
    assert reply.status == 200
    assert reply.body == b""
    assert reply.headers["content-length"] == "12"


async def test_other_methods_get_405_with_allow(site: Path) -> None:
    reply = await call(StaticFiles(site), "/hello.txt", method="POST")
    assert reply.status == 405
    assert reply.headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.js", "text/javascript; charset=utf-8"),
        ("a.mjs", "text/javascript; charset=utf-8"),
        ("a.wasm", "application/wasm"),
        ("a.webp", "image/webp"),
        ("a.avif", "image/avif"),
        ("a.woff2", "font/woff2"),
        ("a.css", "text/css; charset=utf-8"),
        ("a.png", "image/png"),
        ("a.json", "application/json"),
        ("a.tar.gz", "application/gzip"),
        ("noextension", "application/octet-stream"),
    ],
)
def test_content_types(name: str, expected: str) -> None:
    assert content_type_for(name) == expected


async def test_cache_max_age(site: Path) -> None:
    reply = await call(StaticFiles(site, cache_max_age=3600), "/hello.txt")
    assert reply.headers["cache-control"] == "public, max-age=3600"


# -- directories ---------------------------------------------------------------------------
async def test_index_file_is_served(site: Path) -> None:
    reply = await call(StaticFiles(site), "/docs/")
    assert reply.status == 200
    assert reply.body == b"<h1>docs</h1>"
    assert reply.headers["content-type"] == "text/html; charset=utf-8"


async def test_directory_without_slash_redirects(site: Path) -> None:
    reply = await call(StaticFiles(site), "/docs", query=b"x=1")
    assert reply.status == 301
    assert reply.headers["location"] == "/docs/?x=1"


async def test_listing_escapes_and_quotes_names(site: Path) -> None:
    reply = await call(StaticFiles(site), "/files/")
    assert reply.status == 200
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    page = reply.body.decode()
    assert "a &lt;b&gt;&amp;.txt" in page
    assert 'href="a%20%3Cb%3E%26.txt"' in page
    assert 'href="sub/"' in page
    assert 'href="../"' in page
    assert ".env" not in page
    assert "<td>8</td>" in page  # size of "odd name"
    assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</td>", page)


async def test_listing_limit(site: Path) -> None:
    for number in range(5):
        (site / "files" / f"extra{number}.txt").write_text("x")
    reply = await call(StaticFiles(site, max_listing_entries=3), "/files/")
    page = reply.body.decode()
    assert page.count("<tr><td><a") == 4  # "../" plus three entries
    assert "4 more entries not shown (max_listing_entries=3)" in page


async def test_listing_off_gives_404(site: Path) -> None:
    assert (await call(StaticFiles(site, listing=False), "/files/")).status == 404
    assert (await call(StaticFiles(site, listing=False), "/docs/")).status == 200


async def test_missing_file_404(site: Path) -> None:
    reply = await call(StaticFiles(site), "/nope.txt")
    assert reply.status == 404
    assert reply.body == b"Not Found\n"


# -- security ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/files/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/files/%2e%2e/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/..\\secret.txt",
        "/files\\..\\..\\secret.txt",
        "/hello.txt\x00.png",
        "/.env",
        "/files/.env",
        "/.git/config",
        "/.git/",
    ],
)
async def test_refused_paths_are_404(site: Path, path: str) -> None:
    reply = await call(StaticFiles(site), path)
    assert reply.status == 404
    assert b"outside" not in reply.body
    assert b"SECRET" not in reply.body


async def test_absolute_looking_path_stays_in_root(site: Path) -> None:
    reply = await call(StaticFiles(site), "//" + str(site.parent / "secret.txt").lstrip("/"))
    assert reply.status == 404
    reply = await call(StaticFiles(site), "//hello.txt")
    assert reply.body == b"hello world\n"


async def test_well_known_is_served(site: Path) -> None:
    assert (await call(StaticFiles(site), "/.well-known/security.txt")).body == b"Contact: x"


async def test_show_hidden(site: Path) -> None:
    assert (await call(StaticFiles(site, show_hidden=True), "/.env")).status == 200


async def test_symlink_leaving_root(site: Path) -> None:
    os.symlink(site.parent / "secret.txt", site / "escape.txt")
    os.symlink(site.parent, site / "up")
    os.symlink(site / "hello.txt", site / "inside.txt")
    strict = StaticFiles(site)
    assert (await call(strict, "/escape.txt")).status == 404
    assert (await call(strict, "/up/secret.txt")).status == 404
    assert (await call(strict, "/inside.txt")).body == b"hello world\n"
    relaxed = StaticFiles(site, follow_symlinks=True)
    assert (await call(relaxed, "/escape.txt")).body == b"outside the root"


async def test_fifo_is_not_served(site: Path) -> None:
    os.mkfifo(site / "pipe")
    assert (await call(StaticFiles(site), "/pipe")).status == 404


# -- conditional requests ----------------------------------------------------------------
async def test_if_none_match(site: Path) -> None:
    app = StaticFiles(site)
    etag = (await call(app, "/hello.txt")).headers["etag"]
    for value in (etag, f'"other", {etag}', f"W/{etag}", "*"):
        reply = await call(app, "/hello.txt", headers={"If-None-Match": value})
        assert reply.status == 304, value
        assert reply.body == b""
        assert reply.headers["etag"] == etag
    assert (await call(app, "/hello.txt", headers={"If-None-Match": '"other"'})).status == 200


async def test_if_modified_since(site: Path) -> None:
    app = StaticFiles(site)
    mtime = os.stat(site / "hello.txt").st_mtime
    later = email.utils.formatdate(mtime + 60, usegmt=True)
    earlier = email.utils.formatdate(mtime - 60, usegmt=True)
    assert (await call(app, "/hello.txt", headers={"If-Modified-Since": later})).status == 304
    assert (await call(app, "/hello.txt", headers={"If-Modified-Since": earlier})).status == 200
    garbage = {"If-Modified-Since": "yesterday-ish"}
    assert (await call(app, "/hello.txt", headers=garbage)).status == 200
    # If-None-Match takes precedence over If-Modified-Since (RFC 9110 §13.1.3).
    both = {"If-Modified-Since": later, "If-None-Match": '"other"'}
    assert (await call(app, "/hello.txt", headers=both)).status == 200


async def test_etag_changes_when_file_changes(site: Path) -> None:
    app = StaticFiles(site)
    before = (await call(app, "/hello.txt")).headers["etag"]
    (site / "hello.txt").write_text("changed content\n")
    stamp = os.stat(site / "hello.txt").st_mtime + 5
    os.utime(site / "hello.txt", (stamp, stamp))
    reply = await call(app, "/hello.txt", headers={"If-None-Match": before})
    assert reply.status == 200
    assert reply.body == b"changed content\n"


async def test_if_match_failure_is_412(site: Path) -> None:
    app = StaticFiles(site)
    etag = (await call(app, "/hello.txt")).headers["etag"]
    assert (await call(app, "/hello.txt", headers={"If-Match": '"stale"'})).status == 412
    assert (await call(app, "/hello.txt", headers={"If-Match": etag})).status == 200


# -- ranges -------------------------------------------------------------------------------
DATA = bytes(range(256)) * 1024


async def test_single_range(site: Path) -> None:
    reply = await call(StaticFiles(site), "/data.bin", headers={"Range": "bytes=10-19"})
    assert reply.status == 206
    assert reply.body == DATA[10:20]
    assert reply.headers["content-range"] == f"bytes 10-19/{len(DATA)}"
    assert reply.headers["content-length"] == "10"


@pytest.mark.parametrize(
    ("spec", "start", "end"),
    [
        ("bytes=-100", len(DATA) - 100, len(DATA) - 1),
        ("bytes=262000-", 262000, len(DATA) - 1),
        ("bytes=0-999999999", 0, len(DATA) - 1),
        ("bytes=-999999999", 0, len(DATA) - 1),
    ],
)
async def test_suffix_and_open_ranges(site: Path, spec: str, start: int, end: int) -> None:
    reply = await call(StaticFiles(site), "/data.bin", headers={"Range": spec})
    assert reply.status == 206
    assert reply.body == DATA[start : end + 1]
    assert reply.headers["content-range"] == f"bytes {start}-{end}/{len(DATA)}"


async def test_unsatisfiable_range_is_416(site: Path) -> None:
    reply = await call(StaticFiles(site), "/data.bin", headers={"Range": "bytes=999999-"})
    assert reply.status == 416
    assert reply.headers["content-range"] == f"bytes */{len(DATA)}"


@pytest.mark.parametrize("spec", ["bytes=5-1", "items=0-5", "bytes=abc", "bytes=1-2-3"])
async def test_invalid_range_is_ignored(site: Path, spec: str) -> None:
    reply = await call(StaticFiles(site), "/hello.txt", headers={"Range": spec})
    assert reply.status == 200
    assert reply.body == b"hello world\n"


def parse_multipart(reply: Reply) -> list[tuple[str, bytes]]:
    boundary = reply.headers["content-type"].split("boundary=")[1].encode()
    assert int(reply.headers["content-length"]) == len(reply.body)
    assert reply.body.endswith(b"--" + boundary + b"--\r\n")
    parts = []
    for chunk in reply.body.split(b"--" + boundary)[1:-1]:
        head, _, data = chunk.partition(b"\r\n\r\n")
        assert data.endswith(b"\r\n")
        content_range = re.search(rb"content-range: (.*)", head)
        assert content_range is not None
        parts.append((content_range.group(1).decode().strip(), data[:-2]))
    return parts


async def test_multiple_ranges_are_multipart(site: Path) -> None:
    reply = await call(StaticFiles(site), "/data.bin", headers={"Range": "bytes=0-9, 100-109, -5"})
    assert reply.status == 206
    assert reply.headers["content-type"].startswith("multipart/byteranges; boundary=")
    size = len(DATA)
    assert parse_multipart(reply) == [
        (f"bytes 0-9/{size}", DATA[0:10]),
        (f"bytes 100-109/{size}", DATA[100:110]),
        (f"bytes {size - 5}-{size - 1}/{size}", DATA[-5:]),
    ]


async def test_overlapping_ranges_are_merged(site: Path) -> None:
    spec = "bytes=" + ", ".join(["0-"] * MAX_RANGES)
    reply = await call(StaticFiles(site), "/data.bin", headers={"Range": spec})
    assert reply.status == 206
    assert reply.body == DATA  # sent once, not sixteen times
    reply = await call(StaticFiles(site), "/data.bin", headers={"Range": "bytes=0-10,5-20,21-30"})
    assert reply.headers["content-range"] == f"bytes 0-30/{len(DATA)}"


async def test_too_many_ranges_serve_the_whole_file(site: Path) -> None:
    spec = "bytes=" + ",".join(f"{n * 10}-{n * 10 + 1}" for n in range(MAX_RANGES + 1))
    reply = await call(StaticFiles(site), "/data.bin", headers={"Range": spec})
    assert reply.status == 200
    assert reply.body == DATA
    small = StaticFiles(site, max_ranges=2)
    reply = await call(small, "/data.bin", headers={"Range": "bytes=0-1,5-6,9-10"})
    assert reply.status == 200


async def test_if_range(site: Path) -> None:
    app = StaticFiles(site)
    full = await call(app, "/data.bin")
    etag, last_modified = full.headers["etag"], full.headers["last-modified"]
    for validator, expected in [
        (etag, 206),
        ('"stale"', 200),
        (f"W/{etag}", 200),
        (last_modified, 206),
        ("Mon, 01 Jan 1990 00:00:00 GMT", 200),
    ]:
        headers = {"Range": "bytes=0-3", "If-Range": validator}
        assert (await call(app, "/data.bin", headers=headers)).status == expected, validator


async def test_range_ignored_for_head(site: Path) -> None:
    reply = await call(
        StaticFiles(site), "/data.bin", method="HEAD", headers={"Range": "bytes=0-3"}
    )
    assert reply.status == 200


# -- precompressed -----------------------------------------------------------------------
async def test_precompressed_variants(site: Path) -> None:
    (site / "app.js.gz").write_bytes(b"GZIPPED")
    (site / "app.js.br").write_bytes(b"BROTLI")
    app = StaticFiles(site)
    reply = await call(app, "/app.js", headers={"Accept-Encoding": "gzip, br"})
    assert (reply.body, reply.headers["content-encoding"]) == (b"BROTLI", "br")
    assert reply.headers["vary"] == "Accept-Encoding"
    assert reply.headers["content-type"] == "text/javascript; charset=utf-8"
    reply = await call(app, "/app.js", headers={"Accept-Encoding": "gzip;q=0.5, br;q=0"})
    assert (reply.body, reply.headers["content-encoding"]) == (b"GZIPPED", "gzip")
    reply = await call(app, "/app.js")
    assert reply.body == b"console.log(1)\n"
    assert "content-encoding" not in reply.headers
    assert reply.headers["vary"] == "Accept-Encoding"
    identity_tag = reply.headers["etag"]
    gzip_reply = await call(app, "/app.js", headers={"Accept-Encoding": "gzip"})
    assert gzip_reply.headers["etag"] != identity_tag


async def test_stale_or_disabled_variants_are_not_used(site: Path) -> None:
    (site / "app.js.gz").write_bytes(b"OLD")
    stamp = os.stat(site / "app.js").st_mtime - 100
    os.utime(site / "app.js.gz", (stamp, stamp))
    reply = await call(StaticFiles(site), "/app.js", headers={"Accept-Encoding": "gzip"})
    assert reply.body == b"console.log(1)\n"
    (site / "app.js.br").write_bytes(b"BROTLI")
    off = StaticFiles(site, precompressed=False)
    reply = await call(off, "/app.js", headers={"Accept-Encoding": "br"})
    assert reply.body == b"console.log(1)\n"
    assert "vary" not in reply.headers


# -- streaming and zero-copy ---------------------------------------------------------------
async def test_large_file_streamed_in_chunks(site: Path) -> None:
    reply = await call(StaticFiles(site, chunk_size=64 * 1024), "/data.bin")
    bodies = [m for m in reply.messages if m["type"] == "http.response.body"]
    assert len(bodies) == 4
    assert all(len(m["body"]) == 64 * 1024 for m in bodies)
    assert [m["more_body"] for m in bodies] == [True, True, True, False]
    assert reply.body == DATA


async def test_zerocopy_extension(site: Path) -> None:
    extensions: dict[str, Any] = {"http.response.zerocopy": {}}
    reply = await call(
        StaticFiles(site), "/data.bin", headers={"Range": "bytes=100-"}, extensions=extensions
    )
    zerocopy = [m for m in reply.messages if m["type"] == "http.response.zerocopy"]
    assert len(zerocopy) == 1
    assert (zerocopy[0]["offset"], zerocopy[0]["count"]) == (100, len(DATA) - 100)
    assert zerocopy[0]["more_body"] is False
    assert reply.body == DATA[100:]
    multi = await call(
        StaticFiles(site), "/data.bin", headers={"Range": "bytes=0-1,10-11"}, extensions=extensions
    )
    assert [r[1] for r in parse_multipart(multi)] == [DATA[0:2], DATA[10:12]]


async def test_file_is_closed_after_sending(site: Path) -> None:
    extensions: dict[str, Any] = {"http.response.zerocopy": {}}
    reply = await call(StaticFiles(site), "/hello.txt", extensions=extensions)
    assert reply.messages[1]["file"].closed


async def test_empty_file(site: Path) -> None:
    (site / "empty.txt").write_bytes(b"")
    reply = await call(StaticFiles(site), "/empty.txt")
    assert (reply.status, reply.body, reply.headers["content-length"]) == (200, b"", "0")
    ranged = await call(StaticFiles(site), "/empty.txt", headers={"Range": "bytes=0-"})
    assert ranged.status == 416


def test_bad_configuration_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        StaticFiles(tmp_path / "missing")
    with pytest.raises(ValueError, match="chunk_size"):
        StaticFiles(tmp_path, chunk_size=10)
    with pytest.raises(ValueError, match="max_ranges"):
        StaticFiles(tmp_path, max_ranges=0)


async def test_non_http_scope_is_refused(site: Path) -> None:
    async def receive() -> dict[str, Any]:
        return {}

    async def send(message: Any) -> None:
        raise AssertionError("nothing may be sent")

    with pytest.raises(RuntimeError, match="websocket"):
        await StaticFiles(site)({"type": "websocket"}, receive, send)
