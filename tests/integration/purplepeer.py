"""A Gingle peer that behaves as Pidgin/libpurple 2.14 does on the wire, with real parts:
a slixmpp client through the test Prosody for signalling and a real libnice 0.1.21 in
GOOGLE mode (``nice.py``) for ICE and media.

What it copies from libpurple's ``google_session.c`` (gingle.md parts E and G):
* an ``initiate`` without ``<transport>``; libpurple's codec offer;
* candidates one ``candidates`` iq at a time, ``rtp`` and ``rtcp``, the candidate's
  username, an empty password, preference = libnice priority / 1000;
* as callee, its candidates before its ``accept``;
* only ``candidates`` messages feed libnice: ``transport-info`` is ignored, unanswered;
* no answer to ``transport-info``, ``transport-accept``, ``info``, ``reject`` or
  ``terminate``.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from jcall.signaling.gingle import (
    Candidate,
    MessageType,
    PayloadType,
    SessionMessage,
    candidate_to_model,
    session_element,
)

from .nice import NicePeer
from .rawpeer import RawPeer, Received

# libpurple 2.14's audio offer (gingle.md A.7), L16 without a channels attribute.
PURPLE_OFFER = (PayloadType(110, "speex", 16000), PayloadType(111, "speex", 8000),
                PayloadType(0, "PCMU", 8000), PayloadType(8, "PCMA", 8000),
                PayloadType(10, "L16", 44100), PayloadType(101, "telephone-event", 8000))
IGNORED = frozenset({"transport-info", "transport-accept", "info", "reject", "terminate"})


@dataclass
class Session:
    sid: str
    initiator: str
    peer: str  # the other side's full JID


class PurplePeer:
    def __init__(self, raw: RawPeer, nice: NicePeer) -> None:
        self.raw = raw
        self.nice = nice
        self.session: Session | None = None
        self.messages: list[Received] = []
        self.jcall_candidates: list[Candidate] = []
        self.ended = asyncio.Event()
        self.accepted: asyncio.Future[tuple[PayloadType, ...]] = \
            asyncio.get_running_loop().create_future()
        self.initiated: asyncio.Future[Received] = asyncio.get_running_loop().create_future()
        self._task = asyncio.ensure_future(self._follow())

    @property
    def jid(self) -> str:
        return self.raw.jid

    def _xml(self, mtype: MessageType, **fields: object) -> str:
        assert self.session is not None
        msg = SessionMessage(type=mtype, sid=self.session.sid,
                             initiator=self.session.initiator, **fields)  # type: ignore[arg-type]
        return ET.tostring(session_element(msg), encoding="unicode")

    async def _follow(self) -> None:
        """What libpurple does with each message it gets."""
        while True:
            got = await self.raw.received.get()
            self.messages.append(got)
            msg = got.message
            if msg.type is MessageType.INITIATE and not self.initiated.done():
                self.session = Session(msg.sid, msg.initiator, got.sender)
                self.initiated.set_result(got)
            elif msg.type is MessageType.CANDIDATES:
                mine = [c for c in msg.candidates if c.name == "rtp"]
                self.jcall_candidates += mine
                self.nice.add_remote([m for c in mine if (m := candidate_to_model(c))])
            elif msg.type is MessageType.ACCEPT and not self.accepted.done():
                self.accepted.set_result(msg.description or ())
            elif msg.type in (MessageType.TERMINATE, MessageType.REJECT):
                self.ended.set()

    async def send_candidates(self) -> None:
        for cand in self.nice.gingle_candidates():
            await self.raw.send(self._session_peer(), self._xml(MessageType.CANDIDATES,
                                                                 candidates=(cand,)))

    def _session_peer(self) -> str:
        assert self.session is not None
        return self.session.peer

    async def call(self, jid: str, offer: tuple[PayloadType, ...] = PURPLE_OFFER) -> None:
        self.session = Session(str(secrets.randbits(31)), self.jid, jid)
        error = await self.raw.send(jid, self._xml(MessageType.INITIATE, description=offer))
        assert error is None, f"initiate answered {error}: {self.raw.last_error}"
        await self.send_candidates()

    async def answer(self, payloads: tuple[PayloadType, ...]) -> None:
        """The user accepts: candidates first, then accept (google_session_ready)."""
        await self.initiated
        await self.send_candidates()
        error = await self.raw.send(self._session_peer(),
                                    self._xml(MessageType.ACCEPT, description=payloads))
        assert error is None, error

    async def hangup(self) -> None:
        self.raw.stream.send_raw(
            f"<iq type='set' to='{self._session_peer()}' id='purple-term'>"
            f"{self._xml(MessageType.TERMINATE)}</iq>")  # fire and forget, as libpurple

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self.nice.close()
        await self.raw.close()


async def start(jid: str, password: str, server: str, ca_file: object, *,
                nice_controlling: bool, set_credentials: bool = False) -> PurplePeer:
    from pathlib import Path

    raw = RawPeer(jid, password, server, Path(str(ca_file)), ignore=IGNORED)
    await raw.login()
    nice = await NicePeer.start(controlling=nice_controlling, set_credentials=set_credentials)
    return PurplePeer(raw, nice)
