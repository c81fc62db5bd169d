"""Structure-aware fuzzing of what strangers can send jcall (issue 12, item 3).

Two targets, each fed by a seeded mutator so that any failure is reproduced by its
seed:

* **stanzas** -- Gingle ``<session>`` elements, mutated as trees (attributes dropped,
  replaced or added; children dropped, duplicated, moved, renamed or nested deep;
  texts in any XML character), go the way a stanza goes in ``xmpp/client.py``: the
  nesting bound, ``parse_session``, then a :class:`SessionManager` whose session has
  a live call in it, with local decisions, replies and time mixed in. Only the typed
  refusals may come out, each with its condition; whatever the machine sends must
  parse again; error replies stay small.
* **datagrams** -- STUN (Google ICE's and RFC 5389's) and RTP packets, mutated as
  bytes (bit flips, truncation, growth, length fields), go to a Google ICE agent with
  live connections, to aioice's STUN parser (jcall hands it every STUN datagram) and
  to the media's receive path (filter, decode, jitter buffer) and playout.

``scripts/fuzz`` runs the long campaign; ``tests/unit/test_fuzz.py`` a short one.
"""

from __future__ import annotations

import asyncio
import copy
import gc
import random
import resource
import tracemalloc
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import aioice.stun

from jcall.errors import LocalProtocolError, RemoteProtocolError
from jcall.media.playout import Playout
from jcall.media.receive import ReceivePath
from jcall.rtp.jitterbuffer import JitterBuffer
from jcall.rtp.packet import RtpPacket
from jcall.signaling import jingle
from jcall.signaling.codec import CODECS, Codec
from jcall.signaling.gingle import NS_P2P, NS_PHONE, NS_SESSION, MessageType
from jcall.signaling.model import (
    Action,
    Candidate,
    Credentials,
    Dialect,
    Fault,
    Info,
    Message,
    PayloadType,
    Reason,
)
from jcall.signaling.session import Session, SessionManager
from jcall.transport import google_ice as gi
from jcall.transport import stun_classic as sc
from jcall.transport.ice import IceTransport
from jcall.xmpp import limits

ME, PEER = "bob@example.com/jcall", "alice@example.com/phone"
SID = "4242"
CONDITIONS = {"bad-request", "not-allowed", "not-acceptable", "feature-not-implemented",
              "conflict", "policy-violation", "item-not-found", "unexpected-request"}
MAX_REPLY_BYTES = 2048
PAYLOADS = (PayloadType(0, "PCMU", 8000), PayloadType(8, "PCMA", 8000),
            PayloadType(10, "L16", 44100, 2), PayloadType(11, "L16", 44100, 1),
            PayloadType(96, "L16", 16000))
# XML 1.0 characters only: a server refuses anything else before it reaches jcall.
ODD_TEXTS = ["", " ", "-1", "0", "65536", "99999999999999999999", "1e9", "nan", "inf",
             "0x10", " 7 ", "1.5", "\U0001F4DE", "\u202Eevil", "a\u0301", "\uFFFD",
             "<&>\"'", "x" * 300, "9" * 5000, "::1", "256.1.1.1", "127.0.0.1", "0.0.0.0",
             "udp", "tcp", "rtp", "rtcp", "local", "stun", "relay", "prflx"]
TAGS = ["candidate", "transport", "description", "payload-type", "parameter",
        "session", "reason", "success", "decline", "text", "x", "content", "ringing", "mute"]
NAMESPACES = [NS_SESSION, NS_PHONE, NS_P2P, jingle.NS_JINGLE, jingle.NS_RTP, jingle.NS_ICE_UDP,
              jingle.NS_RTP_INFO, "jabber:client", ""]
ACTIONS = [str(t) for t in MessageType] + [str(a) for a in jingle.Action] + ["hello", ""]


@dataclass
class Report:
    cases: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)  # memory sampled as the run goes (rss_kb())

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def fail(self, seed: int, what: str) -> None:
        if len(self.failures) < 20:
            self.failures.append(f"seed {seed}: {what}")

    @property
    def rss_growth_kb(self) -> int:
        """Growth of the resident set from the end of the run's first tenth (caches
        and buffers warm) to its end."""
        if len(self.rss_kb) < 3:
            raise ValueError("too short a run to judge memory")
        return self.rss_kb[-1] - self.rss_kb[1]


def rss_kb() -> int:
    """The memory to watch: what Python has allocated (exact) while tracemalloc
    traces, else the resident set (which moves in allocator-sized steps). Cyclic
    garbage (refused stanzas' exceptions and their tracebacks) is collected first: what
    is retained is the question, not where the collector's cycle stands."""
    gc.collect()
    if tracemalloc.is_tracing():
        return tracemalloc.get_traced_memory()[0] // 1024
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize() // 1024


# -- stanzas ------------------------------------------------------------------------------
def _cand(port: int, ufrag: str = "ufragufragufrag1") -> Candidate:
    return Candidate(address="192.0.2.7", port=port, ufrag=ufrag, pwd="p" * 22,
                     priority=2130706431, foundation="1")


def stanza_seeds(codec: Codec) -> list[ET.Element]:
    """One message of each kind the session takes, as ``codec`` writes it."""
    def el(action: Action, **kw: object) -> ET.Element:
        return codec.write(Message(action=action, sid=SID, initiator=PEER, **kw), ME)  # type: ignore[arg-type]

    creds = Credentials("ufragufragufrag1", "p" * 22)
    seeds = [
        el(Action.INITIATE, payloads=PAYLOADS, has_transport=True, credentials=creds),
        el(Action.INITIATE, payloads=PAYLOADS[:1], has_transport=False,
           candidates=(_cand(4000),)),
        el(Action.ACCEPT, payloads=PAYLOADS[:2], has_transport=True, credentials=creds),
        el(Action.TRANSPORT_INFO, has_transport=True, candidates=(_cand(5000), _cand(5001))),
        el(Action.INFO, info=(Info.RINGING,)),
        el(Action.REJECT, reason=Reason.DECLINE),
        el(Action.TERMINATE, reason=Reason.SUCCESS),
    ]
    if codec.dialect is Dialect.GINGLE:
        seeds += [el(Action.TRANSPORT_INFO, candidates=(_cand(5002),), bare_candidates=True),
                  el(Action.TRANSPORT_ACCEPT, has_transport=True)]
    return seeds


class StanzaMutator:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def mutate(self, seed: ET.Element) -> ET.Element:
        root = copy.deepcopy(seed)
        for _ in range(self.rng.choice((1, 1, 1, 2, 3, 6))):
            self._one(root)
        return root

    def _nodes(self, root: ET.Element) -> list[ET.Element]:
        return list(root.iter())

    def _text(self) -> str:
        r = self.rng.random()
        if r < 0.6:
            return self.rng.choice(ODD_TEXTS)
        if r < 0.8:
            return str(self.rng.randint(-(2**40), 2**40))
        return "".join(chr(self.rng.choice((0x41, 0x7A, 0xE9, 0x3042, 0x1F600)) + i % 5)
                       for i in range(self.rng.randint(1, 40)))

    def _tag(self) -> str:
        ns = self.rng.choice(NAMESPACES)
        tag = self.rng.choice(TAGS)
        return f"{{{ns}}}{tag}" if ns else tag

    def _one(self, root: ET.Element) -> None:
        rng = self.rng
        nodes = self._nodes(root)
        node = rng.choice(nodes)
        op = rng.randrange(12)
        if op == 0 and node.attrib:
            del node.attrib[rng.choice(list(node.attrib))]
        elif op in (1, 2) and node.attrib:
            node.set(rng.choice(list(node.attrib)), self._text())
        elif op == 3:
            node.set(rng.choice(["id", "type", "initiator", "name", "port", "address",
                                 "preference", "generation", "clockrate", "channels",
                                 "username", "password", "protocol", "zz"]), self._text())
        elif op == 4 and len(node):
            node.remove(rng.choice(list(node)))
        elif op == 5 and len(node):
            child = rng.choice(list(node))
            for _ in range(rng.choice((1, 2, 30))):
                node.append(copy.deepcopy(child))
        elif op == 6:
            ET.SubElement(node, self._tag(), {"name": "rtp", "port": self._text()})
        elif op == 7 and node is not root:
            node.tag = self._tag()
        elif op == 8:
            node.text = self._text()
        elif op == 9:
            depth = rng.choice((3, 10, limits.MAX_DEPTH - 2, limits.MAX_DEPTH + 5, 200))
            inner = node
            for _ in range(depth):
                inner = ET.SubElement(inner, self._tag())
        elif op == 10:
            root.set(rng.choice(("type", "action")), rng.choice(ACTIONS))
        elif op == 11:
            root.set(rng.choice(("id", "sid")), rng.choice([SID, SID, "1", "", "9" * 300]))


class StanzaTarget:
    """One call's worth of signalling in a fresh manager: the peer's initiate (or
    ours), then mutated messages of the same session among local decisions,
    replies and the passing of time."""

    def __init__(self, rng: random.Random, codec: Codec) -> None:
        self.rng = rng
        self.codec = codec
        self.manager = SessionManager(ME)
        self.now = 0.0
        self.session: Session | None = None
        if rng.random() < 0.5:
            self.session = self.manager.create_outgoing(PEER, SID, codec.dialect)
            self.session.initiate(PAYLOADS, self.now)

    def feed(self, elem: ET.Element, report: Report, seed: int) -> None:
        self.now += self.rng.choice((0.001, 0.1, 2.0, 20.0))
        iq = ET.Element("{jabber:client}iq", {"type": "set", "id": "f1", "from": PEER})
        iq.append(elem)
        outcome = self._answer(iq, seed, report)
        report.count(outcome)
        if outcome not in ("result", "policy-violation", "bad-request-parse"):
            self._reply_size(elem, report, seed)
        self._local_step()
        self._drain(report, seed)

    def _answer(self, iq: ET.Element, seed: int, report: Report) -> str:
        """What the client would answer, checked against what it must answer."""
        if limits.too_deep(iq):
            return "policy-violation"
        elem = iq.find(self.codec.tag)
        if elem is None:
            return "not-a-session"  # (slixmpp routes it elsewhere: service-unavailable)
        try:  # (as the client does: xmpp/client.py _on_session_iq)
            msg = self.codec.parse(elem)
        except RemoteProtocolError:
            return "bad-request-parse"  # (the client answers bad-request)
        try:
            session = self.manager.receive(msg, PEER, self.now, self.codec.dialect)
        except RemoteProtocolError as exc:
            condition = self.codec.error(exc.fault).condition
            if condition not in CONDITIONS:
                report.fail(seed, f"condition {condition!r}: {exc}")
            known = any(sid == msg.sid for sid, _ in self.manager.sessions)
            unknown = self.codec.error(Fault.UNKNOWN_SESSION).condition
            if not known and msg.action is not Action.INITIATE and condition != unknown:
                report.fail(seed, f"unknown session answered {condition!r}")
            return condition
        if self.session is None:
            self.session = session
        return "result"

    def _reply_size(self, elem: ET.Element, report: Report, seed: int) -> None:
        reply = ET.Element("iq", {"type": "error", "id": "f1", "to": PEER})
        echoed = limits.echo(elem)
        if echoed is not None:
            reply.append(echoed)
        error = ET.SubElement(reply, "error", {"type": "modify"})
        ET.SubElement(error, "text").text = limits.clip("x" * 10_000)
        size = len(ET.tostring(reply))
        if size > MAX_REPLY_BYTES:
            report.fail(seed, f"an error reply of {size} bytes")

    def _local_step(self) -> None:
        s, rng = self.session, self.rng
        if s is None or s.ended:
            return
        action = rng.randrange(8)
        try:
            if action == 0:
                s.accept(PAYLOADS[:1], self.now)
            elif action == 1:
                s.add_local_candidates([_cand(rng.randrange(1, 65536))], self.now)
            elif action == 2:
                s.terminate(self.now)
            elif action == 3:
                s.handle_timer(self.now)
        except LocalProtocolError:
            pass  # a decision not valid in this state: the orchestrator never makes it

    def _drain(self, report: Report, seed: int) -> None:
        for session in list(self.manager.sessions.values()):
            session.events()
            for out in session.outgoing():
                try:
                    again = self.codec.parse(self.codec.write(out.message, ME))
                except RemoteProtocolError as exc:
                    report.fail(seed, f"jcall sent what it cannot parse: {exc}")
                    continue
                # (Jingle writes a reject as session-terminate: it reads back as that)
                sent = Action.TERMINATE if out.message.action is Action.REJECT and \
                    self.codec.dialect is Dialect.JINGLE else out.message.action
                if again.action is not sent or again.sid != out.message.sid:
                    report.fail(seed, "a sent message does not round-trip")
                if self.rng.random() < 0.7:
                    session.handle_reply(out.tag, self.rng.choice(
                        (None, None, "bad-request", "timeout", "conflict")), self.now)
        self.manager.prune()


def run_stanzas(n: int, seed: int = 0, per_call: int = 20) -> Report:
    report = Report()
    seeds = {d: stanza_seeds(c) for d, c in CODECS.items()}
    case = 0
    while case < n:
        rng = random.Random(seed * 1_000_003 + case)
        mutator = StanzaMutator(rng)
        codec = CODECS[rng.choice(list(Dialect))]
        target = StanzaTarget(rng, codec)
        first = case
        for _ in range(min(per_call, n - case)):
            base = seeds[codec.dialect][0] if case == first and target.session is None \
                else rng.choice(seeds[codec.dialect])
            elem = mutator.mutate(base) if case != first else copy.deepcopy(base)
            try:
                target.feed(elem, report, first)
            except Exception as exc:  # (what must never happen)
                report.fail(first, f"{type(exc).__name__}: {exc}")
                report.count("escaped")
            case += 1
            report.cases += 1
        if case % max(1, n // 10) < per_call:
            report.rss_kb.append(rss_kb())
    return report


# -- datagrams ----------------------------------------------------------------------------
def _agent_pair() -> tuple[gi.GoogleIceAgent, gi.GoogleIceAgent, list[bytes]]:
    """Two Google ICE agents that have exchanged candidates and pinged each other,
    and the datagrams they sent (seeds: real pings and answers)."""
    rng = random.Random(7)

    def token(k: int) -> bytes:
        return bytes(rng.randrange(256) for _ in range(k))

    a_port = gi.local_port(0, ("192.0.2.1", 5000), gi.new_username(token), "")
    b_port = gi.local_port(0, ("192.0.2.2", 6000), gi.new_username(token), "")
    a, b = gi.GoogleIceAgent([a_port], token), gi.GoogleIceAgent([b_port], token)
    a.add_remote(b_port.candidates, 0.0)
    b.add_remote(a_port.candidates, 0.0)
    a.peer_has_candidates(0.0)
    b.peer_has_candidates(0.0)
    seeds: list[bytes] = []
    now = 0.0
    for _ in range(30):
        now += 0.05
        for agent, other, source in ((a, b, ("192.0.2.1", 5000)), (b, a, ("192.0.2.2", 6000))):
            agent.handle_timer(now)
            for d in agent.datagrams():
                seeds.append(d.data)
                other.receive(0, d.data, source, now)
    return a, b, seeds


def datagram_seeds(stun: list[bytes]) -> list[bytes]:
    rfc = aioice.stun.Message(aioice.stun.Method.BINDING, aioice.stun.Class.REQUEST)
    rfc.attributes["USERNAME"] = "abcd:efgh"
    rfc.attributes["PRIORITY"] = 1853817087
    rfc.attributes["ICE-CONTROLLED"] = 2**63
    rfc.add_message_integrity(b"0123456789abcdef0123")
    rfc.add_fingerprint()
    rtp = [bytes(RtpPacket(0, 1, 160, 0x1234, bytes(160))),
           bytes(RtpPacket(11, 2, 441, 0x1234, bytes(882), csrcs=(1, 2))),
           bytes(RtpPacket(8, 3, 160, 0x99, bytes(80), marker=True))]
    padded = bytearray(rtp[0] + b"\x00\x00\x03")
    padded[0] |= 0x20  # padding flag
    extended = bytearray(rtp[0][:12] + b"\xbe\xde\x00\x01abcd" + rtp[0][12:])
    extended[0] |= 0x10  # header extension
    return [*stun[:20], bytes(rfc), *rtp, bytes(padded), bytes(extended)]


class DatagramMutator:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def mutate(self, data: bytes) -> bytes:
        """``data`` changed, or one time in ten as it is (to reach the deep paths)."""
        buf = bytearray(data)
        rng = self.rng
        if rng.random() < 0.1:
            return data
        for _ in range(rng.choice((1, 1, 2, 4, 16))):
            op = rng.randrange(7)
            if op == 0 and buf:
                i = rng.randrange(len(buf))
                buf[i] ^= 1 << rng.randrange(8)
            elif op == 1 and buf:
                buf[rng.randrange(len(buf))] = rng.randrange(256)
            elif op == 2:
                del buf[rng.randrange(len(buf) + 1):]
            elif op == 3:
                buf += bytes(rng.randrange(256) for _ in range(rng.choice((1, 4, 100))))
            elif op == 4 and len(buf) >= 4:  # STUN length or an attribute length
                at = rng.choice((2, 22, 26, 30)) if len(buf) > 31 else 2
                buf[at:at + 2] = rng.randrange(65536).to_bytes(2, "big")
            elif op == 5 and buf:
                buf[0] = rng.choice((0x00, 0x01, 0x80, 0x90, 0xA0, 0xBF, 0x8F, 0xFF))
            elif op == 6:
                i = rng.randrange(len(buf) + 1)
                buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))
        return bytes(buf)


@dataclass
class Media:
    """A call's receive side without its drivers: the receive path (filter, decode,
    jitter buffer) and playout, fed by hand (jcall/media/)."""

    receive: ReceivePath
    playout: Playout

    @classmethod
    def new(cls) -> Media:
        jitter = JitterBuffer(8000, 1, 80)
        return cls(ReceivePath(PAYLOADS, 8000, 1, jitter), Playout(jitter, 80))


def run_datagrams(n: int, seed: int = 0) -> Report:
    return asyncio.run(_run_datagrams(n, seed))


async def _run_datagrams(n: int, seed: int) -> Report:
    report = Report()
    _, agent, stun = _agent_pair()
    media = Media.new()
    # jcall's RFC ICE on a loopback socket: the datagrams go through its screen (the
    # media gate, the Google ICE check handler, aioice's STUN handling) as if read
    # from the socket; answers go to loopback's discard port, nowhere else.
    ice = IceTransport(controlling=False, host_addresses=["127.0.0.1"],
                       include_loopback=True)
    await ice.hosts()
    conn = ice._conn
    conn.remote_username, conn.remote_password = "peerufrag", "peerpasswordpeerpassword"
    [protocol] = conn._protocols
    seeds = datagram_seeds(stun) + _rfc_checks(ice.credentials.ufrag, ice.credentials.pwd)
    peer = ("192.0.2.1", 5000)
    now = 100.0
    try:
        for case in range(n):
            rng = random.Random(seed * 1_000_003 + case)
            data = DatagramMutator(rng).mutate(rng.choice(seeds))
            now += 0.0005
            source = peer if rng.random() < 0.8 else ("198.51.100.9", rng.randrange(1, 65536))
            try:
                _feed_datagram(agent, media, data, source, now, report)
                protocol.datagram_received(data, ("127.0.0.1", 9))
                if case % 20 == 0:
                    media.playout.pull(80, now)  # playout drains the buffer
                    agent.handle_timer(now)
                    agent.datagrams()
                    agent.events()
                if case % 500 == 0:
                    await asyncio.sleep(0)  # let aioice's answers and checks run
            except Exception as exc:  # (what must never happen)
                report.fail(case, f"{type(exc).__name__}: {exc}")
                report.count("escaped")
            report.cases += 1
            if case % max(1, n // 10) == 0:
                report.rss_kb.append(rss_kb())
    finally:
        report.outcomes["rfc-malformed-stun"] = conn.jcall_malformed
        report.outcomes["rfc-stray"] = conn.jcall_gate.stray
        await ice.close()
    return report


def _rfc_checks(ufrag: str, pwd: str) -> list[bytes]:
    """Authenticated RFC 8445 checks to jcall's RFC agent, which reach its check
    handling (and the peer-reflexive candidates they create)."""
    out = []
    for role in ("ICE-CONTROLLING", "ICE-CONTROLLED"):
        msg = aioice.stun.Message(aioice.stun.Method.BINDING, aioice.stun.Class.REQUEST)
        msg.attributes["USERNAME"] = f"{ufrag}:peerufrag"
        msg.attributes["PRIORITY"] = 1853817087
        msg.attributes[role] = 12345
        msg.attributes["USE-CANDIDATE"] = None
        msg.add_message_integrity(pwd.encode())
        msg.add_fingerprint()
        out.append(bytes(msg))
    return out


def _feed_datagram(agent: gi.GoogleIceAgent, media: Media, data: bytes,
                   source: tuple[str, int], now: float, report: Report) -> None:
    if sc.is_stun(data):
        try:
            sc.parse(data)
            report.count("stun-classic-parsed")
        except sc.StunFormatError:
            report.count("stun-classic-refused")
    media_ok = agent.receive(0, data, source, now)
    report.count("agent-media" if media_ok else "agent-other")
    if media_ok:
        before = media.receive.filter.counters.accepted
        media.receive.take(data, now)
        report.count("played" if media.receive.filter.counters.accepted > before else "filtered")
