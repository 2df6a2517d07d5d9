"""Multipart ``files=`` with a file opened in text mode.

Fails on the code as reviewed because of a real bug, and passes once it is fixed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import wirekit
from tests.support.handler_peer import Peer, response

# CRLF line ends and a Latin-1 byte: what a Windows-made CSV typically holds.
ON_DISK = b"name;city\r\nJos\xe9;M\xe1laga\r\n"


def test_text_mode_file_upload_is_not_silently_altered(tmp_path: Path) -> None:
    # FileField accepts any object with .read(); a text-mode file yields str, which is
    # re-encoded as UTF-8 after universal-newline translation: the server receives
    # "name;city\nJos\xc3\xa9;..." instead of the file's bytes (CR dropped, charset changed),
    # with no error. httpx refuses text-mode files; either refusing (TypeError/ValueError)
    # or sending the file's own bytes is correct; silently changing the upload is not.
    path = tmp_path / "cities.csv"
    path.write_bytes(ON_DISK)
    bodies: list[bytes] = []

    def handler(seen: Any, peer: Peer) -> bytes:
        bodies.append(seen.body)
        return response(200, body=b"ok")

    with Peer(handler) as peer, path.open(encoding="latin-1") as text_file:
        try:
            wirekit.post(peer.url + "/upload", files={"f": ("cities.csv", text_file, "text/csv")})
        except (TypeError, ValueError):
            return  # refused up front: fine
    assert len(bodies) == 1
    body = bodies[0]
    head_end = body.index(b"\r\n\r\n") + 4
    part = body[head_end:]
    assert part.startswith(ON_DISK), part[: len(ON_DISK) + 10]


def test_text_mode_file_upload_utf8_keeps_crlf(tmp_path: Path) -> None:
    # Same with the default encoding and a plain UTF-8 file: only the CRLF -> LF translation.
    data = b"a,b\r\n1,2\r\n"
    path = tmp_path / "plain.csv"
    path.write_bytes(data)
    bodies: list[bytes] = []

    def handler(seen: Any, peer: Peer) -> bytes:
        bodies.append(seen.body)
        return response(200, body=b"ok")

    with Peer(handler) as peer, path.open(encoding="utf-8") as text_file:
        try:
            wirekit.post(peer.url + "/upload", files={"f": text_file})
        except (TypeError, ValueError):
            return
    part = bodies[0][bodies[0].index(b"\r\n\r\n") + 4 :]
    assert part.startswith(data), part
