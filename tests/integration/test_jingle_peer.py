"""Whole Jingle calls between a jcall process and a standard Jingle peer
(jinglepeer.py: hand-written XEP-0166/0167/0176 stanzas through the test Prosody, a
real libnice 0.1.21 in RFC 5245 mode), audio checked sample by sample both ways, in
both directions, PCMU and L16/44100 stereo (payload type 10)."""

from __future__ import annotations

import asyncio
import json
import signal as signals
from pathlib import Path

import pytest

from jcall.errors import ExitCode

from . import jinglepeer
from .jcallproc import Account
from .jinglepeer import Payload
from .test_media import received
from .test_purple_call import (
    L16,
    PCMU,
    Codec,
    assert_same_audio,
    heard_by_peer,
    jcall,
    rtp_packets,
    signal,
)

OFFER = (Payload(0, "PCMU", 8000), Payload(10, "L16", 44100, 2), Payload(8, "PCMA", 8000))


def payload(codec: Codec) -> Payload:
    return Payload(codec.pt.id, codec.pt.name, codec.rate, codec.channels)


@pytest.mark.parametrize("codec", [PCMU, L16], ids=lambda c: c.name)
async def test_a_jingle_caller_with_libnice_gets_audio_both_ways(
        codec: Codec, tmp_path: Path, accounts: dict[str, Account], server: str,
        ca_file: Path) -> None:
    jcall_in, peer_in = signal(codec, 21), signal(codec, 31)
    from jcall.audio.files import write_wav
    write_wav(tmp_path / "bob.wav", jcall_in, codec.rate)
    bob = Account(f"{accounts['bob'].jid}/jcallee-{codec.name}", accounts["bob"].password)
    callee = jcall("bob", bob, server, ca_file, tmp_path, codec, "listen", "-a", "--once")
    peer = None
    try:
        await asyncio.to_thread(callee.wait_for, "logged in...")
        peer = await jinglepeer.start(f"{accounts['erin'].jid}/jingle",
                                      accounts["erin"].password, server, ca_file,
                                      controlling=True)
        await peer.nice.record(tmp_path / "peer_got.bin")
        await peer.call(bob.jid, (payload(codec), *OFFER))
        accepted = await asyncio.wait_for(peer.accepted, 15)
        content = accepted.jingle.find(f"{{{jinglepeer.NS_JINGLE}}}content")
        assert content is not None and content.get("name") == jinglepeer.CONTENT
        first = content.find(f"{{{jinglepeer.NS_RTP}}}description/"
                             f"{{{jinglepeer.NS_RTP}}}payload-type")
        assert first is not None and int(first.get("id", "-1")) == codec.pt.id
        await peer.nice.wait_for("selected", component=1)
        peer.nice.play(rtp_packets(codec, peer_in), tmp_path / "play.bin",
                       codec.samples / codec.rate)
        played = await peer.nice.wait_for("played", timeout=15)
        assert played["failed"] == 0
        await asyncio.sleep(0.5)
        assert await peer.hangup() is None
        assert await asyncio.to_thread(callee.finish) == ExitCode.OK, callee.err
        stats = json.loads((tmp_path / "bob.json").read_text())
        assert stats["signaling"] == "jingle" and stats["path"]["ice"] == "RFC ICE"
        assert stats["received"]["lost"] == 0 and stats["received"]["late"] == 0
        assert_same_audio(codec, peer_in, received(tmp_path / "bob_got.wav"))
        assert_same_audio(codec, jcall_in, heard_by_peer(codec, tmp_path / "peer_got.bin"))
        actions = [m.action for m in _drain(peer.received)]
        assert actions[0] == "session-info"  # ringing, before the accept
    finally:
        callee.popen.kill()
        if peer is not None:
            await peer.close()


@pytest.mark.parametrize("codec", [PCMU, L16], ids=lambda c: c.name)
async def test_jcall_calling_a_jingle_peer_with_libnice_gets_audio_both_ways(
        codec: Codec, tmp_path: Path, accounts: dict[str, Account], server: str,
        ca_file: Path) -> None:
    jcall_in, peer_in = signal(codec, 23), signal(codec, 33)
    from jcall.audio.files import write_wav
    write_wav(tmp_path / "alice.wav", jcall_in, codec.rate)
    peer = await jinglepeer.start(f"{accounts['erin'].jid}/jingle-callee",
                                  accounts["erin"].password, server, ca_file,
                                  controlling=False)
    caller = None
    try:
        await peer.nice.record(tmp_path / "peer_got.bin")
        caller = jcall("alice", accounts["alice"], server, ca_file, tmp_path, codec,
                       "dial", peer.jid, "--duration", "3")
        initiated = await asyncio.wait_for(peer.initiated, 15)
        assert initiated.jingle.find(f".//{{{jinglepeer.NS_ICE}}}candidate") is not None
        await peer.answer((payload(codec),))
        await asyncio.to_thread(caller.wait_for, "call in progress")
        await peer.nice.wait_for("selected", component=1)
        peer.nice.play(rtp_packets(codec, peer_in), tmp_path / "play.bin",
                       codec.samples / codec.rate)
        await asyncio.wait_for(peer.ended.wait(), 15)
        assert await asyncio.to_thread(caller.finish) == ExitCode.OK, caller.err
        played = await peer.nice.wait_for("played", timeout=15)
        assert played["failed"] == 0
        stats = json.loads((tmp_path / "alice.json").read_text())
        assert stats["signaling"] == "jingle"
        assert_same_audio(codec, peer_in, received(tmp_path / "alice_got.wav"))
        assert_same_audio(codec, jcall_in, heard_by_peer(codec, tmp_path / "peer_got.bin"))
        assert not any("no audio" in line for line in caller.err_lines)
    finally:
        if caller is not None:
            caller.popen.kill()
        await peer.close()


def _drain(queue: asyncio.Queue[jinglepeer.Received]) -> list[jinglepeer.Received]:
    out = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


async def test_xep_0353_both_ways_with_a_jingle_peer(
        tmp_path: Path, accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    """The peer proposes to jcall's bare JID, jcall's device rings and proceeds, and
    the session with the proposal's id follows; then jcall, dialing the peer (which
    shows jingle-message), proposes first and initiates to the device that proceeds."""
    codec = PCMU
    from jcall.audio.files import write_wav
    for name in ("bob", "alice"):
        write_wav(tmp_path / f"{name}.wav", signal(codec, 41), codec.rate)
    bob = Account(f"{accounts['bob'].jid}/jmi", accounts["bob"].password)
    callee = jcall("bob", bob, server, ca_file, tmp_path, codec, "listen", "-a", "--once")
    peer = await jinglepeer.start(f"{accounts['erin'].jid}/jmi", accounts["erin"].password,
                                  server, ca_file, controlling=True, jmi=True)
    caller = None
    try:
        await asyncio.to_thread(callee.wait_for, "logged in...")
        await peer.wait_online(bob.jid)
        device = await peer.propose(accounts["bob"].jid)
        assert device == bob.jid
        assert [a for s, a, _ in peer.jmi_received if s == bob.jid][:2] == ["ringing",
                                                                           "proceed"]
        await peer.call(device, (payload(codec),))
        await asyncio.wait_for(peer.accepted, 15)
        await peer.nice.wait_for("selected", component=1)
        # (jcall, the controlled side, has its path once the nomination reaches it: a
        # hang-up before that is a call that never had media, and exits 9)
        await asyncio.to_thread(callee.wait_for, "call in progress", 15)
        assert await peer.hangup() is None
        assert await asyncio.to_thread(callee.finish) == ExitCode.OK, callee.err
        await asyncio.sleep(0.3)
        assert ("finish" in [a for s, a, _ in peer.jmi_received if s == bob.jid])
    finally:
        callee.popen.kill()
        await peer.close()

    callee_peer = await jinglepeer.start(f"{accounts['erin'].jid}/jmi-callee",
                                         accounts["erin"].password, server, ca_file,
                                         controlling=False, jmi=True)
    try:
        caller = jcall("alice", accounts["alice"], server, ca_file, tmp_path, codec,
                       "dial", accounts["erin"].jid, "--duration", "1")
        initiated = await asyncio.wait_for(callee_peer.initiated, 15)
        proposals = [(a, i) for _, a, i in callee_peer.jmi_received if a == "propose"]
        assert len(proposals) == 1
        assert initiated.jingle.get("sid") == proposals[0][1]  # the proposal's id
        await callee_peer.answer((payload(codec),))
        assert await asyncio.to_thread(caller.finish) == ExitCode.OK, caller.err
        assert caller.out_lines.count("ringing...") == 1
    finally:
        if caller is not None:
            caller.popen.kill()
        await callee_peer.close()


async def test_hanging_up_while_a_proposal_rings_retracts_it(
        tmp_path: Path, accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    """XEP-0353 section 3.3: Ctrl-C while the peer's devices ring takes the proposal
    back (<retract> with <cancel/>, same id), and jcall exits at once."""
    from jcall.audio.files import write_wav
    write_wav(tmp_path / "alice.wav", signal(PCMU, 51), PCMU.rate)
    peer = await jinglepeer.start(f"{accounts['erin'].jid}/jmi-ringing",
                                  accounts["erin"].password, server, ca_file,
                                  controlling=False, jmi=True)
    peer.takes_calls = False
    caller = None
    try:
        caller = jcall("alice", accounts["alice"], server, ca_file, tmp_path, PCMU,
                       "dial", accounts["erin"].jid)
        await asyncio.to_thread(caller.wait_for, "ringing...")
        caller.popen.send_signal(signals.SIGINT)
        assert await asyncio.to_thread(caller.finish) == ExitCode.INTERRUPTED, caller.err
        await asyncio.sleep(0.5)
        got = [(a, i) for _, a, i in peer.jmi_received]
        assert [a for a, _ in got] == ["propose", "retract"] and got[0][1] == got[1][1]
        assert not peer.initiated.done()  # no session was ever started
    finally:
        if caller is not None:
            caller.popen.kill()
        await peer.close()
