"""What a stranger can send: stanzas built to break a parser, during a real call
between two jcalls through the real Prosody (issue 12, item 1). The call must go on
sample-exact, jcall must stay logged in, and every bad iq gets a short error."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from jcall.audio.codecs import ULAW_TABLE, ulaw_encode
from jcall.audio.files import write_wav
from jcall.errors import ExitCode
from jcall.signaling.gingle import NS_SESSION

from .jcallproc import Account, start
from .rawpeer import RawPeer
from .test_media import received, speechlike

NS_DISCO = "http://jabber.org/protocol/disco#info"
STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
RATE = 8000


def iq(to: str, iq_id: str, payload: str, kind: str = "set") -> str:
    return f'<iq type="{kind}" id="{iq_id}" to="{to}">{payload}</iq>'


def session(sender: str, body: str = "", sid: str = "77", kind: str = "info",
            extra: str = "") -> str:
    return (f'<session xmlns="{NS_SESSION}" type="{kind}" id="{sid}" initiator="{sender}"'
            f'{extra}>{body}</session>')


def nested(depth: int, tag: str = "x") -> str:
    return f"<{tag}>" * depth + f"</{tag}>" * depth


def hostile_iqs(to: str, sender: str) -> dict[str, tuple[str, str]]:
    """Each an iq set or get, and the error it must get: a short one, never echoing
    more than a little of what it carried."""
    many_attrs = "".join(f' a{i}="{i}"' for i in range(5000))
    deep, bad = "policy-violation", "bad-request"  # (no session "77" exists)
    return {
        "session nested 500 deep": (iq(to, "h1", session(sender, nested(500))), deep),
        "iq nested 2000 deep": (iq(to, "h2", nested(2000)), deep),
        "session id of 140 KB": (iq(to, "h3", session(sender, sid="9" * 140_000)), bad),
        "session-initiate with an id of 140 KB": (iq(
            to, "h4", session(sender, sid="8" * 140_000, kind="initiate")), bad),
        "5000 attributes": (iq(to, "h5", session(sender, extra=many_attrs)), bad),
        "20000 empty children": (iq(to, "h6", session(sender, "<x/>" * 20_000)), bad),
        "a text of 200 KB": (iq(to, "h7", session(sender, "<x>" + "y" * 200_000 + "</x>")),
                             bad),
        "a get nested 2000 deep": (iq(to, "h8", nested(2000), kind="get"), deep),
        "prefixed and odd namespaces": (iq(to, "h9", session(
            sender, '<p:x xmlns:p="urn:a"><q:y xmlns:q="urn:b" q:z="&#x10FFFF;"/></p:x>'
            + "<candidate xmlns='' name='rtp'/>", kind="candidates")), bad),
        "non-BMP and right-to-left text": (iq(to, "h10", session(
            sender, sid="\U0001F4DE\u202Eabc", kind="terminate")), bad),
    }


def other_stanzas(to: str) -> list[str]:
    """Stanzas that are not answered at all; they must not end anything either."""
    return [f"<message to='{to}' type='chat'>{nested(2000, 'body')}</message>",
            f"<presence to='{to}'>{nested(2000, 'status')}</presence>",
            f"<message to='{to}'><body>{'z' * 200_000}</body></message>"]


async def alive(peer: RawPeer, jid: str, n: int) -> None:
    answer = await peer.exchange(iq(jid, f"ping{n}", f"<query xmlns='{NS_DISCO}'/>",
                                    kind="get"), f"ping{n}")
    assert answer is not None and answer.get("type") == "result", "jcall stopped answering"


@pytest.fixture
async def raw(accounts: dict[str, Account], server: str, ca_file: Path
              ) -> AsyncIterator[RawPeer]:
    peer = RawPeer(accounts["mallory"].jid + "/raw", accounts["mallory"].password, server,
                   ca_file)
    await peer.login()
    yield peer
    await peer.close()


async def test_no_stanza_ends_a_call_or_the_session(
        tmp_path: Path, raw: RawPeer, accounts: dict[str, Account], server: str,
        ca_file: Path) -> None:
    seconds = 5.0
    a_in, b_in = speechlike(seconds, RATE, 1), speechlike(seconds, RATE, 2)
    write_wav(tmp_path / "a.wav", a_in, RATE)
    write_wav(tmp_path / "b.wav", b_in, RATE)
    bob = Account(f"{accounts['bob'].jid}/hostile", accounts["bob"].password)
    callee = start("bob", bob, server, ca_file, "--stats-json", str(tmp_path / "b.json"),
                   "listen", "-a", "--once", audio=(
                       "--input", str(tmp_path / "b.wav"),
                       "--output", str(tmp_path / "b_got.wav")))
    caller = None
    try:
        await asyncio.to_thread(callee.wait_for, "logged in...")
        caller = start("alice", accounts["alice"], server, ca_file, "--codec", "PCMU",
                       "--stats-json", str(tmp_path / "a.json"), "dial", bob.jid,
                       "--duration", str(seconds + 0.6), audio=(
                           "--input", str(tmp_path / "a.wav"),
                           "--output", str(tmp_path / "a_got.wav")))
        await asyncio.to_thread(callee.wait_for, "call in progress")
        for n, (what, (stanza, expected)) in enumerate(
                hostile_iqs(bob.jid, raw.jid).items()):
            iq_id = ET.fromstring(stanza[:stanza.index(">") + 1] + "</iq>").get("id")
            assert iq_id is not None
            answer = await raw.exchange(stanza, iq_id)
            assert answer is not None, f"{what}: no answer"
            assert answer.get("type") == "error", what
            error = answer.find("{jabber:client}error")
            assert error is not None and error.find(f"{{{STANZAS}}}{expected}") is not None, \
                f"{what}: {ET.tostring(answer)!r}"
            size = len(ET.tostring(answer))
            assert size < 2048, f"{what}: a reply of {size} bytes"
            await alive(raw, bob.jid, n)
        for n, stanza in enumerate(other_stanzas(bob.jid)):
            raw.stream.send_raw(stanza)
            await alive(raw, bob.jid, 100 + n)
        assert await asyncio.to_thread(caller.finish) == ExitCode.OK, caller.err
        assert await asyncio.to_thread(callee.finish) == ExitCode.OK, callee.err
    finally:
        for proc in (callee, caller):
            if proc is not None and proc.popen.poll() is None:
                proc.popen.kill()
    assert "call destroyed" in callee.out_lines
    for sent, got_file, stats_file in ((a_in, "b_got.wav", "b.json"),
                                       (b_in, "a_got.wav", "a.json")):
        got = received(tmp_path / got_file)
        stats = json.loads((tmp_path / stats_file).read_text())
        assert stats["received"]["concealed_ms"] == 0, stats
        assert len(got) >= len(sent)
        # PCMU both ways: compare after the G.711 round trip.
        g711 = ULAW_TABLE[ulaw_encode(sent[:, 0])].reshape(-1, 1)
        assert np.array_equal(got[:len(g711)], g711)
