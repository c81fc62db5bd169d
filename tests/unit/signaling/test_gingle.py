"""Gingle <session> parse/serialize (gingle.md parts B and E)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jcall.signaling.gingle import (
    NS_P2P,
    NS_SESSION,
    Candidate,
    GingleParseError,
    MessageType,
    PayloadType,
    SessionMessage,
    parse_session,
    session_element,
)

SAMPLE_INITIATE = """<session xmlns="http://www.google.com/session" type="initiate" id="2398276180"
 initiator="alice@example.com/callA"><description xmlns="http://www.google.com/session/phone">
<payload-type xmlns="http://www.google.com/session/phone" id="102" name="plain" clockrate="44100"/>
</description><transport xmlns="http://www.google.com/transport/p2p"/></session>"""

SAMPLE_TRANSPORT_INFO = """<session xmlns="http://www.google.com/session" type="transport-info"
 id="2398276180" initiator="alice@example.com/callA"><transport
 xmlns="http://www.google.com/transport/p2p"><candidate name="rtp" address="119.1.2.3" port="3773"
 preference="1" username="uloaCAVUNxLbDt4w" protocol="udp" generation="0"
 password="yewpj2tpBCTP9C5u" type="local" network="0"/></transport></session>"""

# libpurple sends one candidate per iq, type="candidates", bare <candidate> children.
PURPLE_CANDIDATES = """<session xmlns="http://www.google.com/session" type="candidates"
 id="1234" initiator="bob@example.com/pidgin"><candidate address="192.0.2.7" port="50000"
 name="rtp" username="8LmJ0ZbyWd5wTbQD" password="KNnFHZz3rC7h8Mfm" preference="1"
 protocol="udp" type="local" network="0" generation="0"/></session>"""


def parse(text: str) -> SessionMessage:
    return parse_session(ET.fromstring(text))


def test_sample_initiate() -> None:
    msg = parse(SAMPLE_INITIATE)
    assert msg.type is MessageType.INITIATE
    assert (msg.sid, msg.initiator) == ("2398276180", "alice@example.com/callA")
    assert msg.description == (PayloadType(id=102, name="plain", clockrate=44100),)
    assert msg.has_transport and msg.candidates == ()


def test_sample_transport_info() -> None:
    msg = parse(SAMPLE_TRANSPORT_INFO)
    assert msg.candidates == (Candidate(
        address="119.1.2.3", port=3773, username="uloaCAVUNxLbDt4w",
        password="yewpj2tpBCTP9C5u", preference=1.0, type="local", network=0),)


def test_purple_candidates() -> None:
    msg = parse(PURPLE_CANDIDATES)
    assert msg.type is MessageType.CANDIDATES and not msg.has_transport
    assert [c.address for c in msg.candidates] == ["192.0.2.7"]


def test_candidates_wrapped_in_transport_are_read_in_any_message() -> None:
    text = SAMPLE_TRANSPORT_INFO.replace('type="transport-info"', 'type="candidates"')
    assert len(parse(text).candidates) == 1


def test_empty_description_is_kept_apart_from_none() -> None:
    text = SAMPLE_INITIATE.replace(
        '<payload-type xmlns="http://www.google.com/session/phone" id="102" name="plain" '
        'clockrate="44100"/>', "")
    assert parse(text).description == ()
    assert parse(SAMPLE_TRANSPORT_INFO).description is None


def test_reason_child_is_read() -> None:
    text = ('<session xmlns="http://www.google.com/session" type="terminate" id="1" '
            'initiator="a@b/c"><call-ended/></session>')
    assert parse(text).reason == "call-ended"
    jingle_style = text.replace("<call-ended/>", "<reason><decline/></reason>")
    assert parse(jingle_style).reason == "decline"


@pytest.mark.parametrize("mutation, message", [
    (('type="initiate"', 'type="hello"'), "unknown session type"),
    ((' id="2398276180"', ""), "lacks required attribute 'id'"),
    ((' initiator="alice@example.com/callA"', ""), "lacks required attribute 'initiator'"),
    (('id="102"', 'id="300"'), "payload-type id out of range"),
    (('id="102"', 'id="x"'), "not an integer"),
    (('clockrate="44100"', 'clockrate="-1"'), "negative rate"),
    (('id="2398276180"', f'id="{"7" * 257}"'), "session id longer than 256"),
    (('initiator="alice@example.com/callA"', f'initiator="a@b/{"c" * 3068}"'),
     "initiator longer than 3071"),
])
def test_malformed_initiate(mutation: tuple[str, str], message: str) -> None:
    with pytest.raises(GingleParseError, match=message):
        parse(SAMPLE_INITIATE.replace(*mutation))


@pytest.mark.parametrize("mutation, message", [
    (('address="119.1.2.3"', 'address="not-an-ip"'), "not an IP address"),
    (('port="3773"', 'port="0"'), "port out of range"),
    (('port="3773"', 'port="70000"'), "port out of range"),
    ((' username="uloaCAVUNxLbDt4w"', ""), "'username'"),
    ((' generation="0"', ""), "'generation'"),
    (('preference="1"', 'preference="1.5"'), "preference out of range"),
    (('preference="1"', 'preference="nan"'), "preference out of range"),
    (('preference="1"', 'preference="high"'), "not a number"),
])
def test_malformed_candidate(mutation: tuple[str, str], message: str) -> None:
    with pytest.raises(GingleParseError, match=message):
        parse(SAMPLE_TRANSPORT_INFO.replace(*mutation))


def test_wrong_element() -> None:
    with pytest.raises(GingleParseError, match="not a Google session"):
        parse('<jingle xmlns="urn:xmpp:jingle:1" action="session-initiate"/>')


def test_serialized_candidates_take_the_dialects_form() -> None:
    cand = Candidate(address="127.0.0.1", port=4000, username="abcd", preference=0.9,
                     type="stun")
    info = session_element(SessionMessage(MessageType.TRANSPORT_INFO, "1", "a@b/c",
                                          candidates=(cand,)))
    assert info.find(f"{{{NS_P2P}}}transport/{{{NS_P2P}}}candidate") is not None
    compat = session_element(SessionMessage(MessageType.CANDIDATES, "1", "a@b/c",
                                            candidates=(cand,)))
    bare = compat.find(f"{{{NS_SESSION}}}candidate")
    assert bare is not None and bare.get("preference") == "0.9"
    assert compat.find(f"{{{NS_P2P}}}transport") is None


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/",
                min_size=1, max_size=16)
candidates = st.builds(
    Candidate,
    address=st.ip_addresses(v=4).map(str),
    port=st.integers(1, 65535),
    username=names,
    password=names,
    preference=st.sampled_from([1.0, 0.9, 0.5, 0.25]),
    generation=st.integers(0, 3),
    type=st.sampled_from(["local", "stun", "relay"]),
    network=st.integers(0, 7),
)
payloads = st.builds(PayloadType, id=st.integers(0, 127), name=names,
                     clockrate=st.sampled_from([0, 8000, 16000, 44100, 48000]),
                     bitrate=st.sampled_from([0, 64000]), channels=st.integers(1, 2))
messages = st.builds(
    SessionMessage,
    type=st.sampled_from([MessageType.INITIATE, MessageType.TRANSPORT_INFO,
                          MessageType.CANDIDATES, MessageType.ACCEPT]),
    sid=st.integers(0, 2**32 - 1).map(str),
    initiator=st.just("alice@example.com/callA"),
    description=st.none() | st.lists(payloads, max_size=4).map(tuple),
    candidates=st.lists(candidates, max_size=3).map(tuple),
)


@given(messages)
def test_round_trip(msg: SessionMessage) -> None:
    wire = ET.tostring(session_element(msg))
    back = parse_session(ET.fromstring(wire))
    expected_transport = msg.type is not MessageType.CANDIDATES and (
        msg.has_transport or bool(msg.candidates))
    assert back == SessionMessage(msg.type, msg.sid, msg.initiator, msg.description,
                                  expected_transport, msg.candidates)


def test_credentials_longer_than_any_ice_credential_are_refused() -> None:
    long = "u" * 257  # an RFC ICE ufrag/pwd is at most 256 characters
    with pytest.raises(GingleParseError, match="longer than 256"):
        parse(SAMPLE_TRANSPORT_INFO.replace('username="uloaCAVUNxLbDt4w"',
                                            f'username="{long}"'))
    with pytest.raises(GingleParseError, match="longer than 256"):
        parse(SAMPLE_TRANSPORT_INFO.replace('password="yewpj2tpBCTP9C5u"',
                                            f'password="{long}"'))
