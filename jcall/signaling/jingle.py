"""Standard Jingle stanzas: XEP-0166 (sessions), XEP-0167 (RTP audio) and XEP-0176
(ICE-UDP), parsed from and serialized to ``<jingle xmlns="urn:xmpp:jingle:1">``. Pure.

This is the standard dialect's codec, beside ``gingle.py`` for Google's; it knows
the XML and nothing of the session's state (``session.py``). What the peer sent is
checked as strictly as Gingle is: a malformed element raises
:class:`JingleParseError`, which is answered ``bad-request`` (XEP-0166 section 7.2:
an unknown action too). The Jingle error conditions and the stanza errors they go
with (XEP-0166 section 10) are in :data:`ERRORS`.

Interoperability facts kept here: libpurple writes ``channels="0"`` on its payload
types and others leave the attribute out; both mean one channel (XEP-0167 section
7: the default is 1).
"""

from __future__ import annotations

import hashlib
import ipaddress
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from . import model
from .attributes import integer, local, qname, required
from .gingle import (
    MAX_CREDENTIAL_CHARS,
    MAX_JID_CHARS,
    MAX_PAYLOAD_TYPE,
    MAX_SID_CHARS,
    PayloadType,
)
from .model import CandidateType, Credentials, Fault, Message

NS_JINGLE = "urn:xmpp:jingle:1"
NS_ERRORS = "urn:xmpp:jingle:errors:1"
NS_RTP = "urn:xmpp:jingle:apps:rtp:1"
NS_RTP_INFO = "urn:xmpp:jingle:apps:rtp:info:1"
NS_ICE_UDP = "urn:xmpp:jingle:transports:ice-udp:1"


class JingleParseError(ValueError):
    """The peer's ``<jingle>`` element is malformed; answered with ``bad-request``."""


class Action(StrEnum):
    """XEP-0166 section 7.2 (the actions an audio call uses, and the rest by name)."""

    CONTENT_ACCEPT = "content-accept"
    CONTENT_ADD = "content-add"
    CONTENT_MODIFY = "content-modify"
    CONTENT_REJECT = "content-reject"
    CONTENT_REMOVE = "content-remove"
    DESCRIPTION_INFO = "description-info"
    SECURITY_INFO = "security-info"
    SESSION_ACCEPT = "session-accept"
    SESSION_INFO = "session-info"
    SESSION_INITIATE = "session-initiate"
    SESSION_TERMINATE = "session-terminate"
    TRANSPORT_ACCEPT = "transport-accept"
    TRANSPORT_INFO = "transport-info"
    TRANSPORT_REJECT = "transport-reject"
    TRANSPORT_REPLACE = "transport-replace"


class Creator(StrEnum):
    INITIATOR = "initiator"
    RESPONDER = "responder"


class Senders(StrEnum):
    BOTH = "both"
    INITIATOR = "initiator"
    RESPONDER = "responder"
    NONE = "none"


class Info(StrEnum):
    """XEP-0167 section 7 informational payloads (``session-info``)."""

    ACTIVE = "active"
    HOLD = "hold"
    UNHOLD = "unhold"
    MUTE = "mute"
    UNMUTE = "unmute"
    RINGING = "ringing"


class Reason(StrEnum):
    """XEP-0166 section 7.4 reason conditions."""

    ALTERNATIVE_SESSION = "alternative-session"
    BUSY = "busy"
    CANCEL = "cancel"
    CONNECTIVITY_ERROR = "connectivity-error"
    DECLINE = "decline"
    EXPIRED = "expired"
    FAILED_APPLICATION = "failed-application"
    FAILED_TRANSPORT = "failed-transport"
    GENERAL_ERROR = "general-error"
    GONE = "gone"
    INCOMPATIBLE_PARAMETERS = "incompatible-parameters"
    MEDIA_ERROR = "media-error"
    SECURITY_ERROR = "security-error"
    SUCCESS = "success"
    TIMEOUT = "timeout"
    UNSUPPORTED_APPLICATIONS = "unsupported-applications"
    UNSUPPORTED_TRANSPORTS = "unsupported-transports"


class JingleError(StrEnum):
    """Jingle-specific error conditions (XEP-0166 section 10)."""

    OUT_OF_ORDER = "out-of-order"
    TIE_BREAK = "tie-break"
    UNKNOWN_SESSION = "unknown-session"
    UNSUPPORTED_INFO = "unsupported-info"


# Each with its stanza error condition and type (XEP-0166 sections 7.2.16, 8, 10).
ERRORS: dict[JingleError, tuple[str, str]] = {
    JingleError.OUT_OF_ORDER: ("unexpected-request", "wait"),
    JingleError.TIE_BREAK: ("conflict", "cancel"),
    JingleError.UNKNOWN_SESSION: ("item-not-found", "cancel"),
    JingleError.UNSUPPORTED_INFO: ("feature-not-implemented", "modify"),
}

CANDIDATE_TYPES = ("host", "srflx", "prflx", "relay")
E = TypeVar("E", bound=StrEnum)
MAX_COMPONENT = 256  # RFC 8445 section 5.1.2.1: component ids are 1..256


@dataclass(frozen=True)
class IceCandidate:
    """A ``<candidate>`` of XEP-0176 section 5.3."""

    component: int
    foundation: str
    generation: int
    id: str
    ip: str
    port: int
    priority: int
    protocol: str = "udp"
    type: str = "host"
    network: int = 0
    rel_addr: str | None = None
    rel_port: int | None = None


@dataclass(frozen=True)
class IceUdpTransport:
    """``<transport xmlns="urn:xmpp:jingle:transports:ice-udp:1">``: credentials (absent
    in a transport without candidates) and candidates."""

    ufrag: str | None = None
    pwd: str | None = None
    candidates: tuple[IceCandidate, ...] = ()


@dataclass(frozen=True)
class RtpDescription:
    """``<description xmlns="urn:xmpp:jingle:apps:rtp:1">`` (XEP-0167 section 5)."""

    media: str
    payloads: tuple[PayloadType, ...] = ()


@dataclass(frozen=True)
class Content:
    """A Jingle content (XEP-0166 section 7.3): what is sent, and over which transport."""

    creator: Creator
    name: str
    senders: Senders = Senders.BOTH
    description: RtpDescription | None = None
    transport: IceUdpTransport | None = None


@dataclass(frozen=True)
class InfoPayload:
    """A ``session-info`` payload; ``mute``/``unmute`` may name a content."""

    info: Info
    creator: Creator | None = None
    name: str | None = None


@dataclass(frozen=True)
class JingleReason:
    """A Jingle <reason> (XEP-0166 section 7.4): its condition and text."""

    condition: Reason
    text: str | None = None


@dataclass(frozen=True)
class JingleMessage:
    """One ``<jingle>`` element."""

    action: Action
    sid: str
    initiator: str | None = None
    responder: str | None = None
    contents: tuple[Content, ...] = ()
    reason: JingleReason | None = None
    info: tuple[InfoPayload, ...] = ()
    unknown_info: bool = False  # a session-info payload this codec does not know


# -- parsing --------------------------------------------------------------------------
def _required(elem: ET.Element, name: str) -> str:
    return required(elem, name, JingleParseError)


def _int(elem: ET.Element, name: str, low: int, high: int, default: int | None = None) -> int:
    value = integer(elem, name, JingleParseError, default)
    if not low <= value <= high:
        raise JingleParseError(f"attribute '{name}' out of range: {value}")
    return value


def _enum(kind: type[E], raw: str, what: str) -> E:
    try:
        return kind(raw)
    except ValueError:
        raise JingleParseError(f"unknown {what}: {raw[:40]!r}") from None


def _ip(raw: str) -> str:
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        raise JingleParseError(f"not an IP address: {raw[:40]!r}") from None


def parse_payload_type(elem: ET.Element) -> PayloadType:
    """XEP-0167 section 5; ``channels`` absent or "0" (libpurple) means 1."""
    channels = _int(elem, "channels", 0, 255, default=1)
    return PayloadType(id=_int(elem, "id", 0, MAX_PAYLOAD_TYPE), name=elem.get("name", ""),
                       clockrate=_int(elem, "clockrate", 0, 2**31 - 1, default=0),
                       channels=max(1, channels))


def parse_candidate(elem: ET.Element) -> IceCandidate:
    rel_addr = elem.get("rel-addr")
    rel_port = elem.get("rel-port")
    ctype = _required(elem, "type")
    if ctype not in CANDIDATE_TYPES:
        raise JingleParseError(f"unknown candidate type: {ctype[:40]!r}")
    return IceCandidate(
        component=_int(elem, "component", 1, MAX_COMPONENT),
        foundation=_required(elem, "foundation")[:MAX_CREDENTIAL_CHARS],
        generation=_int(elem, "generation", 0, 2**31 - 1),
        id=_required(elem, "id")[:MAX_CREDENTIAL_CHARS],
        ip=_ip(_required(elem, "ip")),
        port=_int(elem, "port", 1, 65535),
        priority=_int(elem, "priority", 0, 2**32 - 1),
        protocol=_required(elem, "protocol").lower(),
        type=ctype,
        network=_int(elem, "network", 0, 2**31 - 1, default=0),
        rel_addr=_ip(rel_addr) if rel_addr is not None else None,
        rel_port=_int(elem, "rel-port", 0, 65535) if rel_port is not None else None,
    )


def _bounded(elem: ET.Element, name: str, limit: int, what: str) -> str | None:
    """An optional attribute that, present, is 1 to ``limit`` characters long."""
    value = elem.get(name)
    if value is not None and not 0 < len(value) <= limit:
        raise JingleParseError(f"'{name}' is not {what}")
    return value


def _parse_transport(elem: ET.Element) -> IceUdpTransport:
    candidates = tuple(parse_candidate(c) for c in elem.findall(qname(NS_ICE_UDP, "candidate")))
    ufrag = _bounded(elem, "ufrag", MAX_CREDENTIAL_CHARS, "an ICE credential")
    pwd = _bounded(elem, "pwd", MAX_CREDENTIAL_CHARS, "an ICE credential")
    if candidates and (ufrag is None or pwd is None):
        raise JingleParseError("candidates without the transport's ufrag and pwd")
    return IceUdpTransport(ufrag=ufrag, pwd=pwd, candidates=candidates)


def _parse_content(elem: ET.Element) -> Content:
    desc = elem.find(qname(NS_RTP, "description"))
    transport = elem.find(qname(NS_ICE_UDP, "transport"))
    return Content(
        creator=_enum(Creator, _required(elem, "creator"), "creator"),
        name=_required(elem, "name"),
        senders=_enum(Senders, elem.get("senders", "both"), "senders"),
        description=RtpDescription(
            media=_required(desc, "media"),
            payloads=tuple(parse_payload_type(p)
                           for p in desc.findall(qname(NS_RTP, "payload-type"))),
        ) if desc is not None else None,
        transport=_parse_transport(transport) if transport is not None else None,
    )


def _parse_reason(elem: ET.Element) -> JingleReason:
    conditions = [c for c in elem if c.tag.startswith(f"{{{NS_JINGLE}}}")
                  and local(c.tag) != "text"]
    if not conditions:
        raise JingleParseError("<reason> without a condition")
    text = elem.find(qname(NS_JINGLE, "text"))
    return JingleReason(condition=_enum(Reason, local(conditions[0].tag), "reason"),
                        text=text.text if text is not None else None)


def _parse_info(elem: ET.Element) -> tuple[tuple[InfoPayload, ...], bool]:
    """The XEP-0167 payloads, and whether there was any other (XEP-0166 section 7.2.12:
    an unknown one is answered ``unsupported-info``)."""
    out, unknown = [], False
    for child in elem:
        if child.tag in (qname(NS_JINGLE, "content"), qname(NS_JINGLE, "reason")):
            continue
        if not child.tag.startswith(f"{{{NS_RTP_INFO}}}") or local(child.tag) not in set(Info):
            unknown = True
            continue
        creator = child.get("creator")
        out.append(InfoPayload(
            info=Info(local(child.tag)),
            creator=_enum(Creator, creator, "creator") if creator is not None else None,
            name=child.get("name")))
    return tuple(out), unknown


def parse_jingle(elem: ET.Element) -> JingleMessage:
    """Parse a ``<jingle>`` element; raises :class:`JingleParseError`."""
    if elem.tag != qname(NS_JINGLE, "jingle"):
        raise JingleParseError(f"not a Jingle element: {elem.tag[:80]}")
    sid = _required(elem, "sid")
    if not 0 < len(sid) <= MAX_SID_CHARS:
        raise JingleParseError(f"sid empty or longer than {MAX_SID_CHARS} characters")
    reason = elem.find(qname(NS_JINGLE, "reason"))
    info, unknown_info = _parse_info(elem)
    action = _enum(Action, _required(elem, "action"), "action")
    return JingleMessage(
        action=action,
        sid=sid,
        initiator=_bounded(elem, "initiator", MAX_JID_CHARS, "a JID"),
        responder=_bounded(elem, "responder", MAX_JID_CHARS, "a JID"),
        contents=tuple(_parse_content(c) for c in elem.findall(qname(NS_JINGLE, "content"))),
        reason=_parse_reason(reason) if reason is not None else None,
        info=info,
        unknown_info=unknown_info and action is Action.SESSION_INFO,
    )


# -- serializing ----------------------------------------------------------------------
def payload_type_element(pt: PayloadType) -> ET.Element:
    attrs = {"id": str(pt.id), "name": pt.name}
    if pt.clockrate > 0:
        attrs["clockrate"] = str(pt.clockrate)
    if pt.channels > 1:
        attrs["channels"] = str(pt.channels)
    return ET.Element(qname(NS_RTP, "payload-type"), attrs)


def candidate_element(c: IceCandidate) -> ET.Element:
    attrs = {"component": str(c.component), "foundation": c.foundation,
             "generation": str(c.generation), "id": c.id, "ip": c.ip,
             "network": str(c.network), "port": str(c.port), "priority": str(c.priority),
             "protocol": c.protocol, "type": c.type}
    if c.rel_addr is not None:
        attrs["rel-addr"] = c.rel_addr
    if c.rel_port is not None:
        attrs["rel-port"] = str(c.rel_port)
    return ET.Element(qname(NS_ICE_UDP, "candidate"), attrs)


def _content_element(content: Content) -> ET.Element:
    attrs = {"creator": str(content.creator), "name": content.name}
    if content.senders is not Senders.BOTH:
        attrs["senders"] = str(content.senders)
    elem = ET.Element(qname(NS_JINGLE, "content"), attrs)
    if content.description is not None:
        desc = ET.SubElement(elem, qname(NS_RTP, "description"),
                             {"media": content.description.media})
        desc.extend(payload_type_element(p) for p in content.description.payloads)
    if content.transport is not None:
        t = content.transport
        tattrs = {k: v for k, v in (("ufrag", t.ufrag), ("pwd", t.pwd)) if v is not None}
        transport = ET.SubElement(elem, qname(NS_ICE_UDP, "transport"), tattrs)
        transport.extend(candidate_element(c) for c in t.candidates)
    return elem


def jingle_element(msg: JingleMessage) -> ET.Element:
    attrs = {"action": str(msg.action), "sid": msg.sid}
    if msg.initiator is not None:
        attrs["initiator"] = msg.initiator
    if msg.responder is not None:
        attrs["responder"] = msg.responder
    root = ET.Element(qname(NS_JINGLE, "jingle"), attrs)
    root.extend(_content_element(c) for c in msg.contents)
    for payload in msg.info:
        pattrs = {k: str(v) for k, v in (("creator", payload.creator), ("name", payload.name))
                  if v is not None}
        ET.SubElement(root, qname(NS_RTP_INFO, str(payload.info)), pattrs)
    if msg.reason is not None:
        root.append(reason_element(msg.reason))
    return root


def reason_element(reason: JingleReason) -> ET.Element:
    """XEP-0166 section 7.4's ``<reason>`` (also inside XEP-0353's messages)."""
    elem = ET.Element(qname(NS_JINGLE, "reason"))
    ET.SubElement(elem, qname(NS_JINGLE, str(reason.condition)))
    if reason.text is not None:
        ET.SubElement(elem, qname(NS_JINGLE, "text")).text = reason.text
    return elem


def error_elements(error: JingleError) -> tuple[str, str, ET.Element]:
    """(stanza condition, error type, the Jingle condition element) for an error reply."""
    condition, kind = ERRORS[error]
    return condition, kind, ET.Element(qname(NS_ERRORS, str(error)))


# -- the neutral model (model.py) ------------------------------------------------------
# Each fault's stanza error (condition, type) and Jingle condition (XEP-0166 section 10).
FAULTS: dict[Fault, tuple[str, str, JingleError | None]] = {
    Fault.MALFORMED: ("bad-request", "modify", None),
    Fault.UNKNOWN_SESSION: (*ERRORS[JingleError.UNKNOWN_SESSION], JingleError.UNKNOWN_SESSION),
    Fault.OUT_OF_ORDER: (*ERRORS[JingleError.OUT_OF_ORDER], JingleError.OUT_OF_ORDER),
    Fault.TIE_BREAK: (*ERRORS[JingleError.TIE_BREAK], JingleError.TIE_BREAK),
    Fault.UNSUPPORTED: ("feature-not-implemented", "cancel", None),
    Fault.UNSUPPORTED_INFO: (*ERRORS[JingleError.UNSUPPORTED_INFO],
                             JingleError.UNSUPPORTED_INFO),
    Fault.NOT_ACCEPTABLE: ("not-acceptable", "modify", None),
}

_ACTIONS = {
    Action.SESSION_INITIATE: model.Action.INITIATE,
    Action.SESSION_ACCEPT: model.Action.ACCEPT,
    Action.SESSION_TERMINATE: model.Action.TERMINATE,
    Action.SESSION_INFO: model.Action.INFO,
    Action.TRANSPORT_INFO: model.Action.TRANSPORT_INFO,
}
_WRITTEN = {a: j for j, a in _ACTIONS.items()} | {model.Action.REJECT: Action.SESSION_TERMINATE}
MEDIA = "audio"


def _audio(msg: JingleMessage) -> Content | None:
    """The content jcall takes: the first with an audio description, else (messages
    after the initiate carry none) the first; other media are not jcall's."""
    audio = [c for c in msg.contents
             if c.description is not None and c.description.media == MEDIA]
    rest = [c for c in msg.contents if c.description is None]
    return (audio + rest)[0] if audio or rest else None


def _candidate_to_model(c: IceCandidate, t: IceUdpTransport) -> model.Candidate:
    related = (c.rel_addr, c.rel_port) if c.rel_addr is not None and c.rel_port is not None \
        else None
    return model.Candidate(
        address=c.ip, port=c.port, ufrag=t.ufrag or "", pwd=t.pwd or "",
        type=CandidateType(c.type), component=c.component, protocol=c.protocol,
        priority=c.priority, foundation=c.foundation, generation=c.generation,
        network=c.network, related=related)


def _candidate_from_model(c: model.Candidate) -> IceCandidate:
    # An id unique in the session (XEP-0176 section 5.3), stable for one address.
    cid = hashlib.sha1(f"{c.type}{c.address}{c.port}{c.component}".encode()).hexdigest()[:10]
    return IceCandidate(
        component=c.component, foundation=c.foundation or "1", generation=c.generation,
        id=cid, ip=c.address, port=c.port, priority=c.priority, protocol=c.protocol,
        type=str(c.type), network=c.network,
        rel_addr=c.related[0] if c.related is not None else None,
        rel_port=c.related[1] if c.related is not None else None)


def to_model(msg: JingleMessage) -> Message:
    """The message in the session's terms: the audio content's formats, credentials
    and candidates (on each candidate as well); actions jcall does not follow are
    :attr:`model.Action.OTHER`."""
    content = _audio(msg)
    transport = content.transport if content is not None else None
    description = content.description if content is not None else None
    reason = model.reason_named(msg.reason.condition) if msg.reason is not None else None
    info = tuple(model.Info(str(p.info)) for p in msg.info)
    return Message(
        action=_ACTIONS.get(msg.action, model.Action.OTHER), sid=msg.sid,
        initiator=msg.initiator,
        payloads=description.payloads if description is not None else None,
        has_transport=transport is not None,
        credentials=Credentials(transport.ufrag, transport.pwd)
        if transport is not None and transport.ufrag and transport.pwd else None,
        candidates=tuple(_candidate_to_model(c, transport) for c in transport.candidates)
        if transport is not None else (),
        reason=reason,
        info=info + ((model.Info.UNKNOWN,) if msg.unknown_info else ()),
        content=content.name if content is not None else None)


def from_model(msg: Message, responder: str | None = None) -> JingleMessage:
    """The message as a ``<jingle>`` element carries it: one content, created by the
    initiator, with the audio description and an ICE-UDP transport whose credentials
    are the candidates' (or the message's own). ``responder`` goes on session-accept."""
    action = _WRITTEN[msg.action]
    creds = msg.credentials or (msg.candidates[0].credentials if msg.candidates else None)
    transport = None
    if msg.has_transport or msg.candidates:
        transport = IceUdpTransport(
            ufrag=creds.ufrag if creds is not None else None,
            pwd=creds.pwd if creds is not None else None,
            candidates=tuple(_candidate_from_model(c) for c in msg.candidates))
    description = RtpDescription(MEDIA, msg.payloads) if msg.payloads is not None else None
    contents: tuple[Content, ...] = ()
    if description is not None or transport is not None:
        contents = (Content(Creator.INITIATOR, msg.content or MEDIA,
                            description=description, transport=transport),)
    reason = None
    if msg.reason is not None:
        reason = JingleReason(Reason(str(msg.reason)))
    return JingleMessage(
        action=action, sid=msg.sid,
        initiator=msg.initiator,
        responder=responder if action is Action.SESSION_ACCEPT else None,
        contents=contents, reason=reason,
        info=tuple(InfoPayload(Info(str(i))) for i in msg.info if i is not model.Info.UNKNOWN))
