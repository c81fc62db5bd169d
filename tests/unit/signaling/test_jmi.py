"""Jingle Message Initiation (jcall/signaling/jmi.py) on XEP-0353's own examples."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from jcall.signaling.jmi import (
    NS_JMI,
    Crossing,
    JmiAction,
    JmiMessage,
    JmiParseError,
    crossing,
    jmi_element,
    parse_jmi,
)
from jcall.signaling.model import Reason

SID = "ca3cf894-5325-482f-a412-a6e9f832298d"
# XEP-0353 section 3: the children of its examples' <message> stanzas.
EXAMPLES = {
    "propose": f"""<propose xmlns='urn:xmpp:jingle-message:0' id='{SID}'>
        <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose>""",
    "ringing": f"<ringing xmlns='urn:xmpp:jingle-message:0' id='{SID}'/>",
    "proceed": f"<proceed xmlns='urn:xmpp:jingle-message:0' id='{SID}'/>",
    "retract": f"""<retract xmlns='urn:xmpp:jingle-message:0' id='{SID}'>
        <reason xmlns="urn:xmpp:jingle:1"><cancel/><text>Retracted</text></reason></retract>""",
    "reject": f"""<reject xmlns='urn:xmpp:jingle-message:0' id='{SID}'>
        <reason xmlns="urn:xmpp:jingle:1"><busy/><text>Busy</text></reason></reject>""",
    "tie-break": f"""<reject xmlns='urn:xmpp:jingle-message:0' id='{SID}'>
        <reason xmlns="urn:xmpp:jingle:1"><expired/><text>Tie-Break</text></reason>
        <tie-break/></reject>""",
    "finish": f"""<finish xmlns='urn:xmpp:jingle-message:0' id='{SID}'>
        <reason xmlns="urn:xmpp:jingle:1"><success/><text>Success</text></reason></finish>""",
}


def parse(text: str) -> JmiMessage:
    return parse_jmi(ET.fromstring(text))


def test_the_xeps_examples_read_as_it_says() -> None:
    assert parse(EXAMPLES["propose"]) == JmiMessage(JmiAction.PROPOSE, SID, ("audio",))
    assert parse(EXAMPLES["ringing"]) == JmiMessage(JmiAction.RINGING, SID)
    assert parse(EXAMPLES["proceed"]) == JmiMessage(JmiAction.PROCEED, SID)
    assert parse(EXAMPLES["retract"]).reason is Reason.CANCEL
    assert parse(EXAMPLES["reject"]) == JmiMessage(JmiAction.REJECT, SID, reason=Reason.BUSY)
    assert parse(EXAMPLES["tie-break"]) == JmiMessage(JmiAction.REJECT, SID,
                                                      reason=Reason.EXPIRED, tie_break=True)
    assert parse(EXAMPLES["finish"]).reason is Reason.SUCCESS


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_what_jcall_writes_reads_back(name: str) -> None:
    msg = parse(EXAMPLES[name])
    assert parse_jmi(ET.fromstring(ET.tostring(jmi_element(msg)))) == msg


@pytest.mark.parametrize("text", [
    f"<hello xmlns='{NS_JMI}' id='x'/>",
    f"<propose xmlns='{NS_JMI}'/>",
    f"<propose xmlns='{NS_JMI}' id='{'x' * 257}'/>",
    "<propose xmlns='urn:example' id='x'/>",
])
def test_malformed_ones_are_refused(text: str) -> None:
    with pytest.raises(JmiParseError):
        parse(text)


def test_crossing_proposals_keep_the_lower_id_on_both_sides() -> None:
    """Section 4.1 (XEP-0166 section 7.2.16): both sides reach the same answer."""
    romeo, juliet = "romeo@montague.example/orchard", "juliet@capulet.example/phone"
    low, high = SID, "fecbea35-08d3-404f-9ec7-2b57c566fa74"
    assert crossing(low, romeo, high, juliet) is Crossing.OURS_STANDS
    assert crossing(high, juliet, low, romeo) is Crossing.THEIRS_STANDS
    assert crossing("same", romeo, "same", juliet) is Crossing.THEIRS_STANDS  # juliet < romeo
    assert crossing("same", juliet, "same", romeo) is Crossing.OURS_STANDS
