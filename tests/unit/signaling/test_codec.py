"""Both dialects to and from the neutral model (gingle.py, jingle.py, codec.py): the
XEPs' and libjingle's own examples read as the session needs them, what jcall writes
reads back the same, and refusals carry each dialect's stanza errors."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jcall.errors import RemoteProtocolError
from jcall.signaling.codec import CODECS, GINGLE, JINGLE
from jcall.signaling.model import (
    Action,
    Candidate,
    CandidateType,
    Credentials,
    Dialect,
    Fault,
    Info,
    Message,
    PayloadType,
    Reason,
)

from .test_jingle import INITIATE, LIBPURPLE, MUTE, RINGING, TERMINATE

ME = "juliet@capulet.example/yn0cl4bnw0yr3vym"
GINGLE_CANDIDATES = """
<session xmlns='http://www.google.com/session' type='candidates' id='2398276180'
         initiator='alice@example.com/call'>
  <candidate name='rtp' address='192.168.1.5' port='3773' preference='1' username='u1'
             protocol='udp' generation='0' password='' type='local' network='0'/>
  <candidate name='rtcp' address='192.168.1.5' port='3774' preference='1' username='u1'
             protocol='udp' generation='0' password='' type='local' network='0'/>
  <candidate name='video_rtp' address='192.168.1.5' port='3775' preference='1'
             username='u1' protocol='udp' generation='0' password='' type='local'/>
  <candidate name='rtp' address='203.0.113.9' port='3776' preference='0.9' username='u2'
             protocol='udp' generation='0' password='' type='stun' network='0'/>
</session>"""


def test_the_jingle_initiate_example_reads_as_the_session_needs_it() -> None:
    msg = JINGLE.parse(ET.fromstring(INITIATE))
    assert (msg.action, msg.sid, msg.content) == (Action.INITIATE, "a73sjjvkla37jfea",
                                                  "this-is-the-audio-content")
    assert msg.credentials == Credentials("8hhy", "asd88fgpdd777uzjYhagZg")
    assert msg.payloads is not None and msg.payloads[3] == PayloadType(0, "PCMU", 0)
    host, srflx = msg.candidates
    assert (host.address, host.port, host.type, host.priority, host.ufrag) == (
        "10.0.1.1", 8998, CandidateType.HOST, 2130706431, "8hhy")
    assert srflx.type is CandidateType.SRFLX and srflx.related == ("10.0.1.1", 8998)


def test_libpurples_initiate_has_a_transport_without_credentials_yet() -> None:
    msg = JINGLE.parse(ET.fromstring(LIBPURPLE))
    assert msg.has_transport and msg.credentials is None and msg.candidates == ()
    assert msg.payloads == (PayloadType(0, "PCMU", 8000), PayloadType(10, "L16", 44100, 0, 2))


def test_jingle_session_info_and_terminate() -> None:
    assert JINGLE.parse(ET.fromstring(RINGING)).info == (Info.RINGING,)
    assert JINGLE.parse(ET.fromstring(MUTE)).info == (Info.MUTE,)
    unknown = RINGING.replace("<ringing xmlns='urn:xmpp:jingle:apps:rtp:info:1'/>",
                              "<hold xmlns='urn:example:other'/>")
    assert JINGLE.parse(ET.fromstring(unknown)).info == (Info.UNKNOWN,)
    end = JINGLE.parse(ET.fromstring(TERMINATE))
    assert (end.action, end.reason, end.initiator) == (Action.TERMINATE, Reason.SUCCESS, None)


def test_gingle_candidates_become_rfc_candidates_and_other_streams_are_left_out() -> None:
    msg = GINGLE.parse(ET.fromstring(GINGLE_CANDIDATES))
    assert msg.action is Action.TRANSPORT_INFO and msg.bare_candidates
    assert [(c.component, c.port, c.type) for c in msg.candidates] == [
        (1, 3773, CandidateType.HOST), (2, 3774, CandidateType.HOST),
        (1, 3776, CandidateType.SRFLX)]
    assert msg.candidates[0].priority > msg.candidates[2].priority
    written = GINGLE.write(msg, ME)
    assert written.get("type") == "candidates"
    assert [c.get("preference") for c in written] == ["1", "1", "0.9"]


def test_a_reject_is_gingles_reject_and_jingles_terminate() -> None:
    reject = Message(Action.REJECT, "s1", ME, reason=Reason.BUSY)
    assert GINGLE.write(reject, ME).get("type") == "reject"
    assert GINGLE.parse(GINGLE.write(reject, ME)).reason is Reason.BUSY
    jingle = JINGLE.write(reject, ME)
    assert jingle.get("action") == "session-terminate"
    assert JINGLE.parse(jingle).reason is Reason.BUSY


def test_jingle_accept_names_the_responder_and_keeps_the_content() -> None:
    accept = Message(Action.ACCEPT, "s1", "romeo@montague.example/x", payloads=(),
                     has_transport=True, credentials=Credentials("uf", "p" * 22),
                     content="voice")
    elem = JINGLE.write(accept, ME)
    assert elem.get("responder") == ME
    content = elem.find("{urn:xmpp:jingle:1}content")
    assert content is not None and content.get("name") == "voice"
    assert content.get("creator") == "initiator"


@pytest.mark.parametrize(("fault", "gingle", "jingle"), [
    (Fault.UNKNOWN_SESSION, ("bad-request", None), ("item-not-found", "unknown-session")),
    (Fault.OUT_OF_ORDER, ("not-allowed", None), ("unexpected-request", "out-of-order")),
    (Fault.TIE_BREAK, ("conflict", None), ("conflict", "tie-break")),
    (Fault.UNSUPPORTED_INFO, ("feature-not-implemented", None),
     ("feature-not-implemented", "unsupported-info")),
    (Fault.MALFORMED, ("bad-request", None), ("bad-request", None)),
])
def test_each_dialect_answers_a_fault_its_way(fault: Fault, gingle: tuple[str, str | None],
                                              jingle: tuple[str, str | None]) -> None:
    for codec, (condition, app) in ((GINGLE, gingle), (JINGLE, jingle)):
        error = codec.error(fault)
        assert error.condition == condition
        got = error.app.tag.split("}")[1] if error.app is not None else None
        assert got == app


def test_a_malformed_element_is_a_malformed_fault() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        JINGLE.parse(ET.fromstring(INITIATE.replace("ip='10.0.1.1'", "ip='x'", 1)))
    assert info.value.fault is Fault.MALFORMED


candidates = st.builds(
    Candidate, address=st.sampled_from(["192.0.2.1", "2001:db8::1"]),
    port=st.integers(1, 65535), ufrag=st.just("ufragufrag"), pwd=st.just("p" * 22),
    type=st.sampled_from([CandidateType.HOST, CandidateType.SRFLX, CandidateType.RELAY]),
    priority=st.integers(1, 2**31), foundation=st.just("1"), generation=st.integers(0, 3))
messages = st.builds(
    Message, action=st.sampled_from([Action.INITIATE, Action.ACCEPT, Action.TERMINATE,
                                     Action.TRANSPORT_INFO, Action.INFO]),
    sid=st.text("0123456789abc", min_size=1, max_size=12), initiator=st.just(ME),
    payloads=st.none() | st.lists(st.builds(PayloadType, id=st.integers(0, 127),
                                            name=st.sampled_from(["PCMU", "L16"]),
                                            clockrate=st.sampled_from([8000, 44100])),
                                  max_size=3).map(tuple),
    candidates=st.lists(candidates, max_size=3).map(tuple),
    reason=st.none() | st.sampled_from([Reason.SUCCESS, Reason.DECLINE, Reason.BUSY]))


@given(messages, st.sampled_from(list(Dialect)))
def test_what_jcall_writes_reads_back_as_it_meant(msg: Message, dialect: Dialect) -> None:
    codec = CODECS[dialect]
    again = codec.parse(ET.fromstring(ET.tostring(codec.write(msg, ME))))
    assert (again.action, again.sid) == (msg.action, msg.sid)
    assert again.payloads == msg.payloads
    assert [(c.address, c.port, c.type, c.ufrag, c.pwd) for c in again.candidates] == [
        (c.address, c.port, c.type, c.ufrag, c.pwd) for c in msg.candidates]
    if msg.action is Action.TERMINATE:
        assert again.reason == msg.reason
    if dialect is Dialect.JINGLE:  # (Gingle ranks by type: its priority is its own)
        assert [c.priority for c in again.candidates] == [c.priority for c in msg.candidates]
