"""The standard Jingle codec (jcall/signaling/jingle.py) on the XEPs' own examples
(XEP-0166, XEP-0167, XEP-0176), libpurple's forms, malformed input, and a round-trip
property over generated messages."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jcall.signaling.gingle import PayloadType
from jcall.signaling.jingle import (
    ERRORS,
    Action,
    Content,
    Creator,
    IceCandidate,
    IceUdpTransport,
    Info,
    InfoPayload,
    JingleError,
    JingleMessage,
    JingleParseError,
    JingleReason,
    Reason,
    RtpDescription,
    Senders,
    error_elements,
    jingle_element,
    parse_jingle,
)

ROMEO = "romeo@montague.example/dr4hcr0st3lup4c"
JULIET = "juliet@capulet.example/yn0cl4bnw0yr3vym"

# XEP-0176 example "Initiation" (with the published ice-udp:1 namespace).
INITIATE = f"""
<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' initiator='{ROMEO}'
        sid='a73sjjvkla37jfea'>
  <content creator='initiator' name='this-is-the-audio-content'>
    <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>
      <payload-type id='96' name='speex' clockrate='16000'/>
      <payload-type id='97' name='speex' clockrate='8000'/>
      <payload-type id='18' name='G729'/>
      <payload-type id='0' name='PCMU' />
      <payload-type id='103' name='L16' clockrate='16000' channels='2'/>
      <payload-type id='98' name='x-ISAC' clockrate='8000'/>
    </description>
    <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'
               pwd='asd88fgpdd777uzjYhagZg' ufrag='8hhy'>
      <candidate component='1' foundation='1' generation='0' id='el0747fg11'
                 ip='10.0.1.1' network='1' port='8998' priority='2130706431'
                 protocol='udp' type='host'/>
      <candidate component='1' foundation='2' generation='0' id='y3s2b30v3r'
                 ip='192.0.2.3' network='1' port='45664' priority='1694498815'
                 protocol='udp' rel-addr='10.0.1.1' rel-port='8998' type='srflx'/>
    </transport>
  </content>
</jingle>"""

# XEP-0176 example "Responder accepts the session request".
ACCEPT = f"""
<jingle xmlns='urn:xmpp:jingle:1' action='session-accept' initiator='{ROMEO}'
        responder='{JULIET}' sid='a73sjjvkla37jfea'>
  <content creator='initiator' name='this-is-the-audio-content'>
    <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>
      <payload-type id='97' name='speex' clockrate='8000'/>
      <payload-type id='18' name='G729'/>
    </description>
    <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'
               pwd='YH75Fviy6338Vbrhrlp8Yh' ufrag='9uB6'>
      <candidate component='1' foundation='1' generation='0' id='or2ii2syr1'
                 ip='192.0.2.1' network='0' port='3478' priority='2130706431'
                 protocol='udp' type='host'/>
    </transport>
  </content>
</jingle>"""

# XEP-0176 "transport-info" (trickle), XEP-0167 session-info and XEP-0166 terminate.
TRANSPORT_INFO = f"""
<jingle xmlns='urn:xmpp:jingle:1' action='transport-info' initiator='{ROMEO}'
        sid='a73sjjvkla37jfea'>
  <content creator='initiator' name='this-is-the-audio-content'>
    <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'
               pwd='asd88fgpdd777uzjYhagZg' ufrag='8hhy'>
      <candidate component='1' foundation='3' generation='0' id='a9j3mnbtu1'
                 ip='10.0.1.1' network='1' port='9001' priority='2130706431'
                 protocol='udp' type='host'/>
    </transport>
  </content>
</jingle>"""
RINGING = """<jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='a73sjjvkla37jfea'>
  <ringing xmlns='urn:xmpp:jingle:apps:rtp:info:1'/></jingle>"""
MUTE = """<jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='a73sjjvkla37jfea'>
  <mute xmlns='urn:xmpp:jingle:apps:rtp:info:1' creator='responder' name='voice'/></jingle>"""
TERMINATE = """<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate'
        sid='a73sjjvkla37jfea'>
  <reason><success/><text>Sorry, gotta go!</text></reason></jingle>"""
# What libpurple 2.14 sends (its jingle/rtp.c): channels='0', no media on content.
LIBPURPLE = f"""
<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' initiator='{ROMEO}' sid='4da'>
  <content creator='initiator' name='audio-session' senders='both'>
    <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>
      <payload-type id='0' name='PCMU' clockrate='8000' channels='0'/>
      <payload-type id='10' name='L16' clockrate='44100' channels='2'/>
    </description>
    <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'/>
  </content>
</jingle>"""


def parse(text: str) -> JingleMessage:
    return parse_jingle(ET.fromstring(text))


def round_trip(msg: JingleMessage) -> JingleMessage:
    return parse_jingle(ET.fromstring(ET.tostring(jingle_element(msg))))


@pytest.mark.parametrize("text", [INITIATE, ACCEPT, TRANSPORT_INFO, RINGING, MUTE, TERMINATE,
                                  LIBPURPLE])
def test_the_xeps_examples_round_trip(text: str) -> None:
    msg = parse(text)
    assert round_trip(msg) == msg


def test_the_initiate_example_reads_as_the_xep_says() -> None:
    msg = parse(INITIATE)
    assert (msg.action, msg.sid, msg.initiator) == (Action.SESSION_INITIATE,
                                                    "a73sjjvkla37jfea", ROMEO)
    [content] = msg.contents
    assert (content.creator, content.name, content.senders) == (
        Creator.INITIATOR, "this-is-the-audio-content", Senders.BOTH)
    assert content.description is not None and content.description.media == "audio"
    assert content.description.payloads[3] == PayloadType(0, "PCMU", 0)
    assert content.description.payloads[4] == PayloadType(103, "L16", 16000, channels=2)
    t = content.transport
    assert t is not None and (t.ufrag, t.pwd) == ("8hhy", "asd88fgpdd777uzjYhagZg")
    assert t.candidates[1] == IceCandidate(
        component=1, foundation="2", generation=0, id="y3s2b30v3r", ip="192.0.2.3",
        port=45664, priority=1694498815, protocol="udp", type="srflx", network=1,
        rel_addr="10.0.1.1", rel_port=8998)


def test_session_info_and_reasons() -> None:
    assert parse(RINGING).info == (InfoPayload(Info.RINGING),)
    assert parse(MUTE).info == (InfoPayload(Info.MUTE, Creator.RESPONDER, "voice"),)
    assert parse(TERMINATE).reason == JingleReason(Reason.SUCCESS, "Sorry, gotta go!")


def test_libpurples_channels_zero_and_absent_channels_mean_mono() -> None:
    [content] = parse(LIBPURPLE).contents
    assert content.description is not None
    pcmu, l16 = content.description.payloads
    assert pcmu == PayloadType(0, "PCMU", 8000, channels=1)
    assert l16 == PayloadType(10, "L16", 44100, channels=2)
    assert content.transport == IceUdpTransport()  # candidates come by transport-info


@pytest.mark.parametrize(("mutation", "message"), [
    (("action='session-initiate'", "action='session-hello'"), "unknown action"),
    (("sid='a73sjjvkla37jfea'", ""), "'sid'"),
    (("sid='a73sjjvkla37jfea'", f"sid='{'s' * 257}'"), "longer than 256"),
    (("creator='initiator'", "creator='nobody'"), "unknown creator"),
    (("media='audio'", ""), "'media'"),
    (("id='96'", "id='128'"), "out of range"),
    (("port='8998'", "port='0'"), "out of range"),
    (("ip='10.0.1.1'", "ip='ten'"), "not an IP address"),
    (("type='srflx'", "type='stun'"), "candidate type"),
    (("component='1'", "component='0'"), "out of range"),
    ((" pwd='asd88fgpdd777uzjYhagZg'", ""), "ufrag and pwd"),
    (("priority='2130706431'", "priority='-5'"), "out of range"),
])
def test_malformed_elements_are_refused_with_the_reason(mutation: tuple[str, str],
                                                        message: str) -> None:
    with pytest.raises(JingleParseError, match=message):
        parse(INITIATE.replace(*mutation, 1))


def test_a_gingle_element_is_not_jingle() -> None:
    with pytest.raises(JingleParseError, match="not a Jingle element"):
        parse("<session xmlns='http://www.google.com/session' type='initiate'/>")


def test_the_jingle_errors_carry_the_xeps_stanza_conditions() -> None:
    assert ERRORS[JingleError.UNKNOWN_SESSION] == ("item-not-found", "cancel")
    assert ERRORS[JingleError.OUT_OF_ORDER] == ("unexpected-request", "wait")
    assert ERRORS[JingleError.TIE_BREAK] == ("conflict", "cancel")
    assert ERRORS[JingleError.UNSUPPORTED_INFO] == ("feature-not-implemented", "modify")
    condition, kind, elem = error_elements(JingleError.TIE_BREAK)
    assert (condition, kind, elem.tag) == ("conflict", "cancel",
                                           "{urn:xmpp:jingle:errors:1}tie-break")


names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                min_size=1, max_size=20)
candidates = st.builds(
    IceCandidate, component=st.integers(1, 256), foundation=names,
    generation=st.integers(0, 9), id=names,
    ip=st.sampled_from(["192.0.2.1", "10.0.0.7", "2001:db8::1"]),
    port=st.integers(1, 65535), priority=st.integers(0, 2**32 - 1),
    protocol=st.just("udp"), type=st.sampled_from(["host", "srflx", "prflx", "relay"]),
    network=st.integers(0, 9),
    rel_addr=st.none() | st.just("10.0.0.1"), rel_port=st.none() | st.integers(0, 65535))
payloads = st.builds(PayloadType, id=st.integers(0, 127), name=names,
                     clockrate=st.integers(0, 96000), channels=st.integers(1, 2))
contents = st.builds(
    Content, creator=st.sampled_from(Creator), name=names, senders=st.sampled_from(Senders),
    description=st.none() | st.builds(RtpDescription, media=st.just("audio"),
                                      payloads=st.tuples(payloads, payloads)),
    transport=st.none() | st.builds(IceUdpTransport, ufrag=st.just("uf12"),
                                    pwd=st.just("p" * 22),
                                    candidates=st.lists(candidates, max_size=3).map(tuple)))
messages = st.builds(
    JingleMessage, action=st.sampled_from(Action), sid=names,
    initiator=st.none() | st.just(ROMEO), responder=st.none() | st.just(JULIET),
    contents=st.lists(contents, max_size=2).map(tuple),
    reason=st.none() | st.builds(JingleReason, st.sampled_from(Reason), st.none() | names),
    info=st.lists(st.builds(InfoPayload, st.sampled_from(Info)), max_size=2).map(tuple))


@given(messages)
def test_every_message_round_trips(msg: JingleMessage) -> None:
    assert round_trip(msg) == msg
