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

__all__ = ["ERRORS", "Candidate", "GingleParseError", "MessageType", "PayloadType", "Reason",
           "SessionMessage", "candidate_from_model", "candidate_to_model", "from_model",
           "parse_session", "session_element", "to_model"]

from . import model
from .attributes import integer, local, qname, required
from .model import Action, CandidateType, Fault, Message, PayloadType

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
class Candidate:
    """A p2p ``<candidate>`` as on the wire (libjingle 0.4 attribute set); the session
    sees it as a :class:`model.Candidate` (:func:`to_model`)."""

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


# -- the neutral model (model.py) ------------------------------------------------------
# Each fault's stanza error condition and type (RFC 6120 section 8.3.3), as libjingle
# answers: Gingle has no error namespace of its own (gingle.md part A).
ERRORS: dict[Fault, tuple[str, str]] = {
    Fault.MALFORMED: ("bad-request", "modify"),
    Fault.UNKNOWN_SESSION: ("bad-request", "modify"),
    Fault.OUT_OF_ORDER: ("not-allowed", "modify"),
    Fault.TIE_BREAK: ("conflict", "cancel"),
    Fault.UNSUPPORTED: ("feature-not-implemented", "cancel"),
    Fault.UNSUPPORTED_INFO: ("feature-not-implemented", "cancel"),
    Fault.NOT_ACCEPTABLE: ("not-acceptable", "modify"),
}

_ACTIONS = {
    MessageType.INITIATE: Action.INITIATE,
    MessageType.ACCEPT: Action.ACCEPT,
    MessageType.REJECT: Action.REJECT,
    MessageType.TERMINATE: Action.TERMINATE,
    MessageType.INFO: Action.INFO,
    MessageType.TRANSPORT_INFO: Action.TRANSPORT_INFO,
    MessageType.CANDIDATES: Action.TRANSPORT_INFO,
    MessageType.TRANSPORT_ACCEPT: Action.TRANSPORT_ACCEPT,
    MessageType.REDIRECT: Action.OTHER,
    MessageType.UPDATE: Action.OTHER,
}
_TYPES = {a: t for t, a in _ACTIONS.items() if t not in (MessageType.CANDIDATES,
                                                         MessageType.REDIRECT)}

# libjingle's reasons, read; the neutral reasons, written (gingle.md part E).
_REASONS_IN = {
    Reason.SUCCESS: model.Reason.SUCCESS,
    Reason.CALL_ENDED: model.Reason.SUCCESS,
    Reason.DECLINE: model.Reason.DECLINE,
    Reason.RECIPIENT_BUSY: model.Reason.BUSY,
    Reason.RECIPIENT_UNAVAILABLE: model.Reason.GONE,
    Reason.INCOMPATIBLE_PARAMETERS: model.Reason.INCOMPATIBLE_PARAMETERS,
}
_REASONS_OUT = {
    model.Reason.SUCCESS: Reason.SUCCESS,
    model.Reason.CANCEL: Reason.SUCCESS,
    model.Reason.DECLINE: Reason.DECLINE,
    model.Reason.BUSY: Reason.RECIPIENT_BUSY,
    model.Reason.GONE: Reason.RECIPIENT_UNAVAILABLE,
    model.Reason.INCOMPATIBLE_PARAMETERS: Reason.INCOMPATIBLE_PARAMETERS,
}

# p2p candidate names and types in RFC 8445 terms; others carry nothing jcall uses.
COMPONENTS = {"rtp": 1, "rtcp": 2}
TYPES = {"local": CandidateType.HOST, "stun": CandidateType.SRFLX,
         "relay": CandidateType.RELAY, "prflx": CandidateType.PRFLX}
_NAMES = {v: k for k, v in COMPONENTS.items()}
_TYPE_NAMES = {v: k for k, v in TYPES.items()}
# libjingle's preference for each type (port.cc), which a Google ICE peer ranks by.
PREFERENCES = {CandidateType.HOST: 1.0, CandidateType.SRFLX: 0.9,
               CandidateType.PRFLX: 0.9, CandidateType.RELAY: 0.5}


def candidate_to_model(c: Candidate) -> model.Candidate | None:
    """None for a candidate of another stream (video) or an unknown type."""
    ctype, component = TYPES.get(c.type), COMPONENTS.get(c.name)
    if ctype is None or component is None:
        return None
    return model.Candidate(
        address=c.address, port=c.port, ufrag=c.username, pwd=c.password, type=ctype,
        component=component, protocol=c.protocol,
        priority=model.priority(ctype, c.preference, component),
        generation=c.generation, network=c.network)


def candidate_from_model(c: model.Candidate) -> Candidate:
    return Candidate(
        address=c.address, port=c.port, username=c.ufrag, password=c.pwd,
        name=_NAMES.get(c.component, "rtp"), preference=PREFERENCES[c.type],
        protocol=c.protocol, generation=c.generation, type=_TYPE_NAMES[c.type],
        network=c.network)


def to_model(msg: SessionMessage) -> Message:
    """The message in the session's terms. Candidates of other streams (video) or
    unknown types are left out: jcall has no use for them."""
    cands = (candidate_to_model(c) for c in msg.candidates)
    reason = None
    if msg.reason is not None:
        try:
            reason = _REASONS_IN.get(Reason(msg.reason), model.Reason.GENERAL_ERROR)
        except ValueError:
            reason = model.Reason.GENERAL_ERROR
    return Message(
        action=_ACTIONS[msg.type], sid=msg.sid, initiator=msg.initiator,
        payloads=msg.description, has_transport=msg.has_transport,
        candidates=tuple(c for c in cands if c is not None),
        bare_candidates=msg.type is MessageType.CANDIDATES, reason=reason)


def from_model(msg: Message) -> SessionMessage:
    """The message as a ``<session>`` carries it; ``bare_candidates`` picks the
    ``candidates`` form of transport-info."""
    assert msg.initiator is not None and msg.action is not Action.OTHER
    mtype = MessageType.CANDIDATES if msg.bare_candidates else _TYPES[msg.action]
    reason = None
    if msg.reason is not None:
        reason = _REASONS_OUT.get(msg.reason, Reason.GENERAL_ERROR)
    return SessionMessage(
        type=mtype, sid=msg.sid, initiator=msg.initiator, description=msg.payloads,
        has_transport=msg.has_transport,
        candidates=tuple(candidate_from_model(c) for c in msg.candidates),
        reason=str(reason) if reason is not None else None)
