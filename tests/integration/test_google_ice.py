"""jcall's ICE against a real third-party agent: Debian's libnice 0.1.21 in GOOGLE mode
(the stack under Pidgin/libpurple; gingle.md parts F and G) and in RFC 5245 mode,
over loopback."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jcall.transport.auto import AutoTransport
from jcall.transport.base import Connected, IceFlavor, IceMode, TransportEvent

from .nice import NicePeer, recorded

LOOPBACK = ["127.0.0.1"]


def rtp(seq: int, size: int = 160) -> bytes:
    return bytes([0x80, 0, seq >> 8, seq & 0xFF]) + seq.to_bytes(8, "big") + bytes(size)


async def first(events: AsyncIterator[TransportEvent], timeout: float = 5.0) -> TransportEvent:
    return await asyncio.wait_for(events.__anext__(), timeout)


@contextlib.asynccontextmanager
async def jcall_and_libnice(*, nice_controlling: bool, set_credentials: bool = False,
                            mode: IceMode = IceMode.AUTO, compatibility: str = "google"
                            ) -> AsyncIterator[tuple[AutoTransport, NicePeer]]:
    ours = AutoTransport(mode, controlling=not nice_controlling, host_addresses=LOOPBACK)
    nice = await NicePeer.start(controlling=nice_controlling, set_credentials=set_credentials,
                                compatibility=compatibility)
    try:
        yield ours, nice
    finally:
        await ours.close()
        await nice.close()


async def local(transport: AutoTransport) -> list:  # type: ignore[type-arg]
    out = []
    async for batch in transport.local_candidates():
        out += batch
    return out


async def both_ways(ours: AutoTransport, nice: NicePeer, tmp: Path, n: int) -> None:
    """``n`` datagrams each way over a connected pair, all arriving in order."""
    got: list[bytes] = []
    ours.set_receiver(lambda data, arrival: got.append(data))
    await nice.record(tmp / "nice.bin")
    nice.play([rtp(i) for i in range(n)], tmp / "play.bin", 0.005)
    for i in range(n):
        ours.send_now(rtp(1000 + i))
        await asyncio.sleep(0.002)
    played = await nice.wait_for("played")
    await asyncio.sleep(0.2)
    assert played["sent"] == n and played["failed"] == 0
    assert got == [rtp(i) for i in range(n)]
    assert [d for _, d in recorded(tmp / "nice.bin")] == [rtp(1000 + i) for i in range(n)]


async def test_libnice_calling_jcall_connects_and_carries_datagrams_both_ways(
        tmp_path: Path) -> None:
    """libpurple's caller side: its candidates arrive first, jcall answers with its own,
    libpurple acknowledges them (jcall may ping from then on)."""
    async with jcall_and_libnice(nice_controlling=True) as (ours, nice):
        events = ours.events()
        mine = await local(ours)
        ours.add_remote(nice.candidates_model())
        assert ours.flavor is IceFlavor.GOOGLE  # empty passwords: libpurple's kind
        nice.add_remote(mine)
        ours.peer_has_candidates()
        connected = await first(events)
        assert isinstance(connected, Connected)
        assert connected.path.flavor is IceFlavor.GOOGLE
        assert connected.path.remote[1] == nice.candidates[0]["port"]
        await nice.wait_for("selected", component=1)
        await both_ways(ours, nice, tmp_path, 50)


async def test_stock_libnice_called_by_jcall_takes_our_audio_but_never_sends(
        tmp_path: Path) -> None:
    """libpurple's callee side, stock: libnice answers and pings, so jcall's connection is
    writable and libnice hears jcall; but a controlled GOOGLE-mode libnice without
    stream credentials never selects a pair, so it cannot send (gingle.md part G)."""
    async with jcall_and_libnice(nice_controlling=False) as (ours, nice):
        events = ours.events()
        mine = await local(ours)
        nice.add_remote(mine)  # libpurple callee: jcall's candidates came with the initiate
        ours.add_remote(nice.candidates_model())
        ours.peer_has_candidates()
        assert isinstance(await first(events), Connected)
        await nice.record(tmp_path / "nice.bin")
        for i in range(20):
            ours.send_now(rtp(i))
        await asyncio.sleep(0.5)
        assert len(recorded(tmp_path / "nice.bin")) == 20
        nice.play([rtp(i) for i in range(5)], tmp_path / "play.bin", 0.01)
        played = await nice.wait_for("played")
        assert played["sent"] == 0 and played["failed"] == 5
        assert not nice.happened("selected")


async def test_libnice_with_stream_credentials_called_by_jcall_sends_too(
        tmp_path: Path) -> None:
    """The libnice-side work-around: set stream credentials; then it selects and sends."""
    async with jcall_and_libnice(nice_controlling=False, set_credentials=True) as (ours, nice):
        events = ours.events()
        mine = await local(ours)
        nice.add_remote(mine)
        ours.add_remote(nice.candidates_model())
        ours.peer_has_candidates()
        assert isinstance(await first(events), Connected)
        await nice.wait_for("selected", component=1)
        await both_ways(ours, nice, tmp_path, 10)


async def test_a_google_check_ahead_of_the_candidates_switches_jcall_to_google_ice() -> None:
    """libnice has jcall's candidates and pings before its own reach jcall: the first
    check is the evidence; jcall answers it once on Google ICE, then connects."""
    async with jcall_and_libnice(nice_controlling=True) as (ours, nice):
        events = ours.events()
        mine = await local(ours)
        nice.add_remote(mine)
        deadline = time.monotonic() + 5
        while ours.flavor is None and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert ours.flavor is IceFlavor.GOOGLE
        ours.add_remote(nice.candidates_model())
        assert isinstance(await first(events), Connected)
        await nice.wait_for("selected", component=1)


@pytest.mark.parametrize("nice_controlling", [True, False])
async def test_forced_google_mode_gives_each_port_its_own_credentials(
        nice_controlling: bool) -> None:
    async with jcall_and_libnice(nice_controlling=nice_controlling,
                                 mode=IceMode.GOOGLE) as (ours, nice):
        events = ours.events()
        mine = await local(ours)
        assert ours.flavor is IceFlavor.GOOGLE
        assert all(len(c.ufrag) == 16 and len(c.pwd) == 16 for c in mine)
        nice.add_remote(mine)
        ours.add_remote(nice.candidates_model())
        ours.peer_has_candidates()
        assert isinstance(await first(events), Connected)
        if nice_controlling:
            await nice.wait_for("selected", component=1)


@pytest.mark.parametrize("nice_controlling", [True, False])
async def test_libnice_rfc5245_and_jcall_stay_on_rfc_ice(nice_controlling: bool,
                                                        tmp_path: Path) -> None:
    """An RFC ICE peer that is not jcall: credentials on every candidate, checks with
    MESSAGE-INTEGRITY; jcall keeps RFC 8445 (aioice) and data flows both ways."""
    async with jcall_and_libnice(nice_controlling=nice_controlling,
                                 compatibility="rfc5245") as (ours, nice):
        events = ours.events()
        mine = await local(ours)
        nice.add_remote(mine, ufrag=mine[0].ufrag, pwd=mine[0].pwd)
        ours.add_remote([c for c in nice.candidates_model() if c.component == 1])
        assert ours.flavor is IceFlavor.RFC
        connected = await first(events)
        assert isinstance(connected, Connected) and connected.path.flavor is IceFlavor.RFC
        await nice.wait_for("selected", component=1)
        await both_ways(ours, nice, tmp_path, 10)


async def test_ice_rfc_with_a_google_ice_peer_fails_at_once_with_the_reason() -> None:
    from jcall.signaling.model import Candidate
    from jcall.transport.base import Failed

    ours = AutoTransport(IceMode.RFC, controlling=True, host_addresses=LOOPBACK)
    try:
        events = ours.events()
        await local(ours)
        ours.add_remote([Candidate("127.0.0.1", 40000, ufrag="Jyb7+0yiFQg4gktD", pwd="")])
        failed = await first(events, timeout=1.0)
        assert isinstance(failed, Failed)
        assert failed.reason == ("the peer speaks Google ICE (candidates without an ICE "
                                 "password), and '--ice rfc' rules that out")
        assert ours.flavor is IceFlavor.RFC
    finally:
        await ours.close()
