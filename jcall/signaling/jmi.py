"""Jingle Message Initiation (XEP-0353): ringing a peer with ``<message>`` stanzas before
the Jingle session exists. Pure: elements in, values out, and back; and the tie-break
between two proposals that cross.

The caller sends ``<propose>`` (with one ``<description>`` per media) to the callee's
bare JID, so every device rings; a device answers ``<ringing>``, then ``<proceed>`` or
``<reject>``, and the caller sends its ``session-initiate`` with the proposal's id as
``sid`` to the device that proceeded. ``<retract>`` takes a proposal back;
``<finish>`` says a call that started has ended (section 3).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from enum import Enum, StrEnum

from .attributes import local, qname
from .gingle import MAX_SID_CHARS
from .jingle import NS_JINGLE, NS_RTP, JingleReason, reason_element
from .jingle import Reason as JingleCondition
from .model import Reason, reason_named
from .session import initiate_stands

NS_JMI = "urn:xmpp:jingle-message:0"
NS_HINTS = "urn:xmpp:hints"


class JmiParseError(ValueError):
    """A malformed Jingle Message Initiation element: the message is ignored."""


class JmiAction(StrEnum):
    PROPOSE = "propose"
    RINGING = "ringing"
    PROCEED = "proceed"
    REJECT = "reject"
    RETRACT = "retract"
    FINISH = "finish"
    ACCEPT = "accept"  # (what another device of our own account sent: it took the call)


@dataclass(frozen=True)
class JmiMessage:
    """A XEP-0353 Jingle Message Initiation message: propose, ringing, proceed,
    reject, retract, finish or accept."""

    action: JmiAction
    id: str
    media: tuple[str, ...] = ()  # a proposal's media (one <description> each)
    reason: Reason | None = None
    tie_break: bool = False


def parse_jmi(elem: ET.Element) -> JmiMessage:
    """One ``urn:xmpp:jingle-message:0`` child of a message; raises JmiParseError."""
    if not elem.tag.startswith(f"{{{NS_JMI}}}"):
        raise JmiParseError(f"not a jingle-message element: {elem.tag[:80]}")
    try:
        action = JmiAction(local(elem.tag))
    except ValueError:
        raise JmiParseError(f"unknown jingle-message action {local(elem.tag)[:40]!r}") from None
    pid = elem.get("id", "")
    if not 0 < len(pid) <= MAX_SID_CHARS:
        raise JmiParseError("a jingle-message id must be 1 to 256 characters")
    media = tuple(d.get("media", "") for d in elem.findall(qname(NS_RTP, "description")))
    reason = None
    node = elem.find(qname(NS_JINGLE, "reason"))
    if node is not None:
        names = [local(c.tag) for c in node if local(c.tag) != "text"]
        reason = reason_named(names[0]) if names else None
    return JmiMessage(action, pid, media, reason,
                      tie_break=elem.find(qname(NS_JMI, "tie-break")) is not None)


def jmi_element(msg: JmiMessage) -> ET.Element:
    elem = ET.Element(qname(NS_JMI, str(msg.action)), {"id": msg.id})
    for media in msg.media:
        ET.SubElement(elem, qname(NS_RTP, "description"), {"media": media})
    if msg.reason is not None:
        elem.append(reason_element(JingleReason(JingleCondition(str(msg.reason)))))
    if msg.tie_break:
        ET.SubElement(elem, qname(NS_JMI, "tie-break"))
    return elem


def store_hint() -> ET.Element:
    """XEP-0334's <store/>, which every message of XEP-0353 carries (section 3)."""
    return ET.Element(qname(NS_HINTS, "store"))


class Crossing(Enum):
    """What to do with a proposal from the peer we are proposing to (section 4.1)."""

    OURS_STANDS = "ours-stands"  # reject theirs (tie-break, expired); ours goes on
    THEIRS_STANDS = "theirs-stands"  # retract ours (tie-break, expired); answer theirs


def crossing(ours: str, our_jid: str, theirs: str, their_jid: str) -> Crossing:
    """The lower id in "i;octet" order stands, for equal ids the lower JID: the rule
    of XEP-0166 section 7.2.16, which XEP-0353 section 4.1 follows."""
    if initiate_stands(ours, our_jid, theirs, their_jid):
        return Crossing.OURS_STANDS
    return Crossing.THEIRS_STANDS
