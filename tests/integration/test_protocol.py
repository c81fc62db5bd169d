"""jcall against a hand-driven peer through the real Prosody: error replies, the
compatibility dialect, Google ICE peers, silent peers and ICE failure (gingle.md A, E)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import secrets
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from jcall.errors import ExitCode
from jcall.signaling import model
from jcall.signaling.gingle import (
    Candidate,
    MessageType,
    PayloadType,
    SessionMessage,
    candidate_from_model,
    candidate_to_model,
    session_element,
)
from jcall.transport import stun_classic as sc
from jcall.transport.ice import IceTransport

from .jcallproc import Account, JcallProcess, start
from .rawpeer import RawPeer, Received

PCMU = (PayloadType(0, "PCMU", 8000),)


def modelled(candidates: list[Candidate] | tuple[Candidate, ...]) -> list[model.Candidate]:
    """Candidates off the wire as jcall's session hands them to its transport."""
    return [m for c in candidates if (m := candidate_to_model(c)) is not None]


def wire(candidates: list[model.Candidate]) -> tuple[Candidate, ...]:
    return tuple(candidate_from_model(c) for c in candidates)


def xml(msg: SessionMessage) -> str:
    return ET.tostring(session_element(msg), encoding="unicode")


def session(peer: RawPeer, mtype: MessageType, sid: str = "4242", **kw: object) -> str:
    return xml(SessionMessage(type=mtype, sid=sid, initiator=peer.jid, **kw))  # type: ignore[arg-type]


@pytest.fixture
async def peer(accounts: dict[str, Account], server: str, ca_file: Path,
               request: pytest.FixtureRequest) -> AsyncIterator[RawPeer]:
    ignore: frozenset[str] = getattr(request, "param", frozenset())
    raw = RawPeer(accounts["erin"].jid + "/raw", accounts["erin"].password, server, ca_file,
                  ignore=ignore)
    await raw.login()
    yield raw
    await raw.close()


async def listening(accounts: dict[str, Account], server: str, ca_file: Path, resource: str,
                    *args: str, loopback: bool = False) -> tuple[JcallProcess, str]:
    bob = Account(f"{accounts['bob'].jid}/{resource}", accounts["bob"].password)
    options = ("--ice-loopback",) if loopback else ()
    proc = start("bob", bob, server, ca_file, *options, "listen", *args)
    await asyncio.to_thread(proc.wait_for, "logged in...")
    return proc, bob.jid


@pytest.mark.parametrize("peer", [frozenset({"transport-info", "transport-accept"})],
                         indirect=True)
async def test_error_replies_and_a_peer_that_ignores_transport_info(
        peer: RawPeer, accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    callee, jid = await listening(accounts, server, ca_file, "proto", "-a", "--once")
    try:
        bad_pt = session(peer, MessageType.INITIATE, description=(PayloadType(300),),
                         has_transport=True)
        assert await peer.send(jid, bad_pt) == "bad-request"
        unknown = session(peer, MessageType.TERMINATE, sid="999")
        assert await peer.send(jid, unknown) == "bad-request"
        hello = session(peer, MessageType.INFO).replace('type="info"', 'type="hello"')
        assert await peer.send(jid, hello) == "bad-request"

        initiate = session(peer, MessageType.INITIATE, description=PCMU, has_transport=True)
        assert await peer.send(jid, initiate) is None
        first = await peer.next()
        assert first.message.type is MessageType.TRANSPORT_ACCEPT and first.sender == jid
        accept = await peer.next(skip=("transport-info",))
        assert accept.message.type is MessageType.ACCEPT
        assert accept.message.description == PCMU

        # Only the responder accepts; an initiator's accept is not allowed now.
        assert await peer.send(jid, session(peer, MessageType.ACCEPT, description=PCMU)) \
            == "not-allowed"
        assert await peer.send(jid, initiate) == "not-allowed"

        # The session belongs to the peer's full JID, not to another resource.
        other = RawPeer(accounts["erin"].jid + "/other", accounts["erin"].password, server,
                        ca_file)
        await other.login()
        try:
            forged = xml(SessionMessage(MessageType.TERMINATE, "4242", peer.jid))
            assert await other.send(jid, forged) == "bad-request"
        finally:
            await other.close()

        # transport-info and transport-accept went unanswered, yet the call is up.
        await asyncio.sleep(0.3)
        assert "call destroyed" not in callee.out_lines
        assert await peer.send(jid, session(peer, MessageType.TERMINATE)) is None
        # Accepted, but this peer never sent a candidate: no media path, so a failure
        # although the peer hung up first (issue 10).
        assert await asyncio.to_thread(callee.finish) == ExitCode.CALL_FAILED
        assert "other side hung up" in callee.out_lines
        assert f"call failed: no media path to '{peer.jid}'" in callee.err_lines
    finally:
        callee.popen.kill()


async def test_initiate_without_transport_gets_candidates_and_connects(
        peer: RawPeer, accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    callee, jid = await listening(accounts, server, ca_file, "compat", "-a", "--once")
    ice = IceTransport(controlling=True)
    try:
        mine = await ice.gather()
        assert await peer.send(jid, session(peer, MessageType.INITIATE, description=PCMU)) is None
        got: list[Candidate] = []
        types = []
        while not got or MessageType.ACCEPT not in types:
            rx = await peer.next()
            types.append(rx.message.type)
            got += rx.message.candidates
        assert MessageType.TRANSPORT_ACCEPT not in types
        assert MessageType.TRANSPORT_INFO not in types
        assert MessageType.CANDIDATES in types
        ice.add_remote(modelled(got))
        assert await peer.send(jid, session(peer, MessageType.CANDIDATES,
                                            candidates=wire(mine))) is None
        await asyncio.wait_for(ice.connected, 10)
        await asyncio.to_thread(callee.wait_for, "call in progress")
        assert await peer.send(jid, session(peer, MessageType.TERMINATE)) is None
        assert await asyncio.to_thread(callee.finish) == ExitCode.OK
    finally:
        callee.popen.kill()
        await ice.close()


async def test_a_libjingle_style_google_ice_peer_is_pinged_and_connects(
        peer: RawPeer, accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    """Per-candidate usernames (libjingle 0.4, gingle.md part B) mean Google ICE: jcall
    pings each candidate in RFC 3489 form with USERNAME = theirs + its own, answers
    the peer's pings, and the call comes up. (Until issue 10 it ended with exit 10.)"""
    # (its candidates are loopback sockets: checked only where the user allows it)
    callee, jid = await listening(accounts, server, ca_file, "gice", "-a", "--once",
                                  loopback=True)
    socks = loopback_sockets(2)
    try:
        users = ("uloaCAVUNxLbDt4w", "Xr9Ld2Q0aBfLmC3e")
        google = tuple(Candidate("127.0.0.1", s.getsockname()[1], user, "yewpj2tpBCTP9C5u",
                                 network=i)
                       for i, (s, user) in enumerate(zip(socks, users, strict=True)))
        assert await peer.send(jid, session(peer, MessageType.INITIATE, description=PCMU,
                                            has_transport=True)) is None
        assert await peer.send(jid, session(peer, MessageType.TRANSPORT_INFO,
                                            has_transport=True, candidates=google)) is None
        theirs: list[Candidate] = []
        while not theirs:
            theirs += (await peer.next(skip=("transport-accept", "accept"))).message.candidates
        pinged: dict[int, sc.Binding] = {}
        answered: set[int] = set()
        deadline = asyncio.get_running_loop().time() + 10
        while len(pinged) < 2 or not answered:
            assert asyncio.get_running_loop().time() < deadline, (pinged, answered)
            for i, s in enumerate(socks):
                with contextlib.suppress(BlockingIOError):
                    data, addr = s.recvfrom(2048)
                    if not sc.is_stun(data):
                        continue  # jcall's RTP, once it has a writable connection
                    msg = sc.parse(data)
                    assert msg.classic
                    if msg.kind is sc.Kind.SUCCESS:  # jcall answering our ping
                        assert msg.username == (theirs[0].username + users[i]).encode()
                        answered.add(i)
                        continue
                    assert msg.kind is sc.Kind.REQUEST
                    pinged[i] = msg
                    s.sendto(sc.success(msg, addr), addr)  # as libjingle answers
                    mine = sc.request(secrets.token_bytes(16),
                                      (theirs[0].username + users[i]).encode())
                    s.sendto(mine, (theirs[0].address, theirs[0].port))
            await asyncio.sleep(0.01)
        for i, ping in pinged.items():
            assert ping.username == (users[i] + theirs[0].username).encode()
        await asyncio.to_thread(callee.wait_for, "call in progress")
        assert await peer.send(jid, session(peer, MessageType.TERMINATE)) is None
        assert await asyncio.to_thread(callee.finish) == ExitCode.OK
    finally:
        callee.popen.kill()
        for s in socks:
            s.close()


@pytest.mark.parametrize("peer", [frozenset({"*"})], indirect=True)
async def test_no_reply_to_initiate_ends_the_call(
        peer: RawPeer, accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    caller = start("alice", accounts["alice"], server, ca_file, "dial", peer.jid)
    try:
        assert (await peer.next(timeout=15)).message.type is MessageType.INITIATE
        assert await asyncio.to_thread(caller.finish, 30) == ExitCode.CALL_FAILED
        assert caller.err_lines == ["call failed: no reply to initiate within 15 s"]
        assert "call destroyed" in caller.out_lines
    finally:
        caller.popen.kill()


def loopback_sockets(n: int) -> list[socket.socket]:
    """``n`` non-blocking UDP sockets on 127.0.0.1, to offer as candidates and see
    which ones get checked (the caller closes them)."""
    socks = []
    for _ in range(n):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        socks.append(sock)
    return socks


DEAD = (Candidate("127.0.0.1", 9, "deadbeefdeadbeef", "p" * 22),)  # (nothing listens)


def replier(initiate: Received) -> Callable[..., str]:
    """Session XML in the initiate's session, for answering it."""
    sid, initiator = initiate.message.sid, initiate.message.initiator

    def reply(mtype: MessageType, **kw: object) -> str:
        return xml(SessionMessage(mtype, sid, initiator, **kw))  # type: ignore[arg-type]

    return reply


async def test_no_ice_path_is_a_clear_failure(
        peer: RawPeer, accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    caller = start("alice", accounts["alice"], server, ca_file, "--ice-timeout", "1",
                   "dial", peer.jid)
    try:
        initiate = await peer.next(timeout=15)
        reply = replier(initiate)
        await peer.send(initiate.sender, reply(MessageType.TRANSPORT_ACCEPT, has_transport=True))
        await peer.send(initiate.sender, reply(MessageType.TRANSPORT_INFO, has_transport=True,
                                               candidates=DEAD))
        await peer.send(initiate.sender, reply(MessageType.ACCEPT, description=PCMU))
        end = await peer.next(timeout=10, skip=("transport-info",))
        assert end.message.type is MessageType.TERMINATE
        assert end.message.reason == "general-error"
        assert await asyncio.to_thread(caller.finish) == ExitCode.CALL_FAILED
        assert caller.err_lines == [f"call failed: no ICE path to '{peer.jid}' within 1 s"]
        assert "call answered" in caller.out_lines
        assert "call in progress" not in caller.out_lines
    finally:
        caller.popen.kill()


async def test_no_media_path_ends_the_call_soon_after_the_last_candidates(
        peer: RawPeer, accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    """Without --ice-timeout: the transport gives up 8 s after the last candidate
    exchange (target: within 10 s), terminates, and names what was tried."""
    caller = start("alice", accounts["alice"], server, ca_file, "--ice-loopback",
                   "dial", peer.jid)
    try:
        initiate = await peer.next(timeout=15)
        reply = replier(initiate)
        await peer.send(initiate.sender, reply(MessageType.TRANSPORT_ACCEPT, has_transport=True))
        await peer.send(initiate.sender, reply(MessageType.ACCEPT, description=PCMU))
        theirs = await peer.next(timeout=10)
        assert theirs.message.type is MessageType.TRANSPORT_INFO and theirs.message.candidates
        await peer.send(initiate.sender, reply(MessageType.TRANSPORT_INFO, has_transport=True,
                                               candidates=DEAD))
        last_exchange = time.monotonic()
        end = await peer.next(timeout=12, skip=("transport-info",))
        elapsed = time.monotonic() - last_exchange
        assert end.message.type is MessageType.TERMINATE
        assert end.message.reason == "general-error"
        assert 7.5 < elapsed < 10.0, elapsed
        assert await asyncio.to_thread(caller.finish) == ExitCode.CALL_FAILED
        assert caller.err_lines == [f"call failed: no media path to '{peer.jid}': "
                                    "tried host; peer offered host"]
    finally:
        caller.popen.kill()


async def test_disco_info_advertises_voice(
        peer: RawPeer, accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    callee, jid = await listening(accounts, server, ca_file, "disco", "-a")
    try:
        for node in (None, "http://www.google.com/xmpp/client/caps#voice-v1"):
            iq = peer.stream.Iq(stype="get", sto=jid)
            query = ET.SubElement(iq.xml, "{http://jabber.org/protocol/disco#info}query")
            if node:
                query.set("node", node)
            result = await iq.send(timeout=10)  # type: ignore[no-untyped-call]
            features = {f.get("var") for f in result.xml.iter(
                "{http://jabber.org/protocol/disco#info}feature")}
            assert "http://www.google.com/xmpp/protocol/voice/v1" in features
    finally:
        callee.interrupt()
        assert await asyncio.to_thread(callee.finish) == ExitCode.INTERRUPTED


async def test_initiator_switches_to_candidates_when_the_peer_does(
        peer: RawPeer, accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    """A libpurple-like callee answers with 'candidates' and no transport-accept."""
    caller = start("alice", accounts["alice"], server, ca_file, "dial", peer.jid,
                   "--duration", "0.2")
    ice = IceTransport(controlling=False)
    try:
        initiate = await peer.next(timeout=15)
        assert initiate.message.type is MessageType.INITIATE and initiate.message.has_transport
        sent = await peer.next()
        assert sent.message.type is MessageType.TRANSPORT_INFO
        ice.add_remote(modelled(sent.message.candidates))
        mine = await ice.gather()

        reply = replier(initiate)

        assert await peer.send(initiate.sender, reply(MessageType.CANDIDATES,
                                                      candidates=wire(mine))) is None
        resent = await peer.next()
        assert resent.message.type is MessageType.CANDIDATES  # re-sent in the peer's form
        assert resent.message.candidates == sent.message.candidates
        assert await peer.send(initiate.sender, reply(MessageType.ACCEPT,
                                                      description=PCMU)) is None
        await asyncio.wait_for(ice.connected, 10)
        assert await asyncio.to_thread(caller.finish) == ExitCode.OK, caller.err
        assert "call in progress" in caller.out_lines
        end = await peer.next()
        assert end.message.type is MessageType.TERMINATE
    finally:
        caller.popen.kill()
        await ice.close()


async def test_an_unknown_iq_payload_is_service_unavailable(
        peer: RawPeer, accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    """RFC 6120 section 8.4 (slixmpp's default answer is feature-not-implemented)."""
    callee, jid = await listening(accounts, server, ca_file, "unknown-ns")
    try:
        assert await peer.send(jid, "<query xmlns='urn:example:nothing-here'/>") \
            == "service-unavailable"
        # (Jingle is handled: an initiate without content is malformed, not unknown)
        assert await peer.send(jid, "<jingle xmlns='urn:xmpp:jingle:1' action='session-"
                                    "initiate' sid='x'/>") == "bad-request"
    finally:
        callee.popen.kill()


async def test_a_peer_going_offline_ends_a_ringing_call_at_once(
        accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    peer = RawPeer(accounts["erin"].jid + "/leaving", accounts["erin"].password, server,
                   ca_file)
    await peer.login()
    caller = start("alice", accounts["alice"], server, ca_file, "dial", peer.jid)
    try:
        assert (await peer.next(timeout=15)).message.type is MessageType.INITIATE
        await peer.close()  # it never answers: the phone rings on, then its owner leaves
        left = time.monotonic()
        assert await asyncio.to_thread(caller.finish) == ExitCode.CALL_FAILED
        assert time.monotonic() - left < 2.0  # not the 15 s reply timeout
        assert f"call failed: '{peer.jid}' went offline" in caller.err_lines
    finally:
        caller.popen.kill()


async def test_a_caller_going_offline_ends_a_connecting_call_at_once(
        peer: RawPeer, accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    callee, jid = await listening(accounts, server, ca_file, "left-alone", "-a", "--once")
    try:
        assert await peer.send(jid, session(peer, MessageType.INITIATE, description=PCMU,
                                            has_transport=True)) is None
        assert (await peer.next(skip=("transport-accept", "transport-info"))).message.type \
            is MessageType.ACCEPT  # accepted; no candidates from this peer: connecting
        who = peer.jid
        await peer.close()
        left = time.monotonic()
        assert await asyncio.to_thread(callee.finish) == ExitCode.CALL_FAILED
        assert time.monotonic() - left < 2.0
        assert f"call failed: '{who}' went offline" in callee.err_lines
    finally:
        callee.popen.kill()


async def test_a_hostile_callers_candidates_are_bounded_and_filtered(
        peer: RawPeer, accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    """Candidates beyond 20 get not-acceptable and no checks; multicast and
    unspecified addresses get no checks; the first 20 checkable ones are checked."""
    callee, jid = await listening(accounts, server, ca_file, "hostile", "-a", "--once",
                                  loopback=True)  # so that loopback sockets may be checked
    socks = loopback_sockets(25)
    try:
        ufrag, pwd = "hostileufrag0001", "p" * 24  # RFC ICE credentials: aioice checks
        bad = [Candidate(a, 5000 + i, ufrag, pwd)
               for i, a in enumerate(("224.0.0.9", "0.0.0.0", "255.255.255.255"))]
        good = [Candidate("127.0.0.1", s.getsockname()[1], ufrag, pwd) for s in socks]
        assert await peer.send(jid, session(peer, MessageType.INITIATE, description=PCMU,
                                            has_transport=True)) is None
        answers = [await peer.send(jid, session(peer, MessageType.CANDIDATES,
                                                candidates=(c,)))
                   for c in [*bad, *good]]
        assert answers[:20] == [None] * 20
        assert answers[20:] == ["not-acceptable"] * 8
        await asyncio.sleep(2.0)  # aioice checks its pairs 20 ms apart
        checked = set()
        for i, s in enumerate(socks):
            with contextlib.suppress(BlockingIOError):
                while s.recv(2048):
                    checked.add(i)
        assert checked and checked <= set(range(17)), checked  # only the 17 accepted
    finally:
        callee.popen.kill()
        for s in socks:
            s.close()


async def test_loopback_candidates_are_offered_only_with_ice_loopback(
        peer: RawPeer, accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    for loopback in (False, True):
        callee, jid = await listening(accounts, server, ca_file, f"lo-{loopback}", "-a",
                                      "--once", loopback=loopback)
        try:
            sid = f"lo{int(loopback)}"
            assert await peer.send(jid, session(peer, MessageType.INITIATE, sid=sid,
                                                description=PCMU)) is None  # compat dialect
            got = await peer.next(skip=("accept",))
            assert got.message.type is MessageType.CANDIDATES
            addresses = {c.address for c in got.message.candidates}
            assert ("127.0.0.1" in addresses) is loopback, addresses
        finally:
            callee.popen.kill()


def _drain(sock: socket.socket) -> int:
    n = 0
    with contextlib.suppress(BlockingIOError):
        while sock.recv(2048):
            n += 1
    return n


@pytest.mark.parametrize("stranger", [True, False], ids=["stranger", "contact"])
async def test_a_stranger_learns_no_address_and_gets_no_checks_before_accept(
        stranger: bool, accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    """A ringing callee shows its candidates (and checks) to a caller in its roster at
    once, to a stranger (mallory is in nobody's roster) only after the user accepts."""
    name = "mallory" if stranger else "erin"
    caller = RawPeer(f"{accounts[name].jid}/privacy", accounts[name].password, server, ca_file)
    await caller.login()
    master, slave = pty.openpty()
    bob = Account(f"{accounts['bob'].jid}/privacy-{name}", accounts["bob"].password)
    callee = start("bob", bob, server, ca_file, "--ice-loopback", "listen", "--once",
                   stdin=slave)
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.bind(("127.0.0.1", 0))
        probe.setblocking(False)
        await asyncio.to_thread(callee.wait_for, "logged in...")
        mine = Candidate("127.0.0.1", probe.getsockname()[1], "privacyufrag0001", "p" * 24)
        assert await caller.send(bob.jid, session(caller, MessageType.INITIATE,
                                                  description=PCMU)) is None
        assert await caller.send(bob.jid, session(caller, MessageType.CANDIDATES,
                                                  candidates=(mine,))) is None
        await asyncio.to_thread(callee.wait_for_prompt, "accept? [y/N] ")
        await asyncio.sleep(1.5)  # ringing: time enough to gather, send and check
        before = [caller.received.get_nowait().message for _ in range(caller.received.qsize())]
        offered = [c for m in before for c in m.candidates]
        checks = _drain(probe)
        if stranger:
            assert offered == [] and checks == 0, (before, checks)
        else:
            assert offered and checks > 0, (before, checks)
        os.write(master, b"y\n")
        got = await caller.next(skip=("accept",)) if stranger else None
        if stranger:
            assert got is not None and got.message.type is MessageType.CANDIDATES
            assert got.message.candidates
            await asyncio.sleep(0.5)
            assert _drain(probe) > 0
    finally:
        callee.popen.kill()
        os.close(master)
        os.close(slave)
        probe.close()
        await caller.close()


async def test_a_strangers_thousand_candidates_get_no_checks_while_ringing_and_20_after(
        accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    """1,000 candidates in 100 messages from a caller in nobody's roster: the first 20
    are kept (the rest refused with not-acceptable), nothing is checked while the
    phone rings, and after accept only those 20 are."""
    caller = RawPeer(f"{accounts['mallory'].jid}/flood", accounts["mallory"].password, server,
                     ca_file)
    await caller.login()
    master, slave = pty.openpty()
    bob = Account(f"{accounts['bob'].jid}/flooded", accounts["bob"].password)
    callee = start("bob", bob, server, ca_file, "--ice-loopback", "listen", "--once",
                   stdin=slave)
    socks = loopback_sockets(40)
    try:
        await asyncio.to_thread(callee.wait_for, "logged in...")
        ufrag, pwd = "floodufrag000001", "p" * 24
        ports = [s.getsockname()[1] for s in socks]  # 40 listening, then 960 silent ones
        ports += [p for p in range(40000, 41000) if p not in ports][:960]
        cands = [Candidate("127.0.0.1", p, ufrag, pwd) for p in ports]
        assert await caller.send(bob.jid, session(caller, MessageType.INITIATE,
                                                  description=PCMU)) is None
        answers = [await caller.send(bob.jid, session(caller, MessageType.CANDIDATES,
                                                      candidates=tuple(cands[i:i + 10])))
                   for i in range(0, 1000, 10)]
        assert answers == [None, None] + ["not-acceptable"] * 98
        await asyncio.to_thread(callee.wait_for_prompt, "accept? [y/N] ")
        await asyncio.sleep(1.0)
        assert sum(_drain(s) for s in socks) == 0  # ringing: nothing checked
        os.write(master, b"y\n")
        await asyncio.sleep(2.0)  # checks go out 20 ms apart
        checked = {i for i, s in enumerate(socks) if _drain(s)}
        assert checked and checked <= set(range(20)), checked
    finally:
        callee.popen.kill()
        os.close(master)
        os.close(slave)
        for s in socks:
            s.close()
        await caller.close()
