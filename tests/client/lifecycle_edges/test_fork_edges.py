"""os.fork() with a sync Client that has idle keep-alive connections (a pre-fork server's
workers, multiprocessing's default start method on Linux, a daemonising CLI).
(Found by the session-16 review of lifecycles; fixed since: at a fork the child's pools
start new books (os.register_at_fork): the parent's idle connections are let go without
I/O or event-loop calls (their fds pointed at /dev/null), lent-out ones when their response
ends; the pool lock and the expiry alarm are made anew, and a body is finished by whoever
takes its one claim token, with no lock.)

After fork the child holds copies of the parent's sockets: a connection both processes use
is one byte stream with two readers, and each can get the other's answer (the classic bug
of requests/urllib3 and httpx). The child must open its own connections.
"""

from __future__ import annotations

import asyncio
import time

import pytest

import wirekit
from tests.client.lifecycle_edges._fork import FORK_WARNING, held_by_another_thread, run_in_child
from tests.client.lifecycle_edges._peer import IdPeer


@pytest.mark.filterwarnings(FORK_WARNING)
def test_sync_forked_child_does_not_reuse_the_parents_pooled_connection() -> None:
    with IdPeer() as peer, wirekit.Client(timeout=5.0) as client:
        assert client.get(peer.url + "/parent-1").text == "1:/parent-1"  # connection 1 idle

        child = run_in_child(lambda: client.get(peer.url + "/child").text)

        # The child's answer must come over a connection of its own, not connection 1,
        # which the parent still holds (and may use at the same moment).
        assert child == "2:/child"


@pytest.mark.filterwarnings(FORK_WARNING)
def test_sync_parent_never_gets_the_answer_to_its_forked_childs_request() -> None:
    with IdPeer() as peer, wirekit.Client(timeout=5.0) as client:
        assert client.get(peer.url + "/parent-1").text == "1:/parent-1"

        # The child's request times out (the server answers /slow after 0.5 s) and the
        # child exits; the answer still comes, later.
        child = run_in_child(lambda: client.get(peer.url + "/slow-child", timeout=0.1).text)
        assert child.startswith("ERROR:")  # (a ReadTimeout)

        answer = client.get(peer.url + "/parent-2").text
        assert answer.endswith(":/parent-2"), f"the parent got {answer!r}"


@pytest.mark.filterwarnings(FORK_WARNING)
def test_sync_forked_child_is_not_blocked_by_a_pool_section_of_a_parent_thread() -> None:
    """Fork while another thread of the parent is inside the pool's locked section (taking or
    giving back a connection: short, but a busy threaded program forks in it sooner or
    later). That thread does not exist in the child: the child's requests must not wait for
    it forever."""
    with IdPeer() as peer, wirekit.Client(timeout=2.0) as client:
        assert client.get(peer.url + "/parent-1").text == "1:/parent-1"
        pool_lock = client.transport._pool._lock  # type: ignore[attr-defined]
        # Where a request taking an idle connection is, briefly.
        with held_by_another_thread(pool_lock):
            child = run_in_child(lambda: client.get(peer.url + "/child").text, timeout=4.0)
        assert child.endswith(":/child"), f"the child got {child!r}"


@pytest.mark.filterwarnings(FORK_WARNING)
def test_sync_forked_child_closes_its_idle_connections_after_keepalive_expiry() -> None:
    """The parent's expiry timer thread does not exist in the child: the child's own idle
    connections must still be closed once keepalive_expiry has passed (no CLOSE_WAIT
    build-up in long-lived workers)."""
    limits = wirekit.Limits(keepalive_expiry=0.3)
    with IdPeer() as peer, IdPeer() as other, wirekit.Client(timeout=5.0, limits=limits) as client:
        assert client.get(peer.url + "/parent-1").text == "1:/parent-1"  # timer armed

        def child_work() -> str:
            client.get(other.url + "/child")  # a connection of the child's own, left idle
            time.sleep(1.5)  # five times the expiry; no further request
            return repr(client.transport.connection_counts())  # type: ignore[attr-defined]

        assert run_in_child(child_work) == repr({"open": 0, "idle": 0})


@pytest.mark.filterwarnings(FORK_WARNING)
def test_async_parent_client_keeps_working_after_a_forked_child_used_it() -> None:
    """A long-lived event loop in the parent (an asyncio.Runner, a server's loop) with an
    AsyncClient holding an idle connection; a forked child runs its own asyncio.run() with
    the inherited client, as the docs allow ("one used again under another loop keeps
    working"). The child gets its answer; the parent's next request must too."""
    with IdPeer() as peer:
        client = wirekit.AsyncClient(timeout=2.0, retry=0)

        async def get(path: str) -> str:
            return (await client.get(peer.url + path)).text

        with asyncio.Runner() as runner:
            try:
                assert runner.run(get("/parent-1")) == "1:/parent-1"

                child = run_in_child(lambda: asyncio.run(get("/child")))
                assert child.endswith(":/child"), child

                try:
                    answer = runner.run(get("/parent-2"))
                except wirekit.TransportError as exc:
                    answer = f"{type(exc).__name__}: {exc}"
                assert answer.endswith(":/parent-2"), f"the parent got {answer!r}"
            finally:
                runner.run(client.aclose())
