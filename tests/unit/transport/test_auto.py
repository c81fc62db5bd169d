"""The per-peer transport without peers: what it does with nothing to gather."""

from __future__ import annotations

import asyncio

from jcall.signaling.model import Candidate
from jcall.transport.auto import GOOGLE_NO_RELAY, AutoTransport
from jcall.transport.base import Failed, IceMode
from jcall.transport.ice import NO_ADDRESS
from jcall.transport.servers import IceServers, TurnServer


async def test_no_usable_address_is_said_instead_of_gathering_nothing() -> None:
    """A machine or namespace with only loopback: aioice finds no address to offer."""
    ours = AutoTransport(IceMode.AUTO, controlling=True, host_addresses=[])
    events = ours.events()
    try:
        batches = [batch async for batch in ours.local_candidates()]
        assert batches == []
        failed = await asyncio.wait_for(events.__anext__(), 1.0)
        assert failed == Failed(NO_ADDRESS)
        assert "--ice-loopback" in NO_ADDRESS
    finally:
        await ours.close()


async def test_ice_loopback_offers_127_0_0_1_too() -> None:
    ours = AutoTransport(IceMode.AUTO, controlling=True, host_addresses=[], loopback=True)
    try:
        (batch,) = [batch async for batch in ours.local_candidates()]
        assert [(c.address, c.type) for c in batch] == [("127.0.0.1", "host")]
    finally:
        await ours.close()


RELAY_ONLY = IceServers(turn=(TurnServer("127.0.0.1", 9, "u", "p"),), relay_only=True)


async def test_relay_only_refuses_a_google_ice_peer_instead_of_revealing_addresses() -> None:
    ours = AutoTransport(IceMode.AUTO, controlling=True, servers=RELAY_ONLY)
    events = ours.events()
    try:
        google = Candidate("127.0.0.1", 5000, ufrag="shortname", pwd="")  # no password: Google ICE
        ours.add_remote([google])
        failed = await asyncio.wait_for(events.__anext__(), 1.0)
        assert isinstance(failed, Failed) and GOOGLE_NO_RELAY in failed.reason
        assert failed.reason.startswith("the peer speaks Google ICE (")
    finally:
        await ours.close()


async def test_relay_only_with_forced_google_ice_gathers_nothing() -> None:
    ours = AutoTransport(IceMode.GOOGLE, controlling=True, servers=RELAY_ONLY)
    events = ours.events()
    try:
        assert [batch async for batch in ours.local_candidates()] == []
        assert await asyncio.wait_for(events.__anext__(), 1.0) == Failed(GOOGLE_NO_RELAY)
    finally:
        await ours.close()
