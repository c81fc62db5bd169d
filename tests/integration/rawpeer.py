"""A hand-driven XMPP peer for protocol tests: a real slixmpp client logged in to the
real Prosody, sending chosen Gingle stanzas and recording what jcall sends back."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatcherId, MatchXPath

from jcall.signaling.gingle import NS_SESSION, SessionMessage, parse_session

NS_CAPS = "http://jabber.org/protocol/caps"
GOOGLE_CAPS = {"node": "http://www.google.com/xmpp/client/caps", "ver": "1.0",
               "ext": "voice-v1"}


@dataclass
class Received:
    sender: str
    message: SessionMessage


class XmppPeer:
    """A real slixmpp client of the test Prosody (STARTTLS, the test CA verified),
    logged in with a presence that shows the given caps."""

    def __init__(self, jid: str, password: str, server: str, ca_file: Path) -> None:
        self.stream = slixmpp.ClientXMPP(jid, password)
        self.stream.enable_direct_tls = False
        self.stream.enable_plaintext = False
        self.stream.ca_certs = ca_file
        host, port = server.split(":")
        self.address = (host, int(port))

    @property
    def jid(self) -> str:
        return str(self.stream.boundjid.full)

    async def log_in(self, caps: dict[str, str]) -> None:
        started = asyncio.get_running_loop().create_future()
        self.stream.add_event_handler("session_start", lambda _: started.set_result(None))
        self.stream.connect(*self.address)
        await asyncio.wait_for(started, 10)
        pres = self.stream.Presence()
        pres.xml.append(ET.Element(f"{{{NS_CAPS}}}c", caps))
        pres.send()

    async def close(self) -> None:
        self.stream.disconnect(wait=0.5)
        try:
            await asyncio.wait_for(self.stream.disconnected, 3)
        except (TimeoutError, asyncio.CancelledError):
            self.stream.abort()


class RawPeer(XmppPeer):
    def __init__(self, jid: str, password: str, server: str, ca_file: Path,
                 *, ignore: frozenset[str] = frozenset()) -> None:
        super().__init__(jid, password, server, ca_file)
        # Session types never answered, like libpurple ignoring transport-info;
        # "*" makes a silent peer.
        self.ignore = ignore
        self.last_error = ""
        self.received: asyncio.Queue[Received] = asyncio.Queue()
        self.stream.register_handler(Callback(
            "gingle", MatchXPath(f"{{jabber:client}}iq/{{{NS_SESSION}}}session"), self._on_iq))

    def _on_iq(self, iq: Any) -> None:
        if iq["type"] != "set":
            return
        msg = parse_session(iq.xml.find(f"{{{NS_SESSION}}}session"))
        self.received.put_nowait(Received(str(iq["from"]), msg))
        if "*" not in self.ignore and str(msg.type) not in self.ignore:
            iq.reply().send()

    async def login(self) -> None:
        await self.log_in(GOOGLE_CAPS)

    async def send(self, to: str, session_xml: str) -> str | None:
        """Send an iq set; returns None for a result, else the error condition."""
        iq = self.stream.Iq(stype="set", sto=to)
        iq.xml.append(ET.fromstring(session_xml))
        try:
            await iq.send(timeout=10)  # type: ignore[no-untyped-call]
        except IqError as exc:
            self.last_error = str(exc.iq["error"]["text"])
            return str(exc.iq["error"]["condition"])
        except IqTimeout:
            return "timeout"
        return None

    async def exchange(self, raw: str, iq_id: str, timeout: float = 10.0) -> ET.Element | None:
        """Send ``raw`` text as it is (a hand-made stanza slixmpp would not build) and
        return the stanza answering ``iq_id``; None when nothing came in ``timeout``."""
        answer: asyncio.Future[ET.Element] = asyncio.get_running_loop().create_future()

        def got(stanza: Any) -> None:
            if not answer.done():
                answer.set_result(stanza.xml)

        self.stream.register_handler(Callback(f"raw {iq_id}", MatcherId(iq_id), got, once=True))
        self.stream.send_raw(raw)
        try:
            return await asyncio.wait_for(answer, timeout)
        except TimeoutError:
            return None
        finally:
            self.stream.remove_handler(f"raw {iq_id}")

    async def next(self, timeout: float = 10.0, skip: tuple[str, ...] = ()) -> Received:
        while True:
            got = await asyncio.wait_for(self.received.get(), timeout)
            if got.message.type not in skip:
                return got
