"""jcall's RFC ICE transport on real sockets: trickled gathering (a silent STUN server
delays nothing), TURN relays from a real coturn joining the checks late, relay-only,
the bounded failure with its explanation, and consent freshness noticing a dead peer."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import pytest

from jcall.signaling.model import Candidate, CandidateType
from jcall.transport.auto import AutoTransport
from jcall.transport.base import (
    Connected,
    Failed,
    IceMode,
    Lost,
    MediaTransport,
    Restored,
    TransportEvent,
)
from jcall.transport.consent import LOST_AFTER_S
from jcall.transport.ice import IceTransport
from jcall.transport.servers import IceServers, StunServer, TurnServer, TurnTransport

LOOPBACK = ["127.0.0.1"]


@pytest.fixture
def black_hole() -> Iterator[StunServer]:
    """A UDP port that takes STUN requests and never answers (a dead server)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield StunServer("127.0.0.1", sock.getsockname()[1])
    sock.close()


def turn_of(coturn: object, transport: TurnTransport = TurnTransport.UDP) -> TurnServer:
    host, port = coturn.address  # type: ignore[attr-defined]
    return TurnServer(host, port, coturn.user, coturn.password,  # type: ignore[attr-defined]
                      transport)


class Events:
    """A transport's events, read by a task of their own (a timed-out wait must not
    close the transport's event iterator)."""

    def __init__(self, transport: MediaTransport) -> None:
        self.queue: asyncio.Queue[TransportEvent] = asyncio.Queue()
        self.task = asyncio.ensure_future(self._read(transport.events()))

    async def _read(self, events: AsyncIterator[TransportEvent]) -> None:
        async for event in events:
            self.queue.put_nowait(event)

    async def next(self, timeout: float) -> TransportEvent:
        return await asyncio.wait_for(self.queue.get(), timeout)


async def trickle(source: MediaTransport, sink: MediaTransport | None,
                  log: list[tuple[float, list[Candidate]]] | None = None) -> None:
    async for batch in source.local_candidates():
        if log is not None:
            log.append((time.monotonic(), batch))
        if sink is not None:
            sink.add_remote(batch)


async def test_a_silent_stun_server_delays_neither_candidates_nor_the_path(
        black_hole: StunServer) -> None:
    slow = IceServers(stun=(black_hole,))
    a = IceTransport(controlling=True, servers=slow, host_addresses=LOOPBACK,
                     server_timeout=2.0)
    b = IceTransport(controlling=False, servers=slow, host_addresses=LOOPBACK,
                     server_timeout=2.0)
    a_log: list[tuple[float, list[Candidate]]] = []
    t0 = time.monotonic()
    tasks = [asyncio.ensure_future(trickle(a, b, a_log)), asyncio.ensure_future(trickle(b, a))]
    try:
        await asyncio.wait_for(asyncio.gather(a.connected, b.connected), 1.0)
        connected = time.monotonic() - t0
        assert a_log[0][0] - t0 < 0.1 and [c.type for c in a_log[0][1]] == ["host"]
        assert connected < 0.25, connected  # (aioice alone: 5 s for the STUN answer)
        await asyncio.wait_for(asyncio.gather(*tasks), 3.0)  # gathering ends: no answer
        assert len(a_log) == 1  # nothing else was learned
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(a.close(), b.close())


@pytest.mark.parametrize("transport", [TurnTransport.UDP, TurnTransport.TCP])
async def test_a_relay_trickles_after_the_host_and_carries_a_relay_only_call(
        coturn: object, transport: TurnTransport) -> None:
    """The caller offers only a relay (RFC 9429's relay policy): its host address never
    leaves it, and the path goes through coturn over UDP or TCP."""
    a = IceTransport(controlling=True, host_addresses=LOOPBACK,
                     servers=IceServers(turn=(turn_of(coturn, transport),), relay_only=True))
    b = IceTransport(controlling=False, host_addresses=LOOPBACK)
    a_log: list[tuple[float, list[Candidate]]] = []
    tasks = [asyncio.ensure_future(trickle(a, b, a_log)), asyncio.ensure_future(trickle(b, a))]
    try:
        await asyncio.wait_for(asyncio.gather(a.connected, b.connected), 5.0)
        assert [c.type for _, batch in a_log for c in batch] == ["relay"]
        assert a.path is not None and a.path.local_type == "relay"
        assert b.path is not None and b.path.remote_type in ("relay", "prflx")
        assert a.path.remote[0] == "127.0.0.1"
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(a.close(), b.close())


async def test_a_relay_joins_the_checks_after_they_started(coturn: object) -> None:
    """The peer's candidates are all unreachable; the caller's relay, learned after
    the checks began, is paired with them too (each pair is tried, and the failure
    names relay and host)."""
    a = AutoTransport(IceMode.RFC, controlling=True, host_addresses=LOOPBACK,
                      servers=IceServers(turn=(turn_of(coturn),)), no_path_after=1.0)
    b = IceTransport(controlling=False, host_addresses=LOOPBACK)
    events = Events(a)
    offered: list[str] = []

    async def offer() -> None:
        async for batch in a.local_candidates():
            offered.extend(c.type for c in batch)

    trickling = asyncio.ensure_future(offer())
    try:
        a.add_remote([replace(c, port=9) for c in await b.gather()])
        failed = await events.next(8.0)
        assert failed == Failed("tried host, relay; peer offered host")
        assert offered == ["host", "relay"]
        pairs = {(p.local_candidate.type, p.remote_candidate.port)
                 for p in a._rfc._conn._check_list}
        assert pairs == {("host", 9), ("relay", 9)}
    finally:
        trickling.cancel()
        await asyncio.gather(a.close(), b.close())


@pytest.mark.parametrize("mode", [IceMode.RFC, IceMode.GOOGLE])
async def test_no_path_fails_soon_after_the_last_candidate_and_says_what_was_tried(
        mode: IceMode) -> None:
    a = AutoTransport(mode, controlling=True, host_addresses=LOOPBACK, no_path_after=1.0)
    events = Events(a)
    trickling = asyncio.ensure_future(trickle(a, None))
    try:
        await asyncio.sleep(0.2)  # (gathered)
        ufrag, pwd = ("deadbeefdeadbeef", "p" * 24) if mode is IceMode.RFC else ("g" * 16, "")
        t0 = time.monotonic()
        a.add_remote([Candidate("127.0.0.1", 9, ufrag, pwd),
                      Candidate("224.0.0.9", 9, ufrag, pwd, type=CandidateType.SRFLX)])
        assert await events.next(5.0) == Failed(
            "tried host; peer offered host, srflx (not checked: 1 multicast)")
        assert 0.9 < time.monotonic() - t0 < 1.5
    finally:
        trickling.cancel()
        await a.close()


async def test_a_peer_that_vanishes_is_lost_within_three_seconds_and_one_that_returns_is_restored(
        ) -> None:
    a = IceTransport(controlling=True, host_addresses=LOOPBACK)
    b = IceTransport(controlling=False, host_addresses=LOOPBACK)
    events = Events(a)
    tasks = [asyncio.ensure_future(trickle(a, b)), asyncio.ensure_future(trickle(b, a))]
    try:
        await asyncio.wait_for(asyncio.gather(a.connected, b.connected), 2.0)
        assert isinstance(await events.next(1.0), Connected)
        # No media at all: consent answers alone keep the path alive.
        with pytest.raises(TimeoutError):
            await events.next(LOST_AFTER_S + 1.5)
        # The peer stops answering (its socket stays open but unread).
        reader = b._reader
        assert reader is not None
        reader.pause()
        t0 = time.monotonic()
        assert isinstance(await events.next(LOST_AFTER_S + 1.5), Lost)
        assert time.monotonic() - t0 <= 3.0  # (the target: noticed within 3 s)
        reader.resume()
        assert isinstance(await events.next(2.0), Restored)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(a.close(), b.close())
