"""A standard Jingle peer (XEP-0166, XEP-0167, XEP-0176) with real parts: a slixmpp
client through the test Prosody for signalling and a real libnice 0.1.21 in RFC 5245
mode (``nice.py``) for ICE and media.

It writes and reads its ``<jingle>`` stanzas by hand, after the XEPs' own examples,
not with jcall's codec, so that jcall is checked against the XEPs rather than against
itself. What it does, as a client built on the XEPs would:
* advertises Jingle RTP audio over ICE-UDP in XEP-0115 hashed caps, and answers
  service discovery on its caps node;
* as caller, sends ``session-initiate`` with its ufrag and pwd and no candidates, then
  trickles them in one ``transport-info`` (XEP-0176 section 4); its content is called
  "voice", which jcall must keep;
* as callee, answers with ``session-accept`` carrying its candidates;
* feeds every candidate jcall sends (initiate, accept, transport-info) to libnice with
  the credentials of the transport they came in;
* ends with ``session-terminate`` and ``<success/>``;
* with ``jmi``, also speaks XEP-0353 as Dino and Conversations do: advertises
  ``urn:xmpp:jingle-message:0``; as caller, proposes to the callee's bare JID and
  initiates to the device that proceeds, with the proposal's id; as callee, answers a
  proposal with ``<ringing/>`` and ``<proceed/>``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from .nice import NicePeer
from .rawpeer import XmppPeer

NS_JINGLE = "urn:xmpp:jingle:1"
NS_RTP = "urn:xmpp:jingle:apps:rtp:1"
NS_ICE = "urn:xmpp:jingle:transports:ice-udp:1"
NS_JMI = "urn:xmpp:jingle-message:0"
NODE = "https://example.org/jinglepeer"
FEATURES = ("http://jabber.org/protocol/caps", "http://jabber.org/protocol/disco#info",
            NS_JINGLE, NS_RTP, "urn:xmpp:jingle:apps:rtp:audio", NS_ICE)
CONTENT = "voice"


@dataclass(frozen=True)
class Payload:
    id: int
    name: str
    clockrate: int
    channels: int = 1

    def xml(self) -> str:
        channels = f" channels='{self.channels}'" if self.channels > 1 else ""
        return (f"<payload-type id='{self.id}' name='{self.name}' "
                f"clockrate='{self.clockrate}'{channels}/>")


@dataclass
class Received:
    sender: str
    action: str
    jingle: ET.Element


@dataclass
class Session:
    sid: str
    initiator: str
    peer: str
    jcall_candidates: list[dict[str, Any]] = field(default_factory=list)


def caps_ver(features: tuple[str, ...]) -> str:
    """XEP-0115 section 5.1, for one identity and ``features`` (no forms)."""
    s = "client/pc//jinglepeer<" + "".join(f"{f}<" for f in sorted(features))
    return base64.b64encode(hashlib.sha1(s.encode()).digest()).decode()


class JinglePeer(XmppPeer):
    def __init__(self, jid: str, password: str, server: str, ca_file: Path,
                 nice: NicePeer, jmi: bool = False) -> None:
        super().__init__(jid, password, server, ca_file)
        self.nice = nice
        self.jmi = jmi
        self.takes_calls = True  # (False: a device that rings and rings)
        self.features = (*FEATURES, NS_JMI) if jmi else FEATURES
        self.stream.register_plugin("xep_0030")
        disco = self.stream.plugin["xep_0030"]
        for node in (None, f"{NODE}#{caps_ver(self.features)}"):
            disco.add_identity("client", "pc", "jinglepeer", node=node)
            for feature in self.features:
                disco.add_feature(feature, node=node)
        self.received: asyncio.Queue[Received] = asyncio.Queue()
        self.session: Session | None = None
        self.initiated: asyncio.Future[Received] = asyncio.get_running_loop().create_future()
        self.accepted: asyncio.Future[Received] = asyncio.get_running_loop().create_future()
        self.ended = asyncio.Event()
        self.stream.register_handler(Callback(
            "jingle", MatchXPath(f"{{jabber:client}}iq/{{{NS_JINGLE}}}jingle"), self._on_iq))
        self.jmi_received: list[tuple[str, str, str]] = []  # (sender, action, id)
        self.online: set[str] = set()
        self._presence = asyncio.Event()
        self.stream.add_event_handler("presence_available", self._on_presence)
        self.proceeded: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        for action in ("propose", "ringing", "proceed", "reject", "retract", "finish"):
            self.stream.register_handler(Callback(
                f"jmi {action}", MatchXPath(f"{{jabber:client}}message/{{{NS_JMI}}}{action}"),
                self._on_jmi))

    async def login(self) -> None:
        await self.log_in({"hash": "sha-1", "node": NODE, "ver": caps_ver(self.features)})

    # -- what jcall sends ---------------------------------------------------------------
    def _on_iq(self, iq: Any) -> None:
        if iq["type"] != "set":
            return
        jingle = iq.xml.find(f"{{{NS_JINGLE}}}jingle")
        got = Received(str(iq["from"]), jingle.get("action", ""), jingle)
        iq.reply().send()
        self.received.put_nowait(got)
        self._take_candidates(jingle)
        if got.action == "session-initiate" and not self.initiated.done():
            self.session = Session(jingle.get("sid", ""), jingle.get("initiator", ""),
                                   got.sender)
            self._take_candidates(jingle)  # (now that there is a session to keep them)
            self.initiated.set_result(got)
        elif got.action == "session-accept" and not self.accepted.done():
            self.accepted.set_result(got)
        elif got.action == "session-terminate":
            self.ended.set()

    def _on_presence(self, pres: Any) -> None:
        self.online.add(str(pres["from"]))
        self._presence.set()

    async def wait_online(self, jid: str, timeout: float = 10.0) -> None:
        """Until ``jid`` shows a presence (as a client's contact list shows it online:
        a message to a bare JID reaches only resources that have sent theirs)."""
        async def seen() -> None:
            while jid not in self.online:
                self._presence.clear()
                await self._presence.wait()
        await asyncio.wait_for(seen(), timeout)

    def _on_jmi(self, message: Any) -> None:
        elem = next(c for c in message.xml if c.tag.startswith(f"{{{NS_JMI}}}"))
        action, pid, sender = elem.tag.split("}")[1], elem.get("id", ""), str(message["from"])
        self.jmi_received.append((sender, action, pid))
        if action == "propose" and self.jmi:  # a device of ours rings, and takes it
            self._send_jmi(sender, "ringing", pid)
            if self.takes_calls:
                self._send_jmi(sender, "proceed", pid)
        elif action == "proceed" and not self.proceeded.done():
            self.proceeded.set_result(sender)

    def _send_jmi(self, to: str, action: str, pid: str, body: str = "") -> None:
        bare = to.split("/")[0]
        self.stream.send_raw(
            f"<message to='{bare}' type='chat'><{action} xmlns='{NS_JMI}' id='{pid}'>{body}"
            f"</{action}><store xmlns='urn:xmpp:hints'/></message>")

    async def propose(self, jid: str) -> str:
        """XEP-0353 section 3.1: the device that proceeds, which is then called."""
        pid = secrets.token_hex(6)
        self._send_jmi(jid, "propose", pid,
                       f"<description xmlns='{NS_RTP}' media='audio'/>")
        device = await asyncio.wait_for(self.proceeded, 15)
        self.session = Session(pid, self.jid, device)
        return device

    def _take_candidates(self, jingle: ET.Element) -> None:
        if self.session is None:
            return
        for transport in jingle.iter(f"{{{NS_ICE}}}transport"):
            fresh = [{"address": c.get("ip"), "port": int(c.get("port", "0")),
                      "username": transport.get("ufrag", ""),
                      "password": transport.get("pwd", ""),
                      "priority": int(c.get("priority", "0")), "type": c.get("type"),
                      "foundation": c.get("foundation"),
                      "component": int(c.get("component", "1"))}
                     for c in transport.findall(f"{{{NS_ICE}}}candidate")]
            fresh = [c for c in fresh if c not in self.session.jcall_candidates]
            if fresh:
                self.session.jcall_candidates += fresh
                self.nice.command("remote", candidates=fresh, ufrag=transport.get("ufrag", ""),
                                  pwd=transport.get("pwd", ""))

    # -- what it sends --------------------------------------------------------------------
    def _transport(self, with_candidates: bool) -> str:
        cands = "".join(
            f"<candidate component='{c['component']}' foundation='{c.get('foundation') or 1}'"
            f" generation='0' id='c{i}' ip='{c['address']}' network='0' port='{c['port']}'"
            f" priority='{c['priority']}' protocol='udp' type='{c['type']}'/>"
            for i, c in enumerate(self.nice.candidates)) if with_candidates else ""
        return (f"<transport xmlns='{NS_ICE}' ufrag='{self.nice.ufrag}' "
                f"pwd='{self.nice.pwd}'>{cands}</transport>")

    def _jingle(self, action: str, body: str, **attrs: str) -> str:
        assert self.session is not None
        extra = "".join(f" {k}='{v}'" for k, v in attrs.items())
        return (f"<jingle xmlns='{NS_JINGLE}' action='{action}' sid='{self.session.sid}' "
                f"initiator='{self.session.initiator}'{extra}>{body}</jingle>")

    def _content(self, inner: str) -> str:
        return f"<content creator='initiator' name='{CONTENT}'>{inner}</content>"

    async def send(self, jingle_xml: str) -> str | None:
        """An iq set to the session's peer; None for a result, else the condition."""
        assert self.session is not None
        iq = self.stream.Iq(stype="set", sto=self.session.peer)
        iq.xml.append(ET.fromstring(jingle_xml))
        try:
            await iq.send(timeout=10)  # type: ignore[no-untyped-call]
        except IqError as exc:
            return str(exc.iq["error"]["condition"])
        except IqTimeout:
            return "timeout"
        return None

    async def call(self, jid: str, offer: tuple[Payload, ...]) -> None:
        """session-initiate without candidates, then one transport-info with all (to
        the device that proceeded, with the proposal's id, after :meth:`propose`)."""
        if self.session is None or self.session.peer != jid:
            self.session = Session(secrets.token_hex(6), self.jid, jid)
        desc = f"<description xmlns='{NS_RTP}' media='audio'>" + \
            "".join(p.xml() for p in offer) + "</description>"
        error = await self.send(self._jingle(
            "session-initiate", self._content(desc + self._transport(False))))
        assert error is None, f"session-initiate answered {error}"
        error = await self.send(self._jingle("transport-info",
                                             self._content(self._transport(True))))
        assert error is None, f"transport-info answered {error}"

    async def answer(self, payloads: tuple[Payload, ...]) -> None:
        """session-accept with the chosen payload types and all candidates."""
        await self.initiated
        assert self.session is not None
        desc = f"<description xmlns='{NS_RTP}' media='audio'>" + \
            "".join(p.xml() for p in payloads) + "</description>"
        name = self.initiated.result().jingle.find(f"{{{NS_JINGLE}}}content")
        assert name is not None
        body = (f"<content creator='initiator' name='{name.get('name')}'>"
                f"{desc}{self._transport(True)}</content>")
        error = await self.send(self._jingle("session-accept", body, responder=self.jid))
        assert error is None, f"session-accept answered {error}"

    async def hangup(self) -> str | None:
        return await self.send(self._jingle(
            "session-terminate", "<reason><success/></reason>"))

    async def close(self) -> None:
        await self.nice.close()
        await super().close()


async def start(jid: str, password: str, server: str, ca_file: Path, *,
                controlling: bool, jmi: bool = False) -> JinglePeer:
    nice = await NicePeer.start(compatibility="rfc5245", controlling=controlling,
                                components=1)
    peer = JinglePeer(jid, password, server, ca_file, nice, jmi)
    await peer.login()
    return peer
