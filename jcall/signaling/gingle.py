"""The Google session protocol ("Gingle") on the wire: ``<session>`` XML <-> values.

Pure: ElementTree elements in, frozen dataclasses out, and back. Facts follow
``shared/reference/gingle.md`` part E (libjingle 0.4 ``sessionmessages``, libpurple's
``jabber/google``). Parsing is strict about what a peer must send and lenient about
where it sends it: candidates are read both from a p2p ``<transport>`` wrapper
(``transport-info``) and as bare ``<candidate>`` children (``candidates``), whatever
the message type says (part A.2).
"""

from __future__ import annotations

import ipaddress
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from enum import StrEnum

from .attributes import integer, local, qname, required

NS_SESSION = "http://www.google.com/session"
NS_PHONE = "http://www.google.com/session/phone"
NS_P2P = "http://www.google.com/transport/p2p"

# Payload-type id is a 7-bit RTP payload type (RFC 3550 section 5.1).
MAX_PAYLOAD_TYPE = 127
# A candidate's username/password: libjingle's are 16 characters, an RFC ICE ufrag or
# pwd at most 256 (RFC 8839 section 5.4); anything longer is not a credential.
MAX_CREDENTIAL_CHARS = 256
# A session id: libjingle's are decimal numbers of up to 20 digits; one this long is
# no id of a real client, and every stanza of the session would carry it.
MAX_SID_CHARS = 256
# A JID is at most 3071 bytes (RFC 7622 section 3.1).
MAX_JID_CHARS = 3071


class GingleParseError(ValueError):
    """The peer's ``<session>`` element is malformed; answered with ``bad-request``."""


class MessageType(StrEnum):
    INITIATE = "initiate"
    ACCEPT = "accept"
    REJECT = "reject"
    TERMINATE = "terminate"
    INFO = "info"
    TRANSPORT_INFO = "transport-info"
    TRANSPORT_ACCEPT = "transport-accept"
    CANDIDATES = "candidates"
    REDIRECT = "redirect"
    UPDATE = "update"


class Reason(StrEnum):
    """Reasons sent as a child element of terminate/reject (gingle.md part E)."""

    SUCCESS = "success"
    DECLINE = "decline"
    INCOMPATIBLE_PARAMETERS = "incompatible-parameters"
    GENERAL_ERROR = "general-error"
    CALL_ENDED = "call-ended"
    RECIPIENT_UNAVAILABLE = "recipient-unavailable"
    RECIPIENT_BUSY = "recipient-busy"
    PROTOCOL_ERROR = "protocol-error"
    INTERNAL_SERVER_ERROR = "internal-server-error"
    UNKNOWN_ERROR = "unknown-error"


@dataclass(frozen=True)
class PayloadType:
    """A ``<payload-type>`` of the phone description."""

    id: int
    name: str = ""
    clockrate: int = 0
    bitrate: int = 0
    channels: int = 1


@dataclass(frozen=True)
class Candidate:
    """A p2p ``<candidate>`` (libjingle 0.4 attribute set)."""

    address: str
    port: int
    username: str
    password: str = ""
    name: str = "rtp"
    preference: float = 1.0
    protocol: str = "udp"
    generation: int = 0
    type: str = "local"
    network: int = 0


@dataclass(frozen=True)
class SessionMessage:
    """One ``<session xmlns="http://www.google.com/session">`` element.

    ``description`` is None when the message carries no ``<description>``; an empty
    tuple means an empty description (an old Google Talk client, part E).
    """

    type: MessageType
    sid: str
    initiator: str
    description: tuple[PayloadType, ...] | None = None
    has_transport: bool = False
    candidates: tuple[Candidate, ...] = field(default=())
    reason: str | None = None


def _int_attr(elem: ET.Element, name: str, default: int | None = None) -> int:
    return integer(elem, name, GingleParseError, default)


def _required(elem: ET.Element, name: str) -> str:
    return required(elem, name, GingleParseError)


def parse_payload_type(elem: ET.Element) -> PayloadType:
    pt = PayloadType(
        id=_int_attr(elem, "id"),
        name=elem.get("name", ""),
        clockrate=_int_attr(elem, "clockrate", 0),
        bitrate=_int_attr(elem, "bitrate", 0),
        channels=_int_attr(elem, "channels", 1),
    )
    if not 0 <= pt.id <= MAX_PAYLOAD_TYPE:
        raise GingleParseError(f"payload-type id out of range: {pt.id}")
    if pt.clockrate < 0 or pt.bitrate < 0 or pt.channels < 1:
        raise GingleParseError(f"payload-type {pt.id} has a negative rate or no channels")
    return pt


def parse_candidate(elem: ET.Element) -> Candidate:
    """A p2p candidate; required: name, address, port, username, protocol, generation."""
    address = _required(elem, "address")
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise GingleParseError(f"candidate address is not an IP address: {address!r}") from None
    port = _int_attr(elem, "port")
    if not 0 < port < 65536:
        raise GingleParseError(f"candidate port out of range: {port}")
    raw_pref = elem.get("preference", "1")
    try:
        preference = float(raw_pref)
    except ValueError:
        raise GingleParseError(f"candidate preference is not a number: {raw_pref!r}") from None
    if not math.isfinite(preference) or not 0.0 <= preference <= 1.0:
        raise GingleParseError(f"candidate preference out of range: {raw_pref!r}")
    generation = _int_attr(elem, "generation")
    if generation < 0:
        raise GingleParseError(f"candidate generation is negative: {generation}")
    username, password = _required(elem, "username"), elem.get("password", "")
    if max(len(username), len(password)) > MAX_CREDENTIAL_CHARS:
        raise GingleParseError(f"candidate username or password longer than "
                               f"{MAX_CREDENTIAL_CHARS} characters")
    return Candidate(
        name=_required(elem, "name"),
        address=address,
        port=port,
        username=username,
        password=password,
        preference=preference,
        protocol=_required(elem, "protocol"),
        generation=generation,
        type=elem.get("type", "local"),
        network=_int_attr(elem, "network", 0),
    )


def _parse_reason(session: ET.Element) -> str | None:
    for child in session:
        ns, _, tag = child.tag[1:].partition("}") if child.tag.startswith("{") else ("", "", "")
        if ns != NS_SESSION or tag in ("description", "candidate", "transport"):
            continue
        if tag == "reason":  # Jingle-style <reason><success/></reason>, seen in hybrids
            inner = [local(c.tag) for c in child if local(c.tag) != "text"]
            return inner[0] if inner else None
        return tag
    return None


def parse_session(session: ET.Element) -> SessionMessage:
    """Parse a ``<session>`` element; raises :class:`GingleParseError` when malformed."""
    if session.tag != qname(NS_SESSION, "session"):
        raise GingleParseError(f"not a Google session element: {session.tag}")
    raw_type = _required(session, "type")
    try:
        mtype = MessageType(raw_type)
    except ValueError:
        raise GingleParseError(f"unknown session type: {raw_type!r}") from None
    sid = _required(session, "id")
    initiator = _required(session, "initiator")
    if not sid or not initiator:
        raise GingleParseError("session id and initiator must not be empty")
    if len(sid) > MAX_SID_CHARS:
        raise GingleParseError(f"session id longer than {MAX_SID_CHARS} characters")
    if len(initiator) > MAX_JID_CHARS:
        raise GingleParseError(f"initiator longer than {MAX_JID_CHARS} characters")

    description: tuple[PayloadType, ...] | None = None
    desc = session.find(qname(NS_PHONE, "description"))
    if desc is not None:
        # payload-type children appear with and without their own xmlns (part B).
        pts = [c for c in desc if local(c.tag) == "payload-type"]
        description = tuple(parse_payload_type(p) for p in pts)

    transports = session.findall(qname(NS_P2P, "transport"))
    wrapped = [c for t in transports for c in t.findall(qname(NS_P2P, "candidate"))]
    candidates = [parse_candidate(c) for c in wrapped]
    candidates += [parse_candidate(c) for c in session.findall(qname(NS_SESSION, "candidate"))]

    ends = mtype in (MessageType.TERMINATE, MessageType.REJECT)
    reason = _parse_reason(session) if ends else None
    return SessionMessage(
        type=mtype,
        sid=sid,
        initiator=initiator,
        description=description,
        has_transport=bool(transports),
        candidates=tuple(candidates),
        reason=reason,
    )


def _fmt_pref(value: float) -> str:
    # libjingle writes "1", "0.9", "0.5": the shortest decimal that round-trips.
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def candidate_element(cand: Candidate, ns: str) -> ET.Element:
    return ET.Element(qname(ns, "candidate"), {
        "name": cand.name,
        "address": cand.address,
        "port": str(cand.port),
        "preference": _fmt_pref(cand.preference),
        "username": cand.username,
        "protocol": cand.protocol,
        "generation": str(cand.generation),
        "password": cand.password,
        "type": cand.type,
        "network": str(cand.network),
    })


def payload_type_element(pt: PayloadType) -> ET.Element:
    attrs = {"id": str(pt.id), "name": pt.name}
    if pt.clockrate > 0:
        attrs["clockrate"] = str(pt.clockrate)
    if pt.bitrate > 0:
        attrs["bitrate"] = str(pt.bitrate)
    if pt.channels > 1:
        attrs["channels"] = str(pt.channels)
    return ET.Element(qname(NS_PHONE, "payload-type"), attrs)


def session_element(msg: SessionMessage) -> ET.Element:
    """Serialize: candidates go in a p2p ``<transport>`` for ``transport-info`` and as
    bare session-namespace children for ``candidates`` (the compatibility form)."""
    root = ET.Element(qname(NS_SESSION, "session"),
                      {"type": str(msg.type), "id": msg.sid, "initiator": msg.initiator})
    if msg.description is not None:
        desc = ET.SubElement(root, qname(NS_PHONE, "description"))
        desc.extend(payload_type_element(pt) for pt in msg.description)
    if msg.type is MessageType.CANDIDATES:
        root.extend(candidate_element(c, NS_SESSION) for c in msg.candidates)
    elif msg.has_transport or msg.candidates:
        transport = ET.SubElement(root, qname(NS_P2P, "transport"))
        transport.extend(candidate_element(c, NS_P2P) for c in msg.candidates)
    if msg.reason is not None:
        ET.SubElement(root, qname(NS_SESSION, msg.reason))
    return root
