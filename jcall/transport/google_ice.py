"""Google ICE, the connectivity protocol of libjingle's p2p transport: a sans-I/O agent.

Theory of operation (gingle.md part F; libjingle 0.4 ``p2p/base/port.cc`` and
``p2ptransportchannel.cc`` as restated there)
-------------------------------------------------------------------------------
There is no nomination and there are no roles. Every local *port* (a UDP socket, with
the candidates it advertises: host, and server-reflexive on the same socket) is paired
with every remote candidate into a :class:`Connection`, and both sides ping their
connections with RFC 3489 Binding requests whose USERNAME is the remote candidate's
username followed by the port's own. Each side then sends media on its best *writable*
connection:

* a connection is **writable** once one of its pings was answered, and stops being so
  after ``WRITE_CONNECT_FAILURES`` unanswered pings spread over more than
  ``WRITE_CONNECT_TIMEOUT_S`` (state CONNECTING), then times out for good after
  ``WRITE_TIMEOUT_S`` without an answer (state TIMEOUT);
* it is **readable** while the peer pings it (a valid ping from its address), until
  ``READ_TIMEOUT_S`` pass without one; only a readable connection's data is media;
* the best connection is the first by (write state, -local x remote preference,
  round-trip time);
* one connection is pinged per tick: every ``PING_UNWRITABLE_S`` while nothing is
  writable, every ``PING_WRITABLE_S`` once the best connection is, and the best one at
  least every ``MAX_CURRENT_WRITABLE_S``.

Two departures from libjingle, both for the peers jcall meets:

* **No pings before the peer has our candidates.** A libnice GOOGLE-mode controlling
  agent that is pinged from an address it does not yet know as our candidate learns it
  as peer-reflexive and later aborts on the same address as a host candidate (gingle.md
  part G). So pinging starts only once the peer is known to have our candidates: it
  pinged us, or signalling says our candidates were delivered
  (:meth:`GoogleIceAgent.peer_has_candidates`), or ``START_GRACE_S`` passed since its own
  candidates arrived (a peer that neither acknowledges nor pings still connects).
* **A triggered ping** answers a ping on a connection that is not yet writable, so the
  first round trip does not wait for the next tick (libjingle waits).

Events (the transport seam's own, ``events.py``): :class:`Connected` once (the first
writable best connection), :class:`Lost` and :class:`Restored` as writability of the
best connection goes and comes back, :class:`Failed` when every connection has timed
out (before media: each pinged unanswered for ``WRITE_TIMEOUT_S``; after: unanswered
and unpinged for ``READ_TIMEOUT_S`` too). A different connection becoming the best
writable one is logged.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import IntEnum

from ..signaling.model import Candidate, CandidateType, priority
from . import stun_classic as sc
from .events import (
    Connected,
    Failed,
    IceFlavor,
    Lost,
    PathInfo,
    Restored,
    TransportEvent,
)
from .p2p import preference, usable
from .rtt import smoothed

__all__ = ["Connected", "Event", "Failed", "GoogleIceAgent", "LocalPort", "Lost",
           "Restored", "WriteState", "local_port", "new_username"]

log = logging.getLogger(__name__)

PING_UNWRITABLE_S = 0.050  # 60-byte pings at 10 kbit/s
PING_WRITABLE_S = 0.480  # ... and at 1 kbit/s
MAX_CURRENT_WRITABLE_S = 0.900  # the best connection is pinged at least this often
PING_TIMEOUT_S = 5.0  # an answer later than this is ignored
WRITE_CONNECT_FAILURES = 5
WRITE_CONNECT_TIMEOUT_S = 5.0
WRITE_TIMEOUT_S = 15.0
READ_TIMEOUT_S = 30.0
MIN_RTT_S, MAX_RTT_S = 0.100, 3.0  # bounds of the conservative RTT estimate
START_GRACE_S = 1.0
MAX_PENDING_PINGS = 32  # pings from peers whose candidates have not arrived yet
# Peer-reflexive connections learned from pings: each is pinged in turn, and Google ICE
# has no message integrity, so pings with a known username from spoofed sources
# could otherwise make jcall ping any number of addresses (found by scripts/fuzz).
MAX_LEARNED = 20
USERNAME_CHARS = 16  # libjingle's username length

Address = tuple[str, int]


class WriteState(IntEnum):
    """Ordered: a lower value is the better connection."""

    WRITABLE = 0
    CONNECTING = 1  # not (or no longer) answered
    TIMEOUT = 2


@dataclass(frozen=True)
class LocalPort:
    """One local socket and what it advertises: ``candidates`` share its username."""

    index: int
    address: Address  # where the socket is bound (the base)
    username: str
    candidates: tuple[Candidate, ...]

    @property
    def preference(self) -> float:
        return max((preference(c) for c in self.candidates), default=1.0)


@dataclass(frozen=True)
class Remote:
    """A remote candidate as Google ICE needs it (prflx: learned from a ping)."""

    address: Address
    username: str
    preference: float
    type: str  # RFC 8445 names; "prflx" for one learned from a ping


Event = TransportEvent  # (the seam's events: the adapter passes them on as they are)


@dataclass(frozen=True)
class Datagram:
    """A datagram to send from one of our ports."""

    port: int
    data: bytes
    to: Address


@dataclass
class Connection:
    """A Google ICE connection: one of our ports to one remote candidate, and its state."""

    port: LocalPort
    remote: Remote
    created: float
    write: WriteState = WriteState.CONNECTING
    readable: bool = False
    rtt_s: float | None = None
    unanswered: list[float] = field(default_factory=list)  # send times since last answer
    last_ping_sent: float = -math.inf
    last_ping_received: float = -math.inf
    last_data_received: float = -math.inf

    @property
    def preference(self) -> float:
        return self.port.preference * self.remote.preference

    def sort_key(self) -> tuple[int, float, float]:
        rtt = self.rtt_s if self.rtt_s is not None else MAX_RTT_S
        return (self.write, -self.preference, rtt)

    def path(self) -> PathInfo:
        return PathInfo(self.port.address, str(self.port.candidates[0].type),
                        self.remote.address, self.remote.type, IceFlavor.GOOGLE)

    def __str__(self) -> str:
        rtt = f"{1000 * self.rtt_s:.0f} ms" if self.rtt_s is not None else "unknown"
        return f"{self.path()}, rtt {rtt}"

    def conservative_rtt(self) -> float:
        rtt = self.rtt_s if self.rtt_s is not None else MAX_RTT_S
        return max(MIN_RTT_S, min(MAX_RTT_S, 2 * rtt))

    def pingable(self) -> bool:
        return self.write is not WriteState.TIMEOUT or self.readable

    def update(self, now: float) -> None:
        """libjingle's Connection::UpdateState: readability, then writability."""
        if self.readable and max(self.last_ping_received, self.last_data_received) \
                + READ_TIMEOUT_S <= now:
            self.readable = False
        pings = self.unanswered
        if self.write is WriteState.WRITABLE and len(pings) >= WRITE_CONNECT_FAILURES \
                and pings[WRITE_CONNECT_FAILURES - 1] + self.conservative_rtt() < now \
                and pings[0] + WRITE_CONNECT_TIMEOUT_S < now:
            self.write = WriteState.CONNECTING
        if self.write is WriteState.CONNECTING and pings and pings[0] + WRITE_TIMEOUT_S < now:
            self.write = WriteState.TIMEOUT

    def answered(self, sent: float, now: float) -> None:
        self.rtt_s = smoothed(self.rtt_s, now - sent)
        self.unanswered.clear()
        self.write = WriteState.WRITABLE


def new_username(token: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """16 characters of the base64 alphabet, as libjingle's (gingle.md part E)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    return "".join(alphabet[b % 64] for b in token(USERNAME_CHARS))


class GoogleIceAgent:
    """One Google ICE channel (the RTP component). Time is passed in, in seconds."""

    def __init__(self, ports: Iterable[LocalPort],
                 token: Callable[[int], bytes] = secrets.token_bytes) -> None:
        self.ports = {p.index: p for p in ports}
        self._token = token
        self._remotes: list[Remote] = []
        self._conns: dict[tuple[int, Address], Connection] = {}
        self.stray = 0  # datagrams not from a readable connection (filters.py)
        self._transactions: dict[bytes, tuple[Connection, float]] = {}
        self._pending: list[tuple[int, Address, str, float]] = []  # pings ahead of candidates
        self._out: list[Datagram] = []
        self._events: list[Event] = []
        self._peer_ready = False  # the peer has our candidates
        self._remote_since: float | None = None  # when its first candidate arrived
        self._next_tick = -math.inf
        self._best: Connection | None = None  # the best writable connection
        self._ever_connected = False
        self._lost = False
        self._failed = False
        self._clock = -math.inf  # the latest time passed in

    # -- outputs -----------------------------------------------------------------------
    def datagrams(self) -> list[Datagram]:
        out, self._out = self._out, []
        return out

    def events(self) -> list[Event]:
        out, self._events = self._events, []
        return out

    @property
    def best(self) -> Connection | None:
        """Where media goes: the best writable connection, if any."""
        return self._best

    @property
    def connections(self) -> list[Connection]:
        return sorted(self._conns.values(), key=Connection.sort_key)

    def get_timer(self) -> float | None:
        start = self._may_ping_at()
        if self._failed or start is None:
            return None
        return max(self._next_tick, start, self._clock)  # (the clock: due now)

    # -- inputs --------------------------------------------------------------------------
    def add_remote(self, candidates: Iterable[Candidate], now: float) -> None:
        """The peer's candidates (only UDP ``rtp`` ones matter; duplicates are ignored)."""
        for cand in candidates:
            if not usable(cand):
                continue
            remote = Remote((cand.address, cand.port), cand.ufrag, preference(cand),
                            str(cand.type))
            if any(r.address == remote.address for r in self._remotes):
                continue
            self._remotes.append(remote)
            if self._remote_since is None:
                self._remote_since = now
            for port in self.ports.values():
                self._connect(port, remote, now)
        self._adopt_pending(now)
        self._refresh(now)

    def peer_has_candidates(self, now: float) -> None:
        """Signalling delivered our candidates: pinging the peer is safe from now on."""
        self._peer_ready = True
        self._refresh(now)

    def admits(self, port: int, source: Address) -> bool:
        """Whether media from ``source`` on local ``port`` is the peer's: a readable
        connection, one the peer pinged with our username (filters.py). Google ICE
        has no nomination and each side sends on its own best connection, so every
        readable one stays admissible."""
        conn = self._conns.get((port, source))
        return conn is not None and conn.readable

    def receive(self, port: int, data: bytes, source: Address, now: float) -> bool:
        """A datagram on local ``port``; True when it is media from a readable connection
        (the caller delivers it), False when it was STUN or is not to be trusted."""
        if not sc.is_stun(data):
            if not self.admits(port, source):
                self.stray += 1
                return False
            self._conns[(port, source)].last_data_received = now
            return True
        try:
            msg = sc.parse(data)
        except sc.StunFormatError as exc:
            log.debug("Google ICE: dropping STUN from %s: %s", source, exc)
            return False
        if msg.kind is sc.Kind.REQUEST:
            self._on_ping(self.ports[port], msg, source, now)
        else:
            self._on_answer(msg, source, now)
        self._refresh(now)
        return False

    def handle_timer(self, now: float) -> None:
        if self._failed:
            return
        self._refresh(now)
        start = self._may_ping_at()
        if start is None or now < start or now < self._next_tick:
            return
        conn = self._next_to_ping(now)
        if conn is not None:
            self._ping(conn, now)
        writable = self._best is not None
        self._next_tick = now + (PING_WRITABLE_S if writable else PING_UNWRITABLE_S)

    # -- pings in ------------------------------------------------------------------------
    def _on_ping(self, port: LocalPort, msg: sc.Binding, source: Address, now: float) -> None:
        if msg.username is None:
            self._answer_error(port, msg, source, 400, "Bad Request")
            return
        try:
            username = msg.username.decode("ascii")
        except UnicodeDecodeError:
            self._answer_error(port, msg, source, 400, "Bad Request")
            return
        if not username.startswith(port.username):
            self._answer_error(port, msg, source, 401, "Unauthorized")
            return
        self._out.append(Datagram(port.index, sc.success(msg, source), source))
        self._peer_ready = True  # it pings us, so it has our candidates
        remote_username = username[len(port.username):]
        conn = self._conns.get((port.index, source)) or \
            self._learned(port, source, remote_username, now)
        if conn is None:  # its candidates are still on the way through the server
            if len(self._pending) < MAX_PENDING_PINGS:
                self._pending.append((port.index, source, remote_username, now))
            return
        conn.readable = True
        conn.last_ping_received = now
        if conn.write is not WriteState.WRITABLE and now - conn.last_ping_sent >= \
                PING_UNWRITABLE_S:
            self._ping(conn, now)  # triggered: the first round trip need not wait a tick

    def _answer_error(self, port: LocalPort, msg: sc.Binding, source: Address, code: int,
                      reason: str) -> None:
        log.debug("Google ICE: %d %s to %s (username %r)", code, reason, source, msg.username)
        self._out.append(Datagram(port.index, sc.error(msg, code, reason), source))

    def _adopt_pending(self, now: float) -> None:
        waiting, self._pending = self._pending, []
        for index, source, remote_username, when in waiting:
            conn = self._learned(self.ports[index], source, remote_username, now)
            if conn is None:
                if now - when < READ_TIMEOUT_S:
                    self._pending.append((index, source, remote_username, when))
                continue
            conn.readable = True
            conn.last_ping_received = max(conn.last_ping_received, when)

    def _learned(self, port: LocalPort, source: Address, remote_username: str,
                 now: float) -> Connection | None:
        """The connection for a ping from ``source``: a peer-reflexive candidate of the
        remote candidate whose username it carries (None while none does)."""
        remote = next((r for r in self._remotes if r.username == remote_username), None)
        if remote is None:
            return None
        if sum(c.remote.type == "prflx" for c in self._conns.values()) >= MAX_LEARNED:
            log.debug("Google ICE: not learning %s: %d peer-reflexive already", source,
                      MAX_LEARNED)
            return None
        return self._connect(port, Remote(source, remote_username, remote.preference, "prflx"),
                             now)

    # -- answers in --------------------------------------------------------------------
    def _on_answer(self, msg: sc.Binding, source: Address, now: float) -> None:
        entry = self._transactions.pop(msg.transaction_id, None)
        if entry is None:
            return  # late (forgotten after PING_TIMEOUT_S), or not ours
        conn, sent = entry
        if source != conn.remote.address:
            log.debug("Google ICE: answer from %s for a ping to %s", source, conn.remote.address)
            return
        if msg.kind is sc.Kind.ERROR:
            log.debug("Google ICE: %s answered %s", source, msg.error)
            return  # counts as unanswered
        conn.answered(sent, now)

    # -- pings out -----------------------------------------------------------------------
    def _may_ping_at(self) -> float | None:
        """When pinging may start: None while there is nobody to ping."""
        if not self._conns or self._remote_since is None:
            return None
        if self._peer_ready:
            return -math.inf
        return self._remote_since + START_GRACE_S

    def _next_to_ping(self, now: float) -> Connection | None:
        best = self._best
        if best is not None and now - best.last_ping_sent >= MAX_CURRENT_WRITABLE_S:
            return best
        pingable = [c for c in self._conns.values() if c.pingable()]
        if not pingable:
            return None
        return min(pingable, key=lambda c: (c.last_ping_sent, c.sort_key()))

    def _ping(self, conn: Connection, now: float) -> None:
        tid = self._token(sc.TRANSACTION_ID_BYTES)
        username = (conn.remote.username + conn.port.username).encode()
        self._transactions[tid] = (conn, now)
        conn.unanswered.append(now)
        conn.last_ping_sent = now
        self._out.append(Datagram(conn.port.index, sc.request(tid, username),
                                  conn.remote.address))

    # -- bookkeeping ---------------------------------------------------------------------
    def _connect(self, port: LocalPort, remote: Remote, now: float) -> Connection:
        key = (port.index, remote.address)
        conn = self._conns.get(key)
        if conn is None:
            conn = self._conns[key] = Connection(port, remote, now)
        return conn

    def _refresh(self, now: float) -> None:
        """Expire pings, update every connection, pick the best, report what changed."""
        self._clock = max(self._clock, now)
        stale = [t for t, (_, sent) in self._transactions.items()
                 if sent + PING_TIMEOUT_S <= now]
        for tid in stale:
            del self._transactions[tid]
        for key, conn in list(self._conns.items()):
            conn.update(now)
            if conn.write is WriteState.TIMEOUT and not conn.readable and \
                    self._ever_connected and conn is not self._best:
                del self._conns[key]  # dead both ways: libjingle destroys it
        ranked = self.connections
        first = ranked[0] if ranked else None
        best = first if first is not None and first.write is WriteState.WRITABLE else None
        self._report(best, ranked, now)
        self._best = best

    def _report(self, best: Connection | None, ranked: list[Connection], now: float) -> None:
        if best is not None:
            if not self._ever_connected:
                self._ever_connected = True
                self._events.append(Connected(best.path()))
            elif self._lost:
                self._lost = False
                self._events.append(Restored(best.path()))
            elif best is not self._best:
                log.info("Google ICE: best connection now %s", best)
            return
        if self._ever_connected and not self._lost:
            self._lost = True
            self._events.append(Lost())
        if ranked and all(c.write is WriteState.TIMEOUT for c in ranked) and \
                not any(c.readable for c in ranked) and not self._failed:
            self._failed = True
            tried = len(ranked)
            self._events.append(Failed(
                f"no answer to Google ICE checks on {tried} candidate pair"
                f"{'s' if tried != 1 else ''} for {WRITE_TIMEOUT_S:g} s"))
        elif self._ever_connected and not ranked and not self._failed:
            self._failed = True
            self._events.append(Failed("every Google ICE connection timed out"))


def local_port(index: int, address: Address, username: str, password: str,
               extra: Iterable[Candidate] = (), network: int = 0) -> LocalPort:
    """A port that advertises its host candidate (and ``extra`` ones on the same socket,
    e.g. server-reflexive), all with its username."""
    host = Candidate(address=address[0], port=address[1], ufrag=username, pwd=password,
                     type=CandidateType.HOST, priority=priority(CandidateType.HOST),
                     network=network)
    return LocalPort(index, address, username, (host, *extra))
