"""The asyncio adapter that runs a :class:`~.google_ice.GoogleIceAgent` on UDP sockets.

Thin by design: the agent decides everything; this reads the sockets (with kernel
arrival times, ``udp.receive_all``), sends what the agent queues, keeps one timer
at the agent's ``get_timer()``, and passes the agent's events (the seam's own) on.
The sockets come from aioice's gathering (``ice.IceTransport.handover``): host and
server-reflexive candidates are standard STUN and stay aioice's; only the checks are
Google's.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace

from ..signaling.model import Candidate, Credentials
from . import google_ice as gi
from .base import Address, DirectPath, EventStream, IceFlavor, PathInfo, TransportEvent
from .ice import EARLY_DATAGRAMS, Handover
from .udp import enable_timestamps, is_rtp, receive_all

log = logging.getLogger(__name__)


class GoogleUdpTransport:
    """One Google ICE channel (the RTP component) of a call."""

    flavor = IceFlavor.GOOGLE

    def __init__(self, sockets: Sequence[Handover], *, fresh_credentials: bool) -> None:
        """``fresh_credentials``: give each port its own username and password, as
        libjingle does (only before any candidate was sent); otherwise keep the ones
        already advertised."""
        ports = []
        self._socks = {}
        for index, handed in enumerate(sockets):
            candidates = handed.candidates
            if fresh_credentials:
                username, password = gi.new_username(), gi.new_username()
                candidates = tuple(replace(c, ufrag=username, pwd=password)
                                   for c in candidates)
            ports.append(gi.LocalPort(index, handed.address, candidates[0].ufrag,
                                      candidates))
            enable_timestamps(handed.sock)
            self._socks[index] = handed.sock
        self.agent = gi.GoogleIceAgent(ports)
        self._loop = asyncio.get_running_loop()
        self._events = EventStream()
        self._timer: asyncio.TimerHandle | None = None
        self._receiver: Callable[[bytes, float], None] | None = None
        self._early: deque[tuple[bytes, float]] = deque(maxlen=EARLY_DATAGRAMS)
        self._reading: set[int] = set()
        self._closed = False
        for index in self._socks:
            self._resume(index)

    # -- the seam (base.MediaTransport) ---------------------------------------------------
    async def local_candidates(self) -> AsyncIterator[list[Candidate]]:
        yield [c for p in self.agent.ports.values() for c in p.candidates]

    def add_remote(self, candidates: Sequence[Candidate]) -> None:
        self.agent.add_remote(candidates, self._loop.time())
        self._service()

    def end_of_candidates(self) -> None:
        """Gingle has no end-of-candidates; Google ICE keeps every pair until it times out."""

    def peer_has_candidates(self) -> None:
        self.agent.peer_has_candidates(self._loop.time())
        self._service()

    def events(self) -> AsyncIterator[TransportEvent]:
        return self._events.__aiter__()

    @property
    def path(self) -> PathInfo | None:
        best = self.agent.best
        return None if best is None else best.path()

    @property
    def rtt_s(self) -> float | None:
        best = self.agent.best
        return None if best is None else best.rtt_s

    @property
    def credentials(self) -> Credentials | None:
        return None  # (each port has its own: they travel on the candidates)

    def inject(self, data: bytes, source: Address, local: Address) -> None:
        """A datagram that reached ``local`` before this agent owned the socket."""
        for index, port in self.agent.ports.items():
            if port.address == local:
                self._datagram(index, data, source, self._loop.time())
                self._service()
                return

    # -- running the agent --------------------------------------------------------------
    def _service(self) -> None:
        """Send what the agent queued, pass its events on, and re-arm its timer."""
        if self._closed:
            return
        for d in self.agent.datagrams():
            try:
                self._socks[d.port].sendto(d.data, d.to)
            except OSError as exc:  # e.g. an unreachable candidate address
                log.debug("Google ICE: send to %s failed: %s", d.to, exc)
        for event in self.agent.events():
            log.info("Google ICE: %s (best: %s)", event, self.agent.best)
            self._events.put(event)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        when = self.agent.get_timer()
        if when is not None:
            self._timer = self._loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.agent.handle_timer(self._loop.time())
        self._service()

    def _readable(self, index: int) -> None:
        datagrams = receive_all(self._socks[index])
        for arrival, data, source in datagrams:
            self._datagram(index, data, source, arrival)
        if datagrams:
            self._service()

    def _datagram(self, index: int, data: bytes, source: Address, arrival: float) -> None:
        if self.agent.receive(index, data, source, arrival) and is_rtp(data):
            if self._receiver is not None:
                self._receiver(data, arrival)
            else:
                self._early.append((data, arrival))

    # -- media --------------------------------------------------------------------------
    def send_now(self, data: bytes) -> None:
        best = self.agent.best
        if best is None:
            raise ConnectionError("not connected")
        self._socks[best.port.index].sendto(data, best.remote.address)

    def set_receiver(self, callback: Callable[[bytes, float], None] | None) -> None:
        """Deliver media to ``callback(data, arrival)``; what came before goes first."""
        self._receiver = callback
        while callback is not None and self._early:
            callback(*self._early.popleft())

    @property
    def stray(self) -> int:
        return self.agent.stray

    def direct(self) -> DirectPath | None:
        """The best connection's socket for the media thread, which hands the STUN it
        reads back through ``stun``. The thread keeps this connection for the call."""
        best = self.agent.best
        if best is None:
            return None
        index = best.port.index
        sock = self._socks[index].dup()
        sock.setblocking(False)
        return DirectPath(sock=sock, remote=best.remote.address,
                          admits=functools.partial(self.agent.admits, index),
                          stun=functools.partial(self._from_thread, index),
                          pause=functools.partial(self._pause, index),
                          resume=functools.partial(self._resume, index))

    def _from_thread(self, index: int, data: bytes, source: Address, arrival: float) -> None:
        # (at its arrival: an answer read on the thread's next pass is not made later)
        self.agent.receive(index, data, source, min(arrival, self._loop.time()))
        self._service()

    def _pause(self, index: int) -> None:
        if index in self._reading:
            self._loop.remove_reader(self._socks[index].fileno())
            self._reading.discard(index)

    def _resume(self, index: int) -> None:
        sock = self._socks[index]
        if index not in self._reading and not self._closed and sock.fileno() >= 0:
            self._loop.add_reader(sock.fileno(), self._readable, index)
            self._reading.add(index)

    async def close(self) -> None:
        for index in list(self._reading):
            self._pause(index)
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        for sock in self._socks.values():
            sock.close()
        self._receiver = None
        self._events.close()
