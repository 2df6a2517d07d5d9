"""Byte-scripted peers for the HTTP/1.1 core: feed bytes, collect events, compare."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from wirekit._proto.http1 import (
    NEED_DATA,
    PAUSED,
    ConnectionClosed,
    Data,
    Event,
    HTTP1Connection,
    Signal,
    State,
)

MAX_EVENTS = 10_000  # every pump loop is bounded


def pump(conn: HTTP1Connection, out: list[Event | Signal]) -> None:
    """Take events until NEED_DATA, PAUSED or ConnectionClosed (which are recorded too)."""
    for _ in range(MAX_EVENTS):
        event = conn.next_event()
        if event is NEED_DATA:
            return
        out.append(event)
        if event is PAUSED or isinstance(event, ConnectionClosed):
            return
    raise AssertionError("no NEED_DATA/PAUSED after MAX_EVENTS events")


def feed(
    conn: HTTP1Connection, pieces: Iterable[bytes], *, eof: bool = False
) -> list[Event | Signal]:
    out: list[Event | Signal] = []
    for piece in pieces:
        conn.receive_data(piece)
        pump(conn, out)
    if eof:
        conn.receive_data(b"")
        pump(conn, out)
    return out


def byte_at_a_time(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def split_at(data: bytes, points: Iterable[int]) -> list[bytes]:
    cuts = sorted({p for p in points if 0 < p < len(data)})
    edges = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


def normalise(events: list[Event | Signal]) -> list[Event | Signal]:
    """Merge adjacent Data pieces and repeated PAUSED: how bytes were split must not show."""
    out: list[Event | Signal] = []
    for event in events:
        if isinstance(event, Data) and out and isinstance(out[-1], Data):
            out[-1] = Data(out[-1].data + event.data)
        elif (event is PAUSED and out and out[-1] is PAUSED) or (
            isinstance(event, Data) and not event.data
        ):
            continue
        else:
            out.append(event)
    return out


def serve(
    conn: HTTP1Connection, pieces: Iterable[bytes], *, eof: bool = False
) -> list[Event | Signal]:
    """A server that answers 200 to every complete request and reuses the connection."""
    out: list[Event | Signal] = []

    def run() -> None:
        for _ in range(MAX_EVENTS):
            before = len(out)
            pump(conn, out)
            if len(out) == before or out[-1] is not PAUSED:
                return
            if conn.our_state is not State.IDLE:
                return
            conn.send_response(200, [], body=b"ok")
            if not conn.keep_alive:
                return
            conn.start_next_cycle()
        raise AssertionError("too many cycles")

    for piece in pieces:
        conn.receive_data(piece)
        run()
    if eof:
        conn.receive_data(b"")
        run()
    return out
