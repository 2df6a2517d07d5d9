"""StaticFiles over real loopback HTTP: edge cases found by review (each failed before its fix)."""

from __future__ import annotations

import gzip
import os
import re
import socket
import urllib.parse
from pathlib import Path

import pytest

import wirekit
from tests.server.support import read_until_closed, running
from wirekit.server.static import StaticFiles


def _exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        return read_until_closed(sock)


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def _head_and_body(response: bytes) -> tuple[dict[str, str], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers[name.decode().strip().lower()] = value.decode("latin-1").strip()
    return headers, body


# -- non-UTF-8 directory names --------------------------------------------------------------
def _make_non_utf8_dir(root: Path) -> None:
    directory = os.fsencode(root) + b"/bad\xffdir"
    os.mkdir(directory)
    with open(directory + b"/inner.txt", "wb") as file:
        file.write(b"inner")


def test_listing_link_to_a_non_utf8_directory_gives_its_listing(tmp_path: Path) -> None:
    # The root listing links the directory as "bad%FFdir/"; following it answers 500:
    # _listing_page puts the surrogate-escaped url_path into the <title> and then
    # encodes the page as strict UTF-8 (UnicodeEncodeError).
    _make_non_utf8_dir(tmp_path)
    with running(StaticFiles(tmp_path)) as server:
        status, _, page = server.get("/")
        assert status == 200
        hrefs = re.findall(rb'href="(bad[^"]*)"', page)
        assert hrefs == [b"bad%FFdir/"], page
        status, _, page = server.get("/" + hrefs[0].decode("ascii"))
    assert status == 200, page
    assert b'href="inner.txt"' in page, page


def test_redirect_of_a_non_utf8_directory_keeps_its_name(tmp_path: Path) -> None:
    # GET /bad%FFdir (no slash) redirects to "/bad%EF%BF%BDdir/" (U+FFFD from the decoded
    # scope path), a name that does not exist: the redirect leads to 404.
    _make_non_utf8_dir(tmp_path)
    with running(StaticFiles(tmp_path)) as server:
        response = _exchange(
            server.port, b"GET /bad%FFdir HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        assert _status(response) == 301, response
        location = _head_and_body(response)[0]["location"]
        assert urllib.parse.unquote_to_bytes(location) == b"/bad\xffdir/", location
        followed = _exchange(
            server.port,
            b"GET /bad%FFdir/inner.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
    assert followed.endswith(b"\r\n\r\ninner"), followed


# -- listing links that are always refused -------------------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        "report%2Ffinal.txt",  # a literal "%2F" (wget-style saved names)
        "win\\name.txt",  # a backslash: an ordinary character on POSIX (zips made on Windows)
    ],
)
def test_every_listed_file_link_can_be_followed(tmp_path: Path, name: str) -> None:
    # The listing links the file ("report%252Ffinal.txt", "win%5Cname.txt"), but
    # _safe_path refuses any segment holding a backslash or decoding to "/", so the
    # link always answers 404. A listing should link only what is served (or serve it).
    (tmp_path / name).write_bytes(b"payload")
    with running(StaticFiles(tmp_path)) as server:
        status, _, page = server.get("/")
        assert status == 200
        hrefs = [h.decode() for h in re.findall(rb'<a href="([^"]*)">', page) if h != b"../"]
        results = {href: server.get("/" + href)[0] for href in hrefs}
    assert all(code == 200 for code in results.values()), results


# -- Range values with very long numbers -----------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "allowed"),
    [
        (b"bytes=0-" + b"9" * 5000, (200, 206)),  # last-pos past the end: the whole file
        (b"bytes=-" + b"9" * 5000, (200, 206)),  # suffix longer than the file: the whole file
        (b"bytes=" + b"1" * 5000 + b"-", (200, 416)),  # first-pos past the end
    ],
)
def test_range_with_a_very_long_number_is_not_a_500(
    tmp_path: Path, spec: bytes, allowed: tuple[int, int]
) -> None:
    # _parse_ranges calls int() on the digits: Python refuses more than 4300 digits
    # (ValueError), uncaught, so any client gets a 500 (and a traceback in the log) with a
    # ~5 KB Range header. RFC 9110 §14.1.1 allows any number of digits.
    (tmp_path / "hello.txt").write_bytes(b"hello world\n")
    with running(StaticFiles(tmp_path)) as server:
        response = _exchange(
            server.port,
            b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nRange: "
            + spec
            + b"\r\nConnection: close\r\n\r\n",
        )
    status = _status(response)
    assert status in allowed, response[:200]
    if status != 416:
        assert _head_and_body(response)[1] == b"hello world\n"


# -- Accept-Encoding preferences --------------------------------------------------------------
def test_precompressed_variant_follows_the_clients_qvalues(tmp_path: Path) -> None:
    # "gzip;q=1.0, br;q=0.1": the client prefers gzip (RFC 9110 §12.5.3, qvalues are
    # preference weights), but _open_variant walks (br, gzip) in a fixed order and sends br
    # whenever its q is above zero.
    (tmp_path / "app.js").write_bytes(b"console.log(1)\n")
    (tmp_path / "app.js.gz").write_bytes(b"GZIPPED")
    (tmp_path / "app.js.br").write_bytes(b"BROTLI")
    with running(StaticFiles(tmp_path)) as server:
        status, headers, body = server.get(
            "/app.js", headers={"Accept-Encoding": "gzip;q=1.0, br;q=0.1"}
        )
    assert status == 200
    assert (headers.get("content-encoding"), body) == ("gzip", b"GZIPPED")


# -- a root reached through a symlink that is switched (symlink-swap deploys) -------------------
def test_root_symlink_switched_to_a_new_release_still_serves(tmp_path: Path) -> None:
    # `wirekit serve --static /srv/app/current` with current -> releases/1, then a deploy
    # atomically repoints current -> releases/2 (Capistrano-style). StaticFiles keeps the
    # realpath of the root from startup (_real_root) but joins request paths onto the
    # symlink, so every file now resolves "outside the root": every URL, "/" included,
    # answers 404 until the server is restarted.
    for release in ("1", "2"):
        (tmp_path / release).mkdir()
        (tmp_path / release / "a.txt").write_bytes(b"release " + release.encode())
    current = tmp_path / "current"
    os.symlink(tmp_path / "1", current)
    with running(StaticFiles(current)) as server:
        assert server.get("/a.txt")[::2] == (200, b"release 1")
        os.symlink(tmp_path / "2", tmp_path / "current.new")
        os.replace(tmp_path / "current.new", current)
        status, _, body = server.get("/a.txt")
        listing_status = server.get("/")[0]
    assert (status, listing_status) == (200, 200), body
    assert body in (b"release 1", b"release 2")


def test_range_request_gets_the_file_itself_not_a_slice_of_its_variant(tmp_path: Path) -> None:
    # A 206 slice of app.js.gz with Content-Encoding: gzip cannot be decoded by itself:
    # wirekit's client (and any strict one) failed with "truncated gzip data".
    content = b"console.log('hello, range');\n" * 40
    (tmp_path / "app.js").write_bytes(content)
    (tmp_path / "app.js.gz").write_bytes(gzip.compress(content))
    with running(StaticFiles(tmp_path)) as server:
        status, headers, body = server.get(
            "/app.js", headers={"Accept-Encoding": "gzip, br", "Range": "bytes=0-9"}
        )
        assert (status, body) == (206, content[:10])
        assert "content-encoding" not in headers
        assert headers["vary"] == "Accept-Encoding"
        with wirekit.Client() as client:
            response = client.get(
                f"http://127.0.0.1:{server.port}/app.js", headers={"Range": "bytes=10-19"}
            )
        whole = server.get("/app.js", headers={"Accept-Encoding": "gzip"})
    assert (response.status_code, response.content) == (206, content[10:20])
    assert whole[1]["content-encoding"] == "gzip"
    assert gzip.decompress(whole[2]) == content
