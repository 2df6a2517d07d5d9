"""An unknown encoding set by hand is reported as a bad charset "in Content-Type".

Response.text (messages.py) words every LookupError as "unknown charset 'x' in
Content-Type", also when the name came from ``response.encoding = "x"`` and the
Content-Type says ``charset=utf-8``: the error sends the user to the server's headers,
which are fine, instead of naming their own assignment.
(Found by the session-16 review of text decoding; fixed since: an unknown encoding set by
hand is named as such, not blamed on Content-Type.)
"""

from __future__ import annotations

import pytest

from wirekit import Response
from wirekit.errors import DecodingError


def test_unknown_encoding_set_by_hand_is_not_blamed_on_content_type() -> None:
    response = Response(
        200, headers={"Content-Type": "text/plain; charset=utf-8"}, content=b"caf\xc3\xa9"
    )
    response.encoding = "no-such-codec"
    with pytest.raises(DecodingError, match="no-such-codec") as info:
        response.text  # noqa: B018 - the property is what raises
    assert "Content-Type" not in str(info.value)
