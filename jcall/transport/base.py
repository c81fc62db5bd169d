"""The transport seam a call owns (shared/ARCHITECTURE.md section 1).

A :class:`MediaTransport` finds and keeps the media path of one call: local candidates
trickle out of it as they are learned, the peer's go in, and it reports typed events
(:class:`Connected` with the path, :class:`Failed` with why, :class:`Lost`,
:class:`Restored`). Two ICE flavours live behind it: RFC 8445 (aioice, ``ice.py``) and
Google ICE (``google_udp.py`` around the sans-I/O ``google_ice.py``); ``auto.py`` picks
one per peer. Above ``jcall/transport/`` nothing imports aioice.

The media engine sends and receives through the same object: ``send_now`` on the
selected path, ``set_receiver`` for RTP with arrival times, and ``direct()`` for the
media thread that takes the path's socket over.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..signaling.model import Candidate, Credentials
from .events import (
    Address,
    Connected,
    Failed,
    IceFlavor,
    IceMode,
    Lost,
    PathInfo,
    Restored,
    TransportEvent,
)

__all__ = ["Address", "Connected", "DirectPath", "EventStream", "Failed", "IceFlavor",
           "IceMode", "Lost", "MediaTransport", "PathInfo", "Restored", "TransportEvent"]


@dataclass(frozen=True)
class DirectPath:
    """The selected path's own UDP socket (a duplicate descriptor), for a media thread
    that sends and receives without the event loop: ``pause()`` stops the event loop
    reading it, ``resume()`` starts it again. STUN that the thread reads goes back to
    the ICE agent through ``stun(data, source, arrival)`` (call it on the event loop;
    ``arrival`` is the kernel's, so that answers time the round trip without the
    thread's receive pass); ``heard(arrival)`` tells
    the transport that media still arrives (any thread: it only stores the time).
    ``admits(source)`` says whether a datagram from ``source`` may be media (any
    thread; it counts nothing: the reader counts what it refuses)."""

    sock: socket.socket
    remote: Address
    admits: Callable[[Address], bool]
    stun: Callable[[bytes, Address, float], None]
    pause: Callable[[], None]
    resume: Callable[[], None]
    heard: Callable[[float], None] = lambda arrival: None


class MediaTransport(Protocol):
    @property
    def flavor(self) -> IceFlavor | None:
        """None while it is not yet known which ICE the peer speaks."""

    @property
    def path(self) -> PathInfo | None: ...

    @property
    def credentials(self) -> Credentials | None:
        """Our RFC ICE ufrag and pwd, for a dialect that sends them apart from the
        candidates (Jingle); None once Google ICE gives each port its own."""

    def local_candidates(self) -> AsyncIterator[list[Candidate]]:
        """Our candidates, in batches as they are learned; ends when gathering does."""

    def add_remote(self, candidates: Sequence[Candidate]) -> None: ...

    def end_of_candidates(self) -> None: ...

    def peer_has_candidates(self) -> None:
        """Signalling delivered our candidates to the peer (its ack arrived)."""

    def events(self) -> AsyncIterator[TransportEvent]: ...

    def send_now(self, data: bytes) -> None: ...

    def set_receiver(self, callback: Callable[[bytes, float], None] | None) -> None: ...

    @property
    def stray(self) -> int:
        """Datagrams refused as media because of where they came from (filters.py)."""

    @property
    def rtt_s(self) -> float | None:
        """The path's smoothed round-trip time, once a check has measured it."""

    def direct(self) -> DirectPath | None: ...

    async def close(self) -> None: ...


class EventStream:
    """Events in order for one reader; ``close()`` ends the iteration."""

    _END = object()

    def __init__(self) -> None:
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self.closed = False

    def put(self, event: TransportEvent) -> None:
        if not self.closed:
            self._queue.put_nowait(event)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._queue.put_nowait(self._END)

    async def __aiter__(self) -> AsyncIterator[TransportEvent]:
        while True:
            item = await self._queue.get()
            if item is self._END:
                return
            assert isinstance(item, Connected | Failed | Lost | Restored)
            yield item
