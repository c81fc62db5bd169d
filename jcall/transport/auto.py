"""The transport a call owns, with its ICE flavour chosen per peer (``--ice auto``).

jcall's candidates are valid in both flavours: one username on every candidate (a
Google ICE peer prefixes it to its own in USERNAME) and an RFC pwd (which Google ICE
ignores). So a call starts on RFC ICE (aioice) and moves to Google ICE the moment the
peer shows it speaks that (``flavor.py``): its candidates, or a Google check reaching
one of our sockets, also when that happens after our candidates went out. The move
keeps the gathered sockets (``IceTransport.handover``), so every candidate the peer
has stays valid, and replays the checks that revealed it.

``--ice rfc`` and ``--ice google`` skip the choice; with ``--ice google`` each port
gets its own username and password before any candidate is sent, as libjingle's do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence

from ..signaling.model import RTP_COMPONENT, Candidate, Credentials
from . import filters, flavor
from .base import (
    Address,
    Connected,
    DirectPath,
    EventStream,
    Failed,
    IceFlavor,
    IceMode,
    MediaTransport,
    PathInfo,
    TransportEvent,
)
from .events import no_path
from .filters import AddressPolicy
from .google_udp import GoogleUdpTransport
from .ice import IceTransport
from .p2p import GoogleIceError
from .servers import NO_SERVERS, IceServers

log = logging.getLogger(__name__)

GOOGLE_NO_RELAY = "jcall runs Google ICE on host sockets only, not with '--relay-only'"
MAX_HELD_CHECKS = 16  # Google checks kept for the Google ICE agent while it starts
NO_PATH_S = 8.0  # no path this long after the last candidate exchange: none will come


class AutoTransport:
    """A :class:`~.base.MediaTransport` that is RFC or Google ICE as the peer needs."""

    def __init__(self, mode: IceMode = IceMode.AUTO, *, controlling: bool,
                 servers: IceServers = NO_SERVERS, host_addresses: list[str] | None = None,
                 loopback: bool = False, no_path_after: float = NO_PATH_S) -> None:
        """``loopback``: offer 127.0.0.1 and check the peer's loopback candidates
        (``--ice-loopback``); a loopback ``host_addresses`` entry implies the latter.
        ``no_path_after``: with candidates gone both ways and no path this long after
        the last of them, the transport fails, naming what each side offered (checks
        on a working pair succeed within a few retransmissions; aioice alone waits for
        an end-of-candidates that Gingle never sends, and fails a pair after 63.5 s)."""
        self.mode = mode
        self._relay_only = servers.relay_only
        self._rfc = IceTransport(controlling=controlling, servers=servers,
                                 host_addresses=host_addresses, include_loopback=loopback)
        self._policy = AddressPolicy.for_local(host_addresses, loopback)
        self._impl: IceTransport | GoogleUdpTransport = self._rfc
        self._flavor: IceFlavor | None = {IceMode.RFC: IceFlavor.RFC,
                                          IceMode.GOOGLE: IceFlavor.GOOGLE}.get(mode)
        self._events = EventStream()
        self._forward = asyncio.ensure_future(self._pump(self._rfc))
        self._gathered = asyncio.Event()
        self._switch: asyncio.Task[None] | None = None
        self._remote: list[Candidate] = []
        self._held_checks: list[tuple[bytes, Address, Address]] = []
        self._peer_ready = False
        self._ended = False
        self._receiver: Callable[[bytes, float], None] | None = None
        self._rfc_closed = False
        self._loop = asyncio.get_running_loop()
        self._no_path_after = no_path_after
        self._tried: set[str] = set()  # our candidate types, as offered
        self._unchecked: dict[Address, str] = {}  # the peer's we refused, with why
        self._last_exchange = 0.0
        self._deadline: asyncio.TimerHandle | None = None
        self._connected = False
        if mode is not IceMode.RFC:
            self._rfc.on_google_check = self._google_check

    @property
    def flavor(self) -> IceFlavor | None:
        return self._flavor

    @property
    def path(self) -> PathInfo | None:
        return self._impl.path

    @property
    def rtt_s(self) -> float | None:
        return self._impl.rtt_s

    @property
    def credentials(self) -> Credentials | None:
        return self._rfc.credentials if self._impl is self._rfc else None

    # -- candidates -----------------------------------------------------------------------
    async def local_candidates(self) -> AsyncIterator[list[Candidate]]:
        """RFC ICE's trickle while the peer's flavour allows it. After a move to Google
        ICE the host sockets (and the reflexive candidates learned on them so far) carry
        on; a relay, and reflexive answers still to come, are dropped."""
        if self.mode is IceMode.GOOGLE and self._relay_only:
            self._events.put(Failed(GOOGLE_NO_RELAY))
            return
        await self._rfc.hosts()
        self._gathered.set()
        if self.mode is IceMode.GOOGLE:
            await self._rfc.gather()  # the Google ICE agent starts with all of them
            await self._become_google(fresh_credentials=True)
            assert isinstance(self._impl, GoogleUdpTransport)
            yield self._offered([c for p in self._impl.agent.ports.values()
                                 for c in p.candidates])
            return
        async for batch in self._rfc.local_candidates():
            if self._rfc_closed:
                return
            yield self._offered(batch)

    def _offered(self, batch: list[Candidate]) -> list[Candidate]:
        self._tried.update(str(c.type) for c in batch)
        self._exchanged()
        return batch

    def add_remote(self, candidates: Sequence[Candidate]) -> None:
        if not candidates:
            return
        self._remote.extend(candidates)
        self._exchanged()
        shown = flavor.from_candidates(self._remote)
        if self._flavor is None and shown is not None:
            self._decide(shown, flavor.explain(self._remote))
        if self._flavor is IceFlavor.RFC and shown is IceFlavor.GOOGLE:
            why = flavor.explain(self._remote)
            if self.mode is IceMode.RFC:
                self._events.put(Failed(f"the peer speaks Google ICE ({why}), and "
                                        "'--ice rfc' rules that out"))
            else:
                log.info("ignoring candidates that contradict the peer's RFC ICE (%s)", why)
            return
        if self._flavor is IceFlavor.GOOGLE and self._impl is self._rfc:
            return  # the Google ICE agent takes all of them when it starts
        try:
            self._impl.add_remote(self._checkable(candidates))
        except GoogleIceError as exc:
            self._events.put(Failed(str(exc)))

    def _checkable(self, candidates: Sequence[Candidate]) -> list[Candidate]:
        kept, refused = filters.checkable(candidates, self._policy)
        for cand, why in refused:
            log.info("not checking %s candidate %s:%d", why, cand.address, cand.port)
            self._unchecked[(cand.address, cand.port)] = why
        return kept

    # -- no path ---------------------------------------------------------------------------
    def _exchanged(self) -> None:
        self._last_exchange = self._loop.time()
        self._arm()

    def _arm(self, delay: float | None = None) -> None:
        """(Re)start the no-path clock once candidates went both ways (not before: a
        callee may keep its candidates until the user accepts)."""
        if self._connected or self._events.closed or not self._tried or not self._remote:
            return
        if self._deadline is not None:
            self._deadline.cancel()
        when = self._last_exchange + self._no_path_after if delay is None \
            else self._loop.time() + delay
        self._deadline = self._loop.call_at(when, self._no_path)

    def _no_path(self) -> None:
        self._deadline = None
        if self._connected:
            return
        if self._impl is self._rfc and self._rfc.gathering:
            self._arm(delay=0.1)  # a server's answer still to come resets the clock
            return
        offered = {str(c.type) for c in self._remote if c.component == RTP_COMPONENT}
        self._events.put(Failed(no_path(self._tried, offered,
                                        dict(Counter(self._unchecked.values())))))

    def end_of_candidates(self) -> None:
        self._ended = True
        self._impl.end_of_candidates()

    def peer_has_candidates(self) -> None:
        self._peer_ready = True
        self._impl.peer_has_candidates()

    # -- choosing ----------------------------------------------------------------------------
    def _decide(self, shown: IceFlavor, why: str) -> None:
        self._flavor = shown
        log.info("the peer speaks %s (%s)", shown.value, why)
        if shown is IceFlavor.GOOGLE and self._relay_only:
            # Google ICE here runs on the host sockets; a relay cannot be handed over.
            self._events.put(Failed(f"the peer speaks Google ICE ({why}); {GOOGLE_NO_RELAY}"))
            return
        if shown is IceFlavor.GOOGLE:
            self._switch = asyncio.ensure_future(self._become_google(fresh_credentials=False))

    def _google_check(self, data: bytes, source: Address, local: Address) -> None:
        """A Google ICE check reached one of aioice's sockets."""
        if self._flavor is IceFlavor.RFC:
            return  # the peer's candidates said RFC: not one of its checks
        if len(self._held_checks) < MAX_HELD_CHECKS:
            self._held_checks.append((data, source, local))
        if self._flavor is None:
            self._decide(IceFlavor.GOOGLE, "an RFC 3489 connectivity check")

    async def _become_google(self, *, fresh_credentials: bool) -> None:
        await self._gathered.wait()  # every socket exists: all can be handed over
        handed = self._rfc.handover()
        self._forward.cancel()
        self._rfc_closed = True
        try:
            await self._rfc.close()
        except asyncio.CancelledError:
            for h in handed:
                h.sock.close()
            raise
        google = GoogleUdpTransport(handed, fresh_credentials=fresh_credentials)
        self._impl = google
        self._forward = asyncio.ensure_future(self._pump(google))
        google.set_receiver(self._receiver)
        held, self._held_checks = self._held_checks, []
        for data, source, local in held:
            google.inject(data, source, local)
        if self._remote:
            google.add_remote(self._checkable(self._remote))
        if self._peer_ready:
            google.peer_has_candidates()
        if self._ended:
            google.end_of_candidates()

    async def _pump(self, impl: MediaTransport) -> None:
        async for event in impl.events():
            if isinstance(event, Connected | Failed) and self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None
            if isinstance(event, Connected):
                self._connected = True
            self._events.put(event)

    def events(self) -> AsyncIterator[TransportEvent]:
        return self._events.__aiter__()

    # -- media: the flavour in use -------------------------------------------------------
    def send_now(self, data: bytes) -> None:
        self._impl.send_now(data)

    def set_receiver(self, callback: Callable[[bytes, float], None] | None) -> None:
        self._receiver = callback
        self._impl.set_receiver(callback)

    @property
    def stray(self) -> int:
        google = self._impl.stray if self._impl is not self._rfc else 0
        return self._rfc.stray + google

    def direct(self) -> DirectPath | None:
        return self._impl.direct()

    async def close(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        for task in (self._switch, self._forward):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._impl is not self._rfc:
            await self._impl.close()
        if not self._rfc_closed:
            self._rfc_closed = True
            await self._rfc.close()
        self._events.close()
