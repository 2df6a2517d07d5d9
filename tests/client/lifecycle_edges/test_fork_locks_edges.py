"""A fork while another thread of the parent holds a lock of an object the client shares
between threads (the cookie jar, DigestAuth, the netrc lookup): that thread does not exist
in the child, so the child's first use of the object would wait for it forever. (Left over
from the session-16 review of lifecycles, which fixed the pool's lock; fixed since: these
objects register with wirekit._forks, and a forked child gives each a new lock.)
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

import wirekit
from tests.client.lifecycle_edges._fork import FORK_WARNING, held_by_another_thread, run_in_child
from tests.client.lifecycle_edges._peer import IdPeer


def _child_request(client: wirekit.Client, url: str) -> Callable[[], str]:
    return lambda: client.get(url).text


@pytest.mark.filterwarnings(FORK_WARNING)
def test_a_cookie_jar_lock_held_at_the_fork_does_not_stop_the_child() -> None:
    with IdPeer() as peer, wirekit.Client(timeout=2.0) as client:
        client.cookies.set("session", "abc")
        with held_by_another_thread(client.cookies._lock):
            child = run_in_child(_child_request(client, peer.url + "/child"), timeout=4.0)
    assert child.endswith(":/child"), f"the child got {child!r}"


@pytest.mark.filterwarnings(FORK_WARNING)
def test_a_digest_auth_lock_held_at_the_fork_does_not_stop_the_child() -> None:
    auth = wirekit.DigestAuth("user", "pass")
    with IdPeer() as peer, wirekit.Client(timeout=2.0, auth=auth) as client:
        with held_by_another_thread(auth._lock):
            child = run_in_child(_child_request(client, peer.url + "/child"), timeout=4.0)
    assert child.endswith(":/child"), f"the child got {child!r}"
