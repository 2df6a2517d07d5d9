"""Following a redirect's Location: which URL the next request goes to, and what
response.url shows (differential review against requests, httpx, aiohttp, curl, browsers).

Each test answers the first request with an exact, raw Location (tests/client/
retry_redirect_edges/_server.py RawServer) and records what the client asked next.
(Found by the session-16 review of Location handling; fixed since: repeated Location lines
are never joined (copies followed, different values refused); an empty Location is no
redirect; the inherited fragment is kept as written, and only when the Location has none;
a Location too long to follow is an InvalidRedirect.)
"""

from __future__ import annotations

import pytest

import wirekit
from tests.client.retry_redirect_edges._server import RawServer, Seen, response

_LANDED = response(200, body=b"landed")


def _redirecting(*locations: bytes, status: int = 302):
    """/start answers ``status`` with one Location field line per value; anything else 200."""

    def handler(seen: Seen) -> bytes:
        if seen.target == "/start":
            return response(status, [(b"Location", value) for value in locations])
        return _LANDED

    return handler


def _client() -> wirekit.Client:
    return wirekit.Client(trust_env=False, timeout=5.0, retry=0, max_redirects=3)


# -- 1. Location is a singleton field: its field lines must not be joined with ", " --------


def test_duplicate_identical_location_headers_are_followed_to_that_location() -> None:
    """A 302 carrying ``Location: /same`` twice (a proxy or framework adding the header
    again) is followed to ``/same,%20/same``, a URL the server never named: the page is a
    404 in practice. Chrome and Firefox follow identical duplicates to ``/same`` (they only
    refuse Location lines that differ), and so do curl and aiohttp. RFC 9110 §5.3: field
    lines may be combined with ", " only for a list-based field; Location (§10.2.2) is a
    single URI-reference, so the combined value is not a Location at all.
    Cause: flows.redirect_request reads ``response.headers["location"]``, and
    Headers.__getitem__ joins repeated values with ", "."""
    with RawServer(_redirecting(b"/same", b"/same")) as server:
        with _client() as client:
            result = client.get(server.url + "/start")
    assert [seen.target for seen in server.requests] == ["/start", "/same"]
    assert result.url.raw_path == "/same"


def test_conflicting_location_headers_are_not_merged_into_one_url() -> None:
    """``Location: /first`` and ``Location: /second`` on one 302: wirekit goes to
    ``/first,%20/second``. Browsers refuse the response (Chrome's
    ERR_RESPONSE_HEADERS_MULTIPLE_LOCATION, Firefox likewise: a response-splitting sign);
    curl and aiohttp take the first. Either is defensible; a third URL is not."""
    with RawServer(_redirecting(b"/first", b"/second")) as server:
        with _client() as client:
            try:
                outcome: object = client.get(server.url + "/start")
            except wirekit.WirekitError as exc:
                outcome = exc
    targets = [seen.target for seen in server.requests]
    if isinstance(outcome, wirekit.Response):
        assert targets == ["/start", "/first"], targets
    else:
        assert isinstance(outcome, wirekit.InvalidRedirect), repr(outcome)
        assert targets == ["/start"], targets


# -- 2. an empty Location ------------------------------------------------------------------


def test_empty_location_is_returned_not_followed_in_a_loop() -> None:
    """``HTTP/1.1 302`` with ``Location:`` (empty): wirekit resolves "" to the request's own
    URL and asks for it again and again until TooManyRedirects (max_redirects + 1 requests,
    21 by default, and no response for the caller). requests, aiohttp and curl return the
    302 as it is, and Chromium does not count an empty Location as a redirect
    (HttpResponseHeaders::IsRedirect skips empty values). Cause: Response.is_redirect only
    asks whether the field is present (messages.py), and flows.redirect_request follows
    whatever it holds. Fix: an empty (after OWS trimming) Location is not a redirect."""
    with RawServer(_redirecting(b"")) as server:
        with _client() as client:
            result = client.get(server.url + "/start")
    assert result.status_code == 302
    assert result.history == []
    assert len(server.requests) == 1


# -- 3. the inherited fragment (RFC 9110 §10.2.2) ------------------------------------------


@pytest.mark.parametrize(
    ("location", "start", "landing"),
    [(b"/next", "/start#a%2Fb%FF", "/next#a%2Fb%FF"), (b"/next#", "/start#top", "/next#")],
    ids=["inherited-as-written", "empty-fragment-not-inherited"],
)
def test_redirect_fragments_follow_rfc_9110(location: bytes, start: str, landing: str) -> None:
    """RFC 9110 §10.2.2: a Location without a fragment component inherits the request's,
    as it is written.

    - GET ``/start#a%2Fb%FF`` redirected to ``/next``: response.url ended in
      ``#a/b%EF%BF%BD``, the fragment decoded and encoded again (``%2F`` became "/", a
      non-UTF-8 ``%FF`` became U+FFFD); requests and browsers (location.hash) keep
      ``#a%2Fb%FF``. An SPA route or a signed fragment read from response.url was changed.
      Cause: flows.redirect_request copied the decoded fragment, not the raw one.
    - ``Location: /next#`` has a fragment component, an empty one, so it inherits nothing
      (Fetch: "if locationURL's fragment is null"): a browser lands on ``/next#``. wirekit
      tested ``not url.fragment`` (the decoded text, "" for both cases) and landed on
      ``/next#top``."""
    with RawServer(_redirecting(location)) as server:
        with _client() as client:
            result = client.get(server.url + start)
    assert [seen.target for seen in server.requests] == ["/start", "/next"]
    assert str(result.url) == server.url + landing


# -- 4. a Location over max_url_length -----------------------------------------------------


def test_overlong_location_is_an_invalid_redirect_naming_the_location() -> None:
    """A Location of 21000 raw UTF-8 "é" (42 kB, inside the 64 KiB head limit) encodes to
    a 126 kB URL. wirekit raises a bare ``LimitExceeded("URL of 126023 characters is over
    the max_url_length limit ...")``: it does not say that a redirect or the server's
    Location is the cause (the caller's own URL was short), and the history is lost. The
    docs promise ``InvalidRedirect`` for a Location that cannot be followed; httpx says
    "Invalid URL in location header: URL too long". Cause: flows.redirect_request catches
    only InvalidURL around ``request.url.join(location)``, not LimitExceeded (raised by
    URL._parse for the reference or for the joined result)."""
    with RawServer(_redirecting(b"/" + ("é" * 21000).encode())) as server:
        with _client() as client:
            with pytest.raises(wirekit.WirekitError) as caught:
                client.get(server.url + "/start")
    assert isinstance(caught.value, wirekit.InvalidRedirect), repr(caught.value)[:200]
    assert "Location" in str(caught.value)
