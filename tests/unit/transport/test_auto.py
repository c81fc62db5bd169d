"""The per-peer transport without peers: what it does with nothing to gather."""

from __future__ import annotations

import asyncio

from jcall.transport.auto import AutoTransport
from jcall.transport.base import Failed, IceMode
from jcall.transport.ice import NO_ADDRESS


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
        assert [(c.address, c.type) for c in batch] == [("127.0.0.1", "local")]
    finally:
        await ours.close()
