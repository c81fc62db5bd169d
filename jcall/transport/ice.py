"""The aioice adapter: gather, trickle remote candidates in, connect within a bound.

aioice facts this module is built around (shared/reference/infrastructure.md):
``connect()`` needs the remote ufrag/pwd before it starts and has no overall timeout;
gathering waits for STUN/TURN answers before returning anything; host addresses
cannot be chosen. So jcall starts ``connect()`` once the first remote candidate has
told it the credentials, bounds the wait itself, and may pin host addresses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import string
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import aioice
from aioice import ice as aioice_ice
from aioice.candidate import candidate_foundation

from ..signaling.gingle import Candidate
from .p2p import IceCredentials, remote_credentials, to_gingle, to_ice, usable
from .udp import enable_timestamps, is_rtp, realtime_offset, receive_all

log = logging.getLogger(__name__)

UFRAG_CHARS = 16  # libjingle's username length (gingle.md part E)
PWD_CHARS = 24  # aioice wants >= 22 (RFC 8445 section 5.3)
EARLY_DATAGRAMS = 100  # 1 s of 10 ms packets; older ones are of no use to a call
_ALPHABET = string.ascii_letters + string.digits


def _random(n: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


@dataclass(frozen=True)
class DirectPath:
    """The nominated pair's own UDP socket (a duplicate descriptor), for a media thread
    that sends and receives without the event loop: ``pause()`` stops the event loop
    reading it, ``resume()`` starts it again. STUN that the thread reads goes back to
    aioice through ``stun`` (call it on the event loop)."""

    sock: socket.socket
    remote: tuple[str, int]
    stun: Callable[[bytes, tuple[str, int]], None]
    pause: Callable[[], None]
    resume: Callable[[], None]


@dataclass(frozen=True)
class IceServers:
    """STUN/TURN servers (from XEP-0215 discovery or the command line)."""

    stun: tuple[str, int] | None = None
    turn: tuple[str, int] | None = None
    turn_username: str | None = None
    turn_password: str | None = None

    @property
    def any(self) -> bool:
        return self.stun is not None or self.turn is not None


class _Connection(aioice.Connection):
    """aioice with a choice of host addresses, a bounded gathering wait, a signal the
    moment a pair is nominated, and datagrams handed straight to a callback.

    These override aioice internals (checked by the integration tests): ``connect()``
    itself returns only at its next 20 ms check tick after nomination, and its receive
    queue costs a task wake-up per datagram.
    """

    def __init__(self, *, host_addresses: list[str] | None, gather_timeout: int,
                 controlling: bool, servers: IceServers, use_ipv6: bool,
                 credentials: IceCredentials) -> None:
        super().__init__(
            ice_controlling=controlling, components=1,
            stun_server=servers.stun, turn_server=servers.turn,
            turn_username=servers.turn_username, turn_password=servers.turn_password,
            use_ipv6=use_ipv6,
            local_username=credentials.ufrag, local_password=credentials.pwd,
        )
        self._jcall_hosts = host_addresses
        self._jcall_gather_timeout = gather_timeout
        loop = asyncio.get_running_loop()
        self.jcall_nominated = loop.create_future()
        self.jcall_on_data: Callable[[bytes, float], None] | None = None
        # Datagrams that came before anyone listened, with their arrival times: media
        # may start a little after the peer's (the jitter buffer needs the real times).
        self.jcall_early: deque[tuple[bytes, float]] = deque(maxlen=EARLY_DATAGRAMS)
        self._jcall_clock = loop.time

    def _check_list_maybe_complete(self) -> bool:
        done: bool = super()._check_list_maybe_complete()
        if done and not self.jcall_nominated.done():
            self.jcall_nominated.set_result(None)
        return done

    def data_received(self, data: bytes, component: int) -> None:
        # Instead of aioice's receive queue (a task wake-up per datagram).
        self.data_arrived(data, self._jcall_clock())

    def data_arrived(self, data: bytes, arrival: float) -> None:
        if self.jcall_on_data is not None:
            self.jcall_on_data(data, arrival)
        else:
            self.jcall_early.append((data, arrival))

    async def gather_candidates(self) -> None:
        # Same steps as aioice's own, but with our addresses and timeout.
        if self._local_candidates_start:
            return
        self._local_candidates_start = True
        addresses = self._jcall_hosts
        if addresses is None:
            addresses = aioice_ice.get_host_addresses(use_ipv4=self._use_ipv4,
                                                      use_ipv6=self._use_ipv6)
        for component in sorted(self._components):
            self._local_candidates += await self.get_component_candidates(
                component=component, addresses=addresses, timeout=self._jcall_gather_timeout)
        self._local_candidates_end = True


class _NominatedReader:
    """Reads the nominated pair's socket on the event loop instead of aioice's
    transport (paused meanwhile): RTP goes to ``deliver`` with its kernel arrival
    time, everything else to aioice's protocol as if aioice had read it."""

    def __init__(self, protocol: Any, deliver: Callable[[bytes, float], None]) -> None:
        self._protocol, self._deliver = protocol, deliver
        self._transport: Any = protocol.transport  # asyncio's selector datagram transport
        self.sock: socket.socket = self._transport.get_extra_info("socket").dup()
        self.sock.setblocking(False)
        enable_timestamps(self.sock)  # (a socket option: it holds for every duplicate)
        self._loop = asyncio.get_running_loop()
        self._transport.pause_reading()
        self._reading = False
        self.resume()

    def receive_pending(self) -> None:
        if self._reading:
            self._ready()

    def _ready(self) -> None:
        for arrival, data, addr in receive_all(self.sock, realtime_offset()):
            if is_rtp(data):
                self._deliver(data, arrival)
            else:
                self._protocol.datagram_received(data, addr)

    def pause(self) -> None:
        if self._reading:
            self._loop.remove_reader(self.sock.fileno())
            self._reading = False

    def resume(self) -> None:
        if not self._reading and self.sock.fileno() >= 0:
            self._loop.add_reader(self.sock.fileno(), self._ready)
            self._reading = True

    def close(self) -> None:
        self.pause()
        self.sock.close()


class IceTransport:
    """One ICE media stream (a single RTP component) of a call."""

    def __init__(self, *, controlling: bool, servers: IceServers = IceServers(),
                 host_addresses: list[str] | None = None, use_ipv6: bool = False,
                 gather_timeout: int = 2) -> None:
        self.credentials = IceCredentials(_random(UFRAG_CHARS), _random(PWD_CHARS))
        self._conn = _Connection(
            host_addresses=host_addresses, gather_timeout=gather_timeout,
            controlling=controlling, servers=servers, use_ipv6=use_ipv6,
            credentials=self.credentials)
        self._gathered = False
        self._remote: IceCredentials | None = None
        self._feed: asyncio.Task[None] | None = None
        self._connect: asyncio.Task[None] | None = None
        self._connecting: asyncio.Future[None] | None = None
        self._sending: set[asyncio.Future[None]] = set()
        self._reader: _NominatedReader | None = None
        self.connected: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def gather(self) -> list[Candidate]:
        """Gather local candidates and return them as p2p candidates."""
        await self._conn.gather_candidates()
        self._gathered = True
        hosts: list[str] = []
        out = []
        for c in self._conn.local_candidates:
            base = c.related_address or c.host
            if base not in hosts:
                hosts.append(base)
            out.append(to_gingle(c.host, c.port, c.type, self.credentials, hosts.index(base)))
        self._maybe_connect()
        return out

    def add_remote(self, candidates: Iterable[Candidate]) -> None:
        """Feed the peer's candidates; raises GoogleIceError for Google ICE peers."""
        mine = [c for c in candidates if usable(c)]
        if not mine:
            return
        creds = remote_credentials(mine, self._remote)
        assert creds is not None  # mine is not empty
        self._remote = creds
        self._conn.remote_username = creds.ufrag
        self._conn.remote_password = creds.pwd
        previous = self._feed
        self._feed = asyncio.create_task(self._add(previous, mine))
        self._maybe_connect()

    async def _add(self, previous: asyncio.Task[None] | None, cands: list[Candidate]) -> None:
        if previous is not None:
            await previous  # keep the peer's order
        for cand in cands:
            spec = to_ice(cand)
            await self._conn.add_remote_candidate(aioice.Candidate(
                foundation=candidate_foundation(spec.type, "udp", spec.host),
                component=1, transport="udp", priority=spec.priority,
                host=spec.host, port=spec.port, type=spec.type))

    def _maybe_connect(self) -> None:
        if self._connect is None and self._gathered and self._remote is not None:
            self._connect = asyncio.create_task(self._run_connect())

    async def _run_connect(self) -> None:
        if self._feed is not None:
            await self._feed
        connect = asyncio.ensure_future(self._conn.connect())
        self._connecting = connect
        await asyncio.wait({connect, self._conn.jcall_nominated},
                           return_when=asyncio.FIRST_COMPLETED)
        if self._conn.jcall_nominated.done():
            self._read_nominated()
            if not self.connected.done():
                self.connected.set_result(None)
            return  # aioice's connect() finishes by itself and starts consent checks
        exc = connect.exception()
        if not self.connected.done():
            self.connected.set_exception(ConnectionError(f"ICE failed: {exc}"))

    @property
    def selected(self) -> str:
        """``local -> remote`` of the nominated pair, for status and logs."""
        pairs = getattr(self._conn, "_nominated", {})
        pair = pairs.get(1)
        if pair is None:
            return "none"
        local, remote = pair.local_candidate, pair.remote_candidate
        return f"{local.host}:{local.port} ({local.type}) -> {remote.host}:{remote.port} " \
               f"({remote.type})"

    def send_now(self, data: bytes) -> None:
        """Send on the nominated pair without a coroutine per datagram; a TURN relay
        needs one (channel binding), so that case is scheduled."""
        pair = self._conn._nominated.get(1)
        if pair is None:
            raise ConnectionError("not connected")
        if pair.local_candidate.type == "relay":
            fut = asyncio.ensure_future(pair.protocol.send_data(data, pair.remote_addr))
            self._sending.add(fut)
            fut.add_done_callback(self._sending.discard)
        else:
            pair.protocol.transport.sendto(data, pair.remote_addr)

    def _read_nominated(self) -> None:
        """From nomination on, read the pair's socket here rather than in aioice, so
        that RTP carries the kernel's arrival times (a TURN relay's data comes
        through aioice's TURN client and cannot)."""
        pair = self._conn._nominated.get(1)
        if self._reader is None and pair is not None and pair.local_candidate.type != "relay":
            self._reader = _NominatedReader(pair.protocol, self._conn.data_arrived)

    def direct(self) -> DirectPath | None:
        """The nominated pair's socket, unless it is a TURN relay (which needs aioice
        to wrap every datagram)."""
        pair = self._conn._nominated.get(1)
        reader = self._reader
        if pair is None or reader is None:
            return None
        sock = reader.sock.dup()
        sock.setblocking(False)
        return DirectPath(sock=sock, remote=pair.remote_addr,
                          stun=pair.protocol.datagram_received,
                          pause=reader.pause, resume=reader.resume)

    def receive_pending(self) -> None:
        """Deliver the datagrams already waiting on the nominated pair's socket now
        (on the event loop; nothing while a media thread reads it, or on a relay)."""
        if self._reader is not None:
            self._reader.receive_pending()

    def set_receiver(self, callback: Callable[[bytes, float], None] | None) -> None:
        """Deliver datagrams to ``callback(data, arrival)`` as they arrive, ``arrival``
        on the event loop's clock (None: hold them again). Datagrams held before are
        delivered first, with their own arrival times."""
        self._conn.jcall_on_data = callback
        early = self._conn.jcall_early
        while callback is not None and early:
            callback(*early.popleft())

    async def close(self) -> None:
        self._conn.jcall_on_data = None
        if self._reader is not None:
            self._reader.close()
        for task in (self._connect, self._feed, self._connecting, *self._sending):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if not self.connected.done():
            self.connected.cancel()
        await self._conn.close()
