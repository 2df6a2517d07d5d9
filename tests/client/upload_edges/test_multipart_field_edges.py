"""Review of multipart ``files=`` parts (raw loopback peer, tests/client/upload_edges/_rawpeer.py).

(Found by a review of request bodies against requests and httpx; fixed since: a part without
a filename gets no Content-Type, as a plain form field.)
"""

from __future__ import annotations

import pytest

import wirekit
from tests.client.upload_edges._rawpeer import FramingPeer


def _part_heads(body: bytes, boundary: bytes) -> list[bytes]:
    parts = body.split(b"--" + boundary)[1:-1]
    return [part.lstrip(b"\r\n").split(b"\r\n\r\n", 1)[0] for part in parts]


@pytest.mark.parametrize("value", ['{"a": 1}', b"Zo\xc3\xab"], ids=["str", "bytes"])
def test_field_sent_with_no_filename_gets_no_binary_content_type(value: object) -> None:
    """``files={"meta": (None, value)}``: the well-known requests idiom for a plain form
    field in a multipart body (the filename is None on purpose: it is not a file).

    User sees: the part goes out with "Content-Type: application/octet-stream", so servers
    that honour a part's type take the text field for binary: aiohttp's
    ``await request.post()`` gives ``bytearray(b'{"a": 1}')`` instead of the str
    '{"a": 1}' (checked against a real aiohttp server during the review), and the app's
    ``form["meta"]`` comparisons and json.loads(str) fail.
    requests and httpx both send such a part without any Content-Type (RFC 7578 §4.4: it
    then defaults to text/plain), and aiohttp reads a str.
    Cause: wirekit/_models/multipart.py ``FileField.__init__`` always sets a content type:
    ``guessed or "application/octet-stream"`` even when ``filename is None``. Fix: guess or
    default the type only when a filename is given; with ``filename=None`` and no explicit
    type write no Content-Type line (an explicit 3rd tuple item still wins).
    """
    with FramingPeer() as peer, wirekit.Client(timeout=4.0) as client:
        response = client.post(peer.url + "/form", files={"meta": (None, value)})
    assert response.status_code == 200
    got = peer.got[0]
    content_type = dict(line.split(b": ", 1) for line in got.head.split(b"\r\n")[1:])[
        b"Content-Type"
    ]
    boundary = content_type.split(b"boundary=", 1)[1]
    (head,) = _part_heads(got.body, boundary)
    assert head == b'Content-Disposition: form-data; name="meta"', head
