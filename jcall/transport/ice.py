"""The aioice adapter (RFC 8445 ICE): gather, trickle remote candidates in, connect
within a bound. The only module that imports aioice; it implements the transport seam
(``base.MediaTransport``).

aioice facts this module is built around (shared/reference/infrastructure.md):
``connect()`` needs the remote ufrag/pwd before it starts and has no overall timeout;
its own gathering waits for every STUN/TURN answer before returning anything, asks
one STUN and one TURN server, and cannot choose host addresses; its consent checks
notice a dead path only after 30-36 s. So jcall gathers itself: host candidates at
once (``connect()`` may start with them), then one task per STUN and TURN server whose
candidates trickle out as they come (RFC 8838), relays joining the check list as
they do. It starts ``connect()`` once the first remote candidate has told it the
credentials, and runs consent freshness itself (``consent.py``). How long to wait for
a pair is the flavour-neutral ``auto.py``'s decision.

Two things serve the per-peer choice of ICE (``auto.py``): a Google ICE check that
reaches an aioice socket is handed to ``on_google_check`` instead of aioice (which
would answer it 400 and garble its transaction id, gingle.md part G), and
:meth:`IceTransport.handover` gives the gathered sockets away (duplicated descriptors,
so the ports and every candidate already sent stay valid) before aioice closes.

aioice internals relied on (pinned in pyproject.toml, checked by
tests/unit/transport/test_ice.py): ``Connection._check_list_maybe_complete``,
``_local_candidates_start/_end``, ``_local_candidates``, ``_protocols``,
``_nominated``, ``_remote_candidates``, ``_pair_remote_candidate``,
``sort_check_list``, ``build_request``, ``query_consent``, ``_use_ipv4/6``,
``data_received``, ``ice.StunProtocol``, ``ice.server_reflexive_candidate``,
``ice.relayed_candidate``, and ``StunProtocol.transport/local_candidate/
datagram_received/request``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import operator
import random
import secrets
import socket
import string
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

import aioice
from aioice import ice as aioice_ice
from aioice.candidate import candidate_foundation, candidate_priority

from .. import trace
from ..signaling.model import Candidate
from . import consent, flavor
from .base import (
    Address,
    Connected,
    DirectPath,
    EventStream,
    Failed,
    IceFlavor,
    Lost,
    PathInfo,
    Restored,
    TransportEvent,
)
from .filters import MediaGate
from .p2p import Credentials, local_candidate, remote_credentials, to_ice, usable
from .rtt import RoundTrip
from .servers import NO_SERVERS, IceServers, StunServer, TurnServer
from .stun_classic import is_stun
from .udp import enable_timestamps, is_rtp, receive_all

__all__ = ["DirectPath", "Handover", "IceServers", "IceTransport"]

log = logging.getLogger(__name__)

UFRAG_CHARS = 16  # libjingle's username length (gingle.md part E)
PWD_CHARS = 24  # aioice wants >= 22 (RFC 8445 section 5.3)
SERVER_TIMEOUT_S = 5.0  # a STUN or TURN server's answer; later ones are not waited for
LIVENESS_POLL_S = 0.2  # how soon returning media shows after a loss
MAX_TIMED_ANSWERS = 8  # arrival times kept for answers no check has taken yet
RELAY_HEAD_START_S = 1.0  # direct pairs' head start over relayed ones...
RELAY_GRACE_S = 3.0  # ...or this, once the peer's checks arrive directly
MAX_RETRIGGERS = 2  # triggered re-checks of one in-progress pair (bounds a ping-pong)
_WAITING = aioice_ice.CandidatePair.State.WAITING
_FROZEN = aioice_ice.CandidatePair.State.FROZEN
_IN_PROGRESS = aioice_ice.CandidatePair.State.IN_PROGRESS
_SUCCEEDED = aioice_ice.CandidatePair.State.SUCCEEDED
_FAILED = aioice_ice.CandidatePair.State.FAILED
EARLY_DATAGRAMS = 100  # 1 s of 10 ms packets; older ones are of no use to a call
LOOPBACK = "127.0.0.1"
_ALPHABET = string.ascii_letters + string.digits


def _random(n: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


@dataclass(frozen=True)
class Handover:
    """A gathered socket given away, with the candidates it was advertised as."""

    sock: socket.socket  # a duplicate: aioice closes its own descriptor
    address: Address  # where it is bound (the host candidate)
    candidates: tuple[Candidate, ...]  # host first, then server-reflexive ones on it


NO_ADDRESS = ("no usable local address (this machine has only loopback; '--ice-loopback' "
              "calls on this machine)")

GoogleCheckHandler = Callable[[bytes, Address, Address], None]  # (data, source, local)


class _Connection(aioice.Connection):
    """aioice with jcall's gathering (a choice of host addresses, then every STUN and
    TURN server in the background), a signal the moment a pair is nominated, and
    datagrams handed straight to a callback.

    These override aioice internals (checked by the integration tests): ``connect()``
    itself returns only at its next 20 ms check tick after nomination, and its receive
    queue costs a task wake-up per datagram.
    """

    def __init__(self, *, host_addresses: list[str] | None, include_loopback: bool,
                 controlling: bool, servers: IceServers, use_ipv6: bool,
                 credentials: Credentials) -> None:
        super().__init__(
            ice_controlling=controlling, components=1, use_ipv6=use_ipv6,
            transport_policy=(aioice_ice.TransportPolicy.RELAY if servers.relay_only
                              else aioice_ice.TransportPolicy.ALL),
            local_username=credentials.ufrag, local_password=credentials.pwd,
        )
        # Regular nomination (RFC 8445 section 8.1.1): the controlling side nominates
        # one valid pair with a second check. aioice nominates aggressively (every
        # check carries USE-CANDIDATE) unless the peer is ICE-lite, and this flag is
        # its only switch (it reads it nowhere else; tests/unit/transport/test_ice.py).
        # Aggressive nomination is gone from RFC 8445 because the two ends may select
        # different pairs: behind NATs with relays and loss they did, and no audio
        # arrived either way.
        self.remote_is_lite = True
        self._jcall_hosts = host_addresses
        self._jcall_loopback = include_loopback
        self.jcall_servers = servers
        loop = asyncio.get_running_loop()
        self.jcall_nominated = loop.create_future()
        self.jcall_on_data: Callable[[bytes, float], None] | None = None
        # Datagrams that came before anyone listened, with their arrival times: media
        # may start a little after the peer's (the jitter buffer needs the real times).
        self.jcall_early: deque[tuple[bytes, float]] = deque(maxlen=EARLY_DATAGRAMS)
        self.jcall_on_google_check: GoogleCheckHandler | None = None
        self.jcall_last_media = 0.0  # arrival of the latest datagram (loop clock)
        self._jcall_clock = loop.time
        self._jcall_began: float | None = None  # when our first check went out
        self._jcall_peer_began: float | None = None  # when the peer's first one came
        self._jcall_direct_seen = False
        self._jcall_retriggers: dict[int, int] = {}
        self.jcall_gate = MediaGate()  # which sources are media (filters.py)
        self.jcall_malformed = 0  # STUN datagrams aioice could not parse

    def _check_list_maybe_complete(self) -> bool:
        pair = self._nominated.get(1)
        if pair is not None and self.jcall_gate.selected is None:
            self.jcall_gate.select(pair.protocol, pair.remote_addr)
        done: bool = super()._check_list_maybe_complete()
        if done and not self.jcall_nominated.done():
            self.jcall_nominated.set_result(None)
        return done

    def check_state(self, pair: Any, state: Any) -> None:
        if state is _SUCCEEDED:
            self.jcall_gate.validate(pair.protocol, pair.remote_addr)
        super().check_state(pair, state)

    def data_received(self, data: bytes, component: int) -> None:
        # Instead of aioice's receive queue (a task wake-up per datagram).
        self.data_arrived(data, self._jcall_clock())

    def data_arrived(self, data: bytes, arrival: float) -> None:
        self.jcall_last_media = arrival
        if self.jcall_on_data is not None:
            self.jcall_on_data(data, arrival)
        else:
            self.jcall_early.append((data, arrival))

    # -- which pair wins: direct before relayed (RFC 8445 sections 7.3.1.4 and 8.1.1) ---
    def _jcall_relayed(self, pair: Any) -> bool:
        return "relay" in (pair.local_candidate.type, pair.remote_candidate.type)

    def _jcall_holding(self, pair: Any) -> bool:
        """Whether a relayed pair's check waits: the first pair that works is
        nominated, and a relay often answers as fast as a hole being punched. So
        relayed checks start ``RELAY_HEAD_START_S`` after both sides began checking,
        or ``RELAY_GRACE_S`` once a check reached a host socket straight from the peer
        (hole punching under way), unless every direct pair failed already. The
        price: where only a relay can work, setup takes ``RELAY_HEAD_START_S`` longer."""
        if not self.ice_controlling or not self._jcall_relayed(pair) or self._nominated \
                or self._jcall_began is None:
            return False  # (the controlled side does not choose: holding would only delay)
        # The clock runs once both sides check (the peer may start later than we do),
        # or from our first check if the peer's never come.
        began = self._jcall_began
        if self._jcall_peer_began is not None:
            began = max(began, self._jcall_peer_began)
        wait = RELAY_GRACE_S if self._jcall_direct_seen else RELAY_HEAD_START_S
        if self._jcall_clock() >= min(began + wait, self._jcall_began + RELAY_GRACE_S):
            return False
        return any(not self._jcall_relayed(p) and p.state is not _FAILED
                   for p in self._check_list)

    def check_start_task(self, pair: Any) -> None:
        if self._jcall_holding(pair):
            return  # stays Waiting: _check_periodic starts it when the hold ends
        super().check_start_task(pair)

    def _check_periodic(self) -> bool:
        # aioice's pacing (one check per 20 ms tick: Waiting pairs, then Frozen ones),
        # stepping over held relayed pairs instead of stopping at them.
        if self._check_list_done:
            return False
        if self._jcall_began is None:
            self._jcall_began = self._jcall_clock()
        held = False
        for state in (_WAITING, _FROZEN):
            for pair in self._check_list:
                if pair.state is state:
                    if self._jcall_holding(pair):
                        held = True
                        continue
                    super().check_start_task(pair)
                    return True
        return held or self._remote_candidates_expected()

    def check_incoming(self, message: Any, addr: tuple[str, int], protocol: Any) -> None:
        # (aioice calls this for authenticated checks only: the peer knows our password)
        self.jcall_gate.validate(protocol, (addr[0], addr[1]))
        if self._jcall_peer_began is None:
            self._jcall_peer_began = self._jcall_clock()
        remote = next((c for c in self._remote_candidates
                       if (c._network_host, c.port) == (addr[0], addr[1])), None)
        if protocol.local_candidate.type == "host" and \
                (remote is None or remote.type != "relay"):
            self._jcall_direct_seen = True  # the peer's packets reach us directly
        pair = self._find_pair(protocol, remote) if remote is not None else None
        if pair is not None and pair.state is _IN_PROGRESS and pair.task is not None \
                and pair.component not in self._nominating \
                and self._jcall_retriggers.get(id(pair), 0) < MAX_RETRIGGERS:
            # RFC 8445 section 7.3.1.4: a check from the peer on a pair whose own check
            # is still in progress cancels that transaction and triggers a new one
            # now. (Its first request was probably dropped by the peer's NAT before
            # the peer's own packets opened it; otherwise it waits a whole RTO.) Never
            # once a nomination is under way: that check would lose its second half.
            self._jcall_retriggers[id(pair)] = self._jcall_retriggers.get(id(pair), 0) + 1
            pair.task.cancel()
            pair.task = None
            self.check_state(pair, _WAITING)
        super().check_incoming(message, addr, protocol)

    async def query_consent(self) -> None:
        """Not aioice's: :class:`IceTransport` runs consent freshness (``consent.py``)."""

    async def gather_candidates(self) -> None:
        """Host candidates only (RFC 8445 section 5.1.1.1); ``connect()`` may start
        with them. None at all with the relay policy: they would reveal addresses."""
        if self._local_candidates_start:
            return
        self._local_candidates_start = True
        addresses: list[str] = []
        if not self.jcall_servers.relay_only:
            addresses = self._jcall_hosts if self._jcall_hosts is not None else \
                aioice_ice.get_host_addresses(use_ipv4=self._use_ipv4, use_ipv6=self._use_ipv6)
            if self._jcall_loopback and LOOPBACK not in addresses:
                addresses = [*addresses, LOOPBACK]  # aioice never offers it itself
        loop = asyncio.get_running_loop()
        for address in addresses:
            try:
                _, protocol = await loop.create_datagram_endpoint(
                    lambda: aioice_ice.StunProtocol(self), local_addr=(address, 0))
            except OSError as exc:
                log.info("cannot bind to %s: %s", address, exc)
                continue
            host, port = protocol.transport.get_extra_info("sockname")[:2]
            protocol.local_candidate = aioice.Candidate(
                foundation=candidate_foundation("host", "udp", host), component=1,
                transport="udp", priority=candidate_priority(1, "host"), host=host,
                port=port, type="host")
            self._protocols.append(protocol)
            self._local_candidates.append(protocol.local_candidate)
            self._jcall_screen(protocol)
        self._local_candidates_end = True  # (for connect(): the rest trickles)

    async def jcall_reflexive(self, protocol: Any, server: StunServer) -> aioice.Candidate:
        """A server-reflexive candidate on a host socket (RFC 8445 section 5.1.1.2)."""
        candidate, _ = await aioice_ice.server_reflexive_candidate(protocol, server.address)
        return candidate

    async def jcall_relay(self, server: TurnServer) -> aioice.Candidate:
        """A relayed candidate from a TURN allocation (RFC 8656), joining the checks."""
        candidate, protocol = await aioice_ice.relayed_candidate(
            component=1, hide_related_address=self.jcall_servers.relay_only,
            protocol_factory=lambda: aioice_ice.StunProtocol(self),
            turn_server=server.address, turn_username=server.username,
            turn_password=server.password, turn_ssl=False,
            turn_transport=server.transport.value)
        if self._closing:
            await protocol.close()
            raise ConnectionError("closed while allocating")
        self._protocols.append(protocol)
        self._jcall_screen(protocol, google=False)
        if not self._nominated:  # pair it with what the peer already sent (RFC 8838 §10)
            for remote in self._remote_candidates:
                self._pair_remote_candidate(remote)
            self.sort_check_list()
        return candidate

    def _jcall_screen(self, protocol: Any, google: bool = True) -> None:
        """Datagrams that are not STUN reach aioice only from a source the gate admits;
        on a host socket (``google``) Google ICE checks go to ``jcall_on_google_check``
        (when set), not to aioice."""
        aioice_receive = protocol.datagram_received
        local = (protocol.local_candidate.host, protocol.local_candidate.port)
        admits = self.jcall_gate.admits

        def received(data: bytes, addr: tuple[Any, ...]) -> None:
            if not is_stun(data):
                if admits(protocol, (addr[0], addr[1])):
                    aioice_receive(data, addr)
                return
            handler = self.jcall_on_google_check
            if google and handler is not None and \
                    flavor.from_datagram(data) is IceFlavor.GOOGLE:
                handler(data, (addr[0], addr[1]), local)
                return
            try:
                aioice_receive(data, addr)
            except Exception as exc:  # (a stranger's bytes in a parser)
                # aioice's STUN parser catches ValueError only, and an attribute too
                # short for its type (a 4-byte ICE-CONTROLLED) raises struct.error:
                # found by scripts/fuzz. Out of a reader callback it would end the
                # receive pass, and with it the RTP read in the same pass.
                self.jcall_malformed += 1
                log.debug("malformed STUN from %s: %r", addr, exc)

        protocol.datagram_received = received


class _NominatedReader:
    """Reads the nominated pair's socket on the event loop instead of aioice's
    transport (paused meanwhile): RTP from a source ``admits`` goes to ``deliver``
    with its kernel arrival time, everything else to aioice's protocol as if aioice had
    read it."""

    def __init__(self, protocol: Any, deliver: Callable[[bytes, float], None],
                 admits: Callable[[Address], bool]) -> None:
        self._protocol, self._deliver, self._admits = protocol, deliver, admits
        self._transport: Any = protocol.transport  # asyncio's selector datagram transport
        self.sock: socket.socket = self._transport.get_extra_info("socket").dup()
        self.sock.setblocking(False)
        enable_timestamps(self.sock)  # (a socket option: it holds for every duplicate)
        self._loop = asyncio.get_running_loop()
        self._transport.pause_reading()
        self._reading = False
        self.resume()

    def _ready(self) -> None:
        for arrival, data, addr in receive_all(self.sock):
            if is_rtp(data):
                if self._admits(addr):
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
    """One RFC 8445 ICE media stream (a single RTP component) of a call."""

    flavor = IceFlavor.RFC

    def __init__(self, *, controlling: bool, servers: IceServers = NO_SERVERS,
                 host_addresses: list[str] | None = None, include_loopback: bool = False,
                 use_ipv6: bool = False, server_timeout: float = SERVER_TIMEOUT_S) -> None:
        self.credentials = Credentials(_random(UFRAG_CHARS), _random(PWD_CHARS))
        self._conn = _Connection(
            host_addresses=host_addresses, include_loopback=include_loopback,
            controlling=controlling, servers=servers, use_ipv6=use_ipv6,
            credentials=self.credentials)
        self._server_timeout = server_timeout
        self._loop = asyncio.get_running_loop()
        self._hosts_task: asyncio.Task[list[Candidate]] | None = None
        self._gathered = False  # host candidates exist: connect() may start
        self._batches: asyncio.Queue[list[Candidate] | None] = asyncio.Queue()
        self._gathering: set[asyncio.Task[aioice.Candidate]] = set()
        self._gather_done = asyncio.Event()  # every server answered or gave up
        self._server_errors: list[str] = []
        self._remote: Credentials | None = None
        self._feed: asyncio.Task[None] | None = None
        self._connect: asyncio.Task[None] | None = None
        self._connecting: asyncio.Future[None] | None = None
        self._sending: set[asyncio.Future[None]] = set()
        self._reader: _NominatedReader | None = None
        self._end_of_candidates = False
        self._advertised: list[tuple[aioice.Candidate, Candidate]] = []
        self._consent: asyncio.Task[None] | None = None
        self._rtt = RoundTrip()  # measured by the consent checks
        self._answer_arrivals: dict[bytes, float] = {}  # transaction id -> kernel arrival
        self._events = EventStream()
        self.connected: asyncio.Future[None] = self._loop.create_future()
        self.connected.add_done_callback(self._report)

    # -- the seam (base.MediaTransport) ---------------------------------------------------
    @property
    def on_google_check(self) -> GoogleCheckHandler | None:
        return self._conn.jcall_on_google_check

    @on_google_check.setter
    def on_google_check(self, handler: GoogleCheckHandler | None) -> None:
        self._conn.jcall_on_google_check = handler

    async def local_candidates(self) -> AsyncIterator[list[Candidate]]:
        """Host candidates at once, then each reflexive or relayed one as a server
        answers (RFC 8838 section 4); ends when every server has answered or given up."""
        hosts = await self.hosts()
        if hosts:
            yield hosts
        while (batch := await self._batches.get()) is not None:
            yield batch

    async def gather(self) -> list[Candidate]:
        """Every local candidate, once gathering has ended (no trickle)."""
        await self.hosts()
        await self._gather_done.wait()
        return [g for _, g in self._advertised]

    def events(self) -> AsyncIterator[TransportEvent]:
        return self._events.__aiter__()

    def end_of_candidates(self) -> None:
        self._end_of_candidates = True
        previous = self._feed
        self._feed = asyncio.create_task(self._add(previous, []))

    def peer_has_candidates(self) -> None:
        """RFC ICE may check at once (the peer answers checks it cannot place yet)."""

    @property
    def rtt_s(self) -> float | None:
        return self._rtt.value

    @property
    def path(self) -> PathInfo | None:
        pair = getattr(self._conn, "_nominated", {}).get(1)
        if pair is None:
            return None
        local, remote = pair.local_candidate, pair.remote_candidate
        return PathInfo((local.host, local.port), local.type, (remote.host, remote.port),
                        remote.type, IceFlavor.RFC)

    def _report(self, fut: asyncio.Future[None]) -> None:
        if fut.cancelled():
            return
        exc = fut.exception()
        if exc is not None:
            self._events.put(Failed(str(exc)))
            return
        path = self.path
        if path is not None:
            self._events.put(Connected(path))
            self._consent = asyncio.ensure_future(self._keep_consent())

    # -- gathering ----------------------------------------------------------------------
    def hosts(self) -> asyncio.Task[list[Candidate]]:
        """The host candidates (the task that binds them; started on first use). It
        also starts asking every STUN and TURN server."""
        if self._hosts_task is None:
            self._hosts_task = asyncio.ensure_future(self._gather_hosts())
        return self._hosts_task

    async def _gather_hosts(self) -> list[Candidate]:
        await self._conn.gather_candidates()
        hosts = [self._advertise(c) for c in self._conn.local_candidates]
        servers = self._conn.jcall_servers
        if not servers.relay_only:
            for protocol in list(self._conn._protocols):
                if ":" not in protocol.local_candidate.host:  # STUN here: IPv4 only
                    for stun in servers.stun:
                        self._ask(self._conn.jcall_reflexive(protocol, stun), str(stun))
        for turn in servers.turn:
            self._ask(self._conn.jcall_relay(turn), str(turn))
        if not self._gathering:
            self._gathering_ended()
        self._gathered = True
        self._maybe_connect()
        return hosts

    def _ask(self, coro: Coroutine[Any, Any, aioice.Candidate], server: str) -> None:
        task = asyncio.ensure_future(asyncio.wait_for(coro, self._server_timeout))
        self._gathering.add(task)
        task.add_done_callback(functools.partial(self._answered, server))

    def _answered(self, server: str, task: asyncio.Task[aioice.Candidate]) -> None:
        self._gathering.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            why = "no answer" if isinstance(exc, TimeoutError) else (str(exc) or type(exc).__name__)
            log.info("%s: %s", server, why)
            self._server_errors.append(f"{server}: {why}")
        else:
            candidate = task.result()
            if self._redundant(candidate):
                log.info("%s: %s:%d is already a candidate", server, candidate.host,
                         candidate.port)
            else:
                self._conn._local_candidates.append(candidate)
                self._batches.put_nowait([self._advertise(candidate)])
        if not self._gathering:
            self._gathering_ended()

    def _redundant(self, candidate: aioice.Candidate) -> bool:
        """RFC 8445 section 5.1.3: same address as one we have (a reflexive address
        equal to its base: no NAT in between)."""
        return any((c.host, c.port) == (candidate.host, candidate.port)
                   for c in self._conn._local_candidates)

    def _gathering_ended(self) -> None:
        self._gather_done.set()
        self._batches.put_nowait(None)
        if not self._advertised:
            if self._conn.jcall_servers.relay_only:
                why = "; ".join(self._server_errors) or "no TURN server"
                self._events.put(Failed(f"no relay candidate ('--relay-only'): {why}"))
            else:  # (a machine or namespace with only loopback)
                self._events.put(Failed(NO_ADDRESS))

    def _advertise(self, c: aioice.Candidate) -> Candidate:
        """A local candidate as the session sends it; candidates on one base share a
        network."""
        bases = list(dict.fromkeys((a.related_address or a.host) if a.type != "relay"
                                   else f"relay:{a.host}" for a, _ in self._advertised))
        base = (c.related_address or c.host) if c.type != "relay" else f"relay:{c.host}"
        network = bases.index(base) if base in bases else len(bases)
        related = (c.related_address, c.related_port) \
            if c.related_address is not None and c.related_port is not None else None
        ours = local_candidate(c.host, c.port, c.type, self.credentials, network,
                               c.priority, c.foundation, related)
        self._advertised.append((c, ours))
        return ours

    # -- the peer's candidates ------------------------------------------------------------
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
                foundation=cand.foundation or candidate_foundation(spec.type, "udp", spec.host),
                component=1, transport="udp", priority=spec.priority,
                host=spec.host, port=spec.port, type=spec.type))
        if self._end_of_candidates and not cands and self._remote is not None:
            await self._conn.add_remote_candidate(None)

    # -- connecting -----------------------------------------------------------------------
    def _maybe_connect(self) -> None:
        if self._connect is None and self._gathered and self._remote is not None:
            self._connect = asyncio.create_task(self._run_connect())

    @property
    def gathering(self) -> bool:
        """Whether a STUN or TURN server may still add a candidate."""
        return bool(self._gathering)

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
            return  # aioice's connect() finishes by itself
        if not self.connected.done():
            self.connected.set_exception(ConnectionError("every candidate pair failed"))

    # -- consent freshness (RFC 7675) -----------------------------------------------------
    def media_heard(self, arrival: float) -> None:
        """RTP arrived on the path at ``arrival`` (loop clock); any thread may call it."""
        self._conn.jcall_last_media = arrival

    async def _keep_consent(self) -> None:
        pair = self._conn._nominated.get(1)
        if pair is None or self._conn.remote_password is None:
            return
        key = self._conn.remote_password.encode("utf8")
        fresh = consent.Freshness.starting(self._loop.time())
        checks: set[asyncio.Task[None]] = set()

        async def check() -> None:
            request = self._conn.build_request(pair, nominate=False)
            sent = self._loop.time()
            try:
                await pair.protocol.request(request, pair.remote_addr, integrity_key=key,
                                            retransmissions=0)
            except Exception as exc:  # (a timeout, an error answer, a closed socket)
                log.debug("consent check on %s: %s", pair, exc)
                return
            trace.event("consent_answer")
            now = self._loop.time()
            # (no retransmission: the answer is to this very request)
            arrived = self._answer_arrivals.pop(request.transaction_id, now)
            self._rtt.sample(arrived - sent)
            self._verdict(fresh.answered(now))

        try:
            while not fresh.expired:
                now = self._loop.time()
                self._verdict(fresh.heard(self._conn.jcall_last_media))
                self._verdict(fresh.poll(now))
                if now >= fresh.next_check():
                    task = asyncio.ensure_future(check())
                    checks.add(task)
                    task.add_done_callback(checks.discard)
                    fresh.sent(now, random.random())
                wake = min(fresh.next_check(), fresh.wake_at())
                if fresh.lost:  # media coming back shows only when looked at
                    wake = min(wake, now + LIVENESS_POLL_S)
                await asyncio.sleep(max(0.0, wake - self._loop.time()))
        finally:
            for task in checks:
                task.cancel()

    def _verdict(self, verdict: consent.Verdict | None) -> None:
        match verdict:
            case consent.Verdict.LOST:
                log.info("no media and no consent answer for %g s", consent.LOST_AFTER_S)
                self._events.put(Lost())
            case consent.Verdict.RESTORED:
                if (path := self.path) is not None:
                    self._events.put(Restored(path))
            case consent.Verdict.EXPIRED:
                self._events.put(Failed(f"consent expired: no answer from the peer for "
                                        f"{consent.EXPIRY_S:g} s (RFC 7675)"))

    @property
    def selected(self) -> str:
        """The nominated pair as text (``path``), for logs; "none" before there is one."""
        path = self.path
        return "none" if path is None else str(path)

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
            self._reader = _NominatedReader(
                pair.protocol, self._conn.data_arrived,
                functools.partial(self._conn.jcall_gate.admits, pair.protocol))

    def direct(self) -> DirectPath | None:
        """The nominated pair's socket, unless it is a TURN relay (which needs aioice
        to wrap every datagram)."""
        pair = self._conn._nominated.get(1)
        reader = self._reader
        if pair is None or reader is None:
            return None
        sock = reader.sock.dup()
        sock.setblocking(False)
        remote = pair.remote_addr
        return DirectPath(sock=sock, remote=remote, admits=functools.partial(operator.eq, remote),
                          stun=functools.partial(self._from_thread, pair.protocol),
                          pause=reader.pause, resume=reader.resume, heard=self.media_heard)

    def _from_thread(self, protocol: Any, data: bytes, source: Address, arrival: float) -> None:
        """STUN the media thread read: an answer's kernel arrival is kept for the
        consent check that awaits it (its round trip), then aioice takes it."""
        if len(data) >= 20 and data[0] & 0x01:  # a response (RFC 8489 section 5: C1 set)
            self._answer_arrivals[data[8:20]] = arrival
            while len(self._answer_arrivals) > MAX_TIMED_ANSWERS:
                del self._answer_arrivals[next(iter(self._answer_arrivals))]
        protocol.datagram_received(data, source)

    @property
    def stray(self) -> int:
        return self._conn.jcall_gate.stray

    def set_receiver(self, callback: Callable[[bytes, float], None] | None) -> None:
        """Deliver datagrams to ``callback(data, arrival)`` as they arrive, ``arrival``
        on the event loop's clock (None: hold them again). Datagrams held before are
        delivered first, with their own arrival times."""
        self._conn.jcall_on_data = callback
        early = self._conn.jcall_early
        while callback is not None and early:
            callback(*early.popleft())

    def handover(self) -> list[Handover]:
        """Duplicates of the gathered host sockets, each with the candidates advertised
        on it (server-reflexive ones ride on their base socket; a TURN relay cannot be
        handed over and is left out). Call :meth:`close` next."""
        out = []
        for protocol in self._conn._protocols:
            local = protocol.local_candidate
            if local.type != "host":
                continue
            sock = protocol.transport.get_extra_info("socket").dup()
            sock.setblocking(False)
            base = (local.host, local.port)
            mine = tuple(g for c, g in self._advertised
                         if (c.host, c.port) == base or (c.type == "srflx" and
                                                         (c.related_address, c.related_port)
                                                         == base))
            out.append(Handover(sock, base, mine))
        return out

    async def close(self) -> None:
        self._events.close()
        self._conn.jcall_on_google_check = None
        self._conn.jcall_on_data = None
        if self._reader is not None:
            self._reader.close()
        for task in (self._hosts_task, self._consent, self._connect, self._feed,
                     self._connecting, *self._sending, *self._gathering):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if not self.connected.done():
            self.connected.cancel()
        self._batches.put_nowait(None)
        await self._conn.close()
