"""The session table and its bookkeeping, for both dialects (gingle.md parts A and E,
XEP-0166 section 6), on neutral messages (model.py)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jcall.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from jcall.signaling.events import (
    CallAccepted,
    EndCause,
    IncomingCall,
    PeerInfo,
    RemoteCandidates,
    SessionEnded,
)
from jcall.signaling.model import (
    Action,
    Candidate,
    Credentials,
    Dialect,
    Fault,
    Info,
    Message,
    PayloadType,
    Reason,
)
from jcall.signaling.session import (
    IGNORED_AFTER_S,
    MAX_REMOTE_CANDIDATES,
    REPLY_TIMEOUT_S,
    TRANSITIONS,
    Input,
    Role,
    Session,
    SessionManager,
    State,
)

CALLER, CALLEE = "alice@example.com/callA", "bob@example.com/callB"
SID = "2398276180"
PCMU = (PayloadType(0, "PCMU", 8000),)


def cand(port: int, gen: int = 0, user: str = "ufrag", component: int = 1) -> Candidate:
    return Candidate(address="127.0.0.1", port=port, ufrag=user, generation=gen,
                     component=component)


def msg(action: Action, **kw: object) -> Message:
    return Message(action=action, sid=SID, initiator=CALLER, **kw)  # type: ignore[arg-type]


def bare(*candidates: Candidate) -> Message:
    """Gingle's ``candidates`` message."""
    return msg(Action.TRANSPORT_INFO, candidates=candidates, bare_candidates=True)


def new(role: Role, dialect: Dialect = Dialect.GINGLE) -> Session:
    peer = CALLEE if role is Role.INITIATOR else CALLER
    return Session(role=role, sid=SID, initiator=CALLER, peer=peer, dialect=dialect)


def reach(role: Role, state: State, dialect: Dialect = Dialect.GINGLE) -> Session:
    s = new(role, dialect)
    if role is Role.INITIATOR:
        if state is not State.INIT:
            s.initiate(PCMU, 0.0)
        if state is State.ACTIVE:
            s.receive(msg(Action.ACCEPT, payloads=PCMU), CALLEE, 0.0)
        if state is State.ENDED:
            s.terminate(0.0)
    else:
        if state is not State.INIT:
            s.receive(msg(Action.INITIATE, payloads=PCMU, has_transport=True), CALLER, 0.0)
        if state is State.ACTIVE:
            s.accept(PCMU, 0.0)
        if state is State.ENDED:
            s.reject(0.0)
    assert s.state is state
    return s


RECV_MESSAGES = {
    Input.RECV_INITIATE: msg(Action.INITIATE, payloads=PCMU, has_transport=True),
    Input.RECV_ACCEPT: msg(Action.ACCEPT, payloads=PCMU),
    Input.RECV_REJECT: msg(Action.REJECT, reason=Reason.DECLINE),
    Input.RECV_TERMINATE: msg(Action.TERMINATE),
    Input.RECV_TRANSPORT_INFO: msg(Action.TRANSPORT_INFO, has_transport=True,
                                   candidates=(cand(5000),)),
    Input.RECV_TRANSPORT_ACCEPT: msg(Action.TRANSPORT_ACCEPT, has_transport=True),
    Input.RECV_INFO: msg(Action.INFO, info=(Info.RINGING,)),
}


def apply(s: Session, inp: Input) -> None:
    if inp in RECV_MESSAGES:
        s.receive(RECV_MESSAGES[inp], s.peer, 1.0)
    elif inp is Input.SEND_INITIATE:
        s.initiate(PCMU, 1.0)
    elif inp is Input.SEND_ACCEPT:
        s.accept(PCMU, 1.0)
    elif inp is Input.SEND_REJECT:
        s.reject(1.0)
    elif inp is Input.SEND_TERMINATE:
        s.terminate(1.0)
    elif inp is Input.YIELD:
        s.yield_to_peer(1.0)


SWEEP = [i for i in Input if i is not Input.REPLY_FAILED]


REACHABLE = [(Role.INITIATOR, st_) for st_ in State if st_ is not State.RECEIVED_INITIATE] + [
    (Role.RESPONDER, st_) for st_ in State if st_ is not State.SENT_INITIATE]


@pytest.mark.parametrize("dialect", list(Dialect))
@pytest.mark.parametrize("role, state, inp",
                         [(r, s, i) for (r, s), i in itertools.product(REACHABLE, SWEEP)])
def test_every_state_and_input_follows_the_table(role: Role, state: State, inp: Input,
                                                 dialect: Dialect) -> None:
    s = reach(role, state, dialect)
    expected = TRANSITIONS.get((role, state, inp))
    if inp is Input.SEND_TERMINATE and state is State.ENDED:
        expected = State.ENDED  # hanging up twice is harmless
    if expected is None:
        error = RemoteProtocolError if inp.is_remote else LocalProtocolError
        with pytest.raises(error) as info:
            apply(s, inp)
        assert info.value.fault is Fault.OUT_OF_ORDER
        assert s.state is state
    else:
        apply(s, inp)
        assert s.state is expected


def test_sample_call_flow_initiator() -> None:
    s = new(Role.INITIATOR)
    s.add_local_candidates([cand(3773)], 0.0)  # gathered before the initiate is sent
    s.initiate(PCMU, 0.0)
    (initiate,) = s.outgoing()
    assert initiate.message.action is Action.INITIATE
    assert initiate.message.has_transport and initiate.message.payloads == PCMU
    s.add_local_candidates([cand(3774)], 0.1)
    assert s.outgoing() == []  # held until the initiate is acknowledged
    s.handle_reply(initiate.tag, None, 0.2)
    (info,) = s.outgoing()
    assert info.message.action is Action.TRANSPORT_INFO and not info.message.bare_candidates
    assert [c.port for c in info.message.candidates] == [3773, 3774]
    s.receive(msg(Action.TRANSPORT_ACCEPT, has_transport=True), CALLEE, 0.3)
    s.receive(msg(Action.TRANSPORT_INFO, has_transport=True, candidates=(cand(9),)),
              CALLEE, 0.3)
    s.receive(msg(Action.ACCEPT, payloads=PCMU), CALLEE, 0.4)
    assert s.events() == [RemoteCandidates((cand(9),)), CallAccepted(PCMU)]
    s.terminate(0.5)
    (term,) = s.outgoing()
    assert term.message.action is Action.TERMINATE and s.awaiting_replies
    s.handle_reply(term.tag, None, 0.6)
    assert not s.awaiting_replies
    assert s.events() == [SessionEnded(EndCause.LOCAL_HANGUP, Reason.SUCCESS)]


def test_responder_accepts_the_transport_and_sends_transport_info() -> None:
    s = new(Role.RESPONDER)
    s.receive(RECV_MESSAGES[Input.RECV_INITIATE], CALLER, 0.0)
    (ta,) = s.outgoing()
    assert ta.message.action is Action.TRANSPORT_ACCEPT and ta.to == CALLER
    s.add_local_candidates([cand(1)], 0.0)  # a responder has nothing to wait for
    (info,) = s.outgoing()
    assert info.message.action is Action.TRANSPORT_INFO
    assert s.events() == [IncomingCall(CALLER, PCMU)]


def test_initiate_without_transport_is_compatibility_mode() -> None:
    s = new(Role.RESPONDER)
    s.receive(msg(Action.INITIATE, payloads=PCMU), CALLER, 0.0)
    assert s.bare_candidates
    assert s.outgoing() == []  # no transport-accept
    s.add_local_candidates([cand(1)], 0.0)
    (out,) = s.outgoing()
    assert out.message.action is Action.TRANSPORT_INFO and out.message.bare_candidates


def test_candidates_before_transport_accept_switch_initiator_and_resend() -> None:
    s = new(Role.INITIATOR)
    s.initiate(PCMU, 0.0)
    (initiate,) = s.outgoing()
    s.handle_reply(initiate.tag, None, 0.0)
    s.add_local_candidates([cand(1)], 0.0)
    s.add_local_candidates([cand(2)], 0.0)
    assert [o.message.bare_candidates for o in s.outgoing()] == [False, False]
    s.receive(bare(cand(7)), CALLEE, 0.1)
    (resent,) = s.outgoing()
    assert resent.message.bare_candidates
    assert [c.port for c in resent.message.candidates] == [1, 2]
    s.add_local_candidates([cand(3)], 0.2)
    assert s.outgoing()[0].message.bare_candidates


def test_candidates_after_transport_accept_do_not_switch() -> None:
    s = new(Role.INITIATOR)
    s.initiate(PCMU, 0.0)
    s.receive(RECV_MESSAGES[Input.RECV_TRANSPORT_ACCEPT], CALLEE, 0.0)
    s.receive(bare(cand(7)), CALLEE, 0.1)
    assert not s.bare_candidates


def test_duplicate_and_stale_candidates_are_dropped() -> None:
    s = reach(Role.INITIATOR, State.SENT_INITIATE)
    s.events()
    for c in (cand(1), cand(1), cand(2, gen=1), cand(3, gen=0)):
        s.receive(bare(c), CALLEE, 0.0)
    assert s.events() == [RemoteCandidates((cand(1),)), RemoteCandidates((cand(2, gen=1),))]


def test_no_reply_to_initiate_ends_session_after_15_s() -> None:
    s = reach(Role.INITIATOR, State.SENT_INITIATE)
    s.outgoing()
    assert s.get_timer() == REPLY_TIMEOUT_S
    s.handle_timer(REPLY_TIMEOUT_S - 0.001)
    assert s.state is State.SENT_INITIATE
    s.handle_timer(REPLY_TIMEOUT_S)
    assert s.ended  # (not `s.state is ...` again: mypy keeps the narrowing above)
    (ended,) = s.events()
    assert isinstance(ended, SessionEnded) and ended.cause is EndCause.TIMEOUT
    assert s.outgoing()[0].message.action is Action.TERMINATE


def test_error_reply_to_initiate_ends_session() -> None:
    s = new(Role.INITIATOR)
    s.initiate(PCMU, 0.0)
    (initiate,) = s.outgoing()
    s.handle_reply(initiate.tag, "service-unavailable", 0.1)
    (ended,) = s.events()
    assert isinstance(ended, SessionEnded) and ended.cause is EndCause.ERROR_REPLY
    assert "service-unavailable" in ended.detail
    assert ended.condition == "service-unavailable"


def test_transport_info_errors_and_silence_are_ignored() -> None:
    s = reach(Role.RESPONDER, State.RECEIVED_INITIATE)
    s.add_local_candidates([cand(1)], 0.0)
    out = s.outgoing()
    assert all(not o.needs_reply for o in out)  # transport-accept, transport-info
    for o in out:
        s.handle_reply(o.tag, "feature-not-implemented", 0.0)
    s.handle_timer(100.0)
    assert s.state is State.RECEIVED_INITIATE and s.get_timer() is None


def test_message_from_another_resource_is_bad_request() -> None:
    s = reach(Role.INITIATOR, State.SENT_INITIATE)
    with pytest.raises(RemoteProtocolError) as info:
        s.receive(msg(Action.TERMINATE), "mallory@example.com/x", 0.0)
    assert info.value.fault is Fault.UNKNOWN_SESSION
    assert s.state is State.SENT_INITIATE


def test_an_action_jcall_does_not_follow_is_unsupported() -> None:
    s = reach(Role.INITIATOR, State.SENT_INITIATE)
    with pytest.raises(RemoteProtocolError) as info:
        s.receive(msg(Action.OTHER), CALLEE, 0.0)  # Gingle's redirect, Jingle's content-add
    assert info.value.fault is Fault.UNSUPPORTED


def test_initiate_without_description_is_malformed() -> None:
    s = new(Role.RESPONDER)
    with pytest.raises(RemoteProtocolError) as info:
        s.receive(msg(Action.INITIATE, has_transport=True), CALLER, 0.0)
    assert info.value.fault is Fault.MALFORMED


def test_manager_routes_by_id_initiator_and_sender() -> None:
    mgr = SessionManager(CALLEE)
    with pytest.raises(RemoteProtocolError, match="unknown session"):
        mgr.receive(msg(Action.TERMINATE), CALLER, 0.0)
    with pytest.raises(RemoteProtocolError, match="initiator is not the sender"):
        mgr.receive(RECV_MESSAGES[Input.RECV_INITIATE], "eve@example.com/x", 0.0)
    assert mgr.sessions == {}
    s = mgr.receive(RECV_MESSAGES[Input.RECV_INITIATE], CALLER, 0.0)
    assert s.role is Role.RESPONDER and s.peer == CALLER
    with pytest.raises(RemoteProtocolError) as info:
        mgr.receive(msg(Action.TERMINATE), "alice@example.com/other", 0.0)
    assert info.value.fault is Fault.UNKNOWN_SESSION
    with pytest.raises(RemoteProtocolError) as info:
        mgr.receive(msg(Action.TERMINATE), CALLER, 0.0, Dialect.JINGLE)  # the other dialect
    assert info.value.fault is Fault.UNKNOWN_SESSION
    with pytest.raises(RemoteProtocolError) as info:
        mgr.receive(RECV_MESSAGES[Input.RECV_INITIATE], CALLER, 0.0)
    assert info.value.fault is Fault.OUT_OF_ORDER
    s.reject(1.0)
    mgr.prune()
    assert mgr.sessions  # still awaiting the reject's reply
    s.handle_reply(s.outgoing()[-1].tag, None, 1.1)
    mgr.prune()
    assert mgr.sessions == {}


actions = st.lists(st.tuples(st.sampled_from([*SWEEP, "ack", "fail", "tick"]),
                             st.floats(0, 1)), max_size=25)


@given(st.sampled_from(list(Role)), st.sampled_from(list(Dialect)), actions)
def test_random_sequences_keep_invariants(role: Role, dialect: Dialect,
                                          steps: list[tuple[object, float]]) -> None:
    s = new(role, dialect)
    now = 0.0
    for step, dt in steps:
        now += dt * 10
        before = s.state
        try:
            if step == "ack" or step == "fail":
                for o in s.outgoing():
                    s.handle_reply(o.tag, None if step == "ack" else "bad-request", now)
            elif step == "tick":
                s.handle_timer(now)
            else:
                assert isinstance(step, Input)
                apply(s, step)
        except ProtocolError:
            assert s.state is before  # a refused input changes nothing
        if before is State.ENDED:
            assert s.state is State.ENDED  # ended is absorbing
        for out in s.outgoing():
            assert (out.message.sid, out.message.initiator, out.to) == (SID, CALLER, s.peer)
        ends = [e for e in s.events() if isinstance(e, SessionEnded)]
        assert len(ends) <= 1
        if ends:
            assert s.state is State.ENDED


def test_an_acknowledged_candidates_message_tells_that_the_peer_has_ours() -> None:
    s = new(Role.RESPONDER)
    s.receive(msg(Action.INITIATE, payloads=PCMU), CALLER, 0.0)  # compat dialect
    s.add_local_candidates([cand(4000)], 0.0)
    (sent,) = s.outgoing()
    assert sent.message.bare_candidates and not s.candidates_delivered
    s.handle_reply(sent.tag, "service-unavailable", 0.1)
    assert not s.candidates_delivered  # an error is no delivery
    s.add_local_candidates([cand(4001)], 0.2)
    (again,) = s.outgoing()
    s.handle_reply(again.tag, None, 0.3)
    assert s.candidates_delivered


def test_a_peer_that_leaves_transport_info_unanswered_is_known_to_ignore_messages() -> None:
    s = new(Role.INITIATOR)
    s.initiate(PCMU, 0.0)
    (initiate,) = s.outgoing()
    s.handle_reply(initiate.tag, None, 0.1)
    s.add_local_candidates([cand(4000)], 0.2)
    (info,) = s.outgoing()
    assert info.message.action is Action.TRANSPORT_INFO
    assert not s.ignored_messages(0.2 + IGNORED_AFTER_S)
    assert s.ignored_messages(0.2 + IGNORED_AFTER_S + 0.01)  # libpurple's silence
    s.handle_reply(info.tag, None, 5.0)
    assert not s.ignored_messages(5.0) and s.candidates_delivered


def test_at_most_20_candidates_per_component_are_taken_from_a_peer() -> None:
    s = reach(Role.RESPONDER, State.RECEIVED_INITIATE)
    s.events()
    many = tuple(cand(6000 + i) for i in range(MAX_REMOTE_CANDIDATES))
    s.receive(bare(*many), CALLER, 1.0)
    s.receive(bare(*many[:3]), CALLER, 1.0)  # (duplicates)
    rtcp = tuple(cand(7000 + i, component=2) for i in range(5))
    s.receive(bare(*rtcp), CALLER, 1.0)  # its own count
    with pytest.raises(RemoteProtocolError, match="more than 20 candidates for component 1"
                       ) as info:
        s.receive(bare(cand(6999)), CALLER, 1.0)
    assert info.value.fault is Fault.NOT_ACCEPTABLE
    taken = [c for e in s.events() if isinstance(e, RemoteCandidates) for c in e.candidates]
    assert len(taken) == MAX_REMOTE_CANDIDATES + 5 and cand(6999) not in taken


# -- what differs in Jingle ------------------------------------------------------------
def test_a_jingle_responder_rings_and_keeps_the_initiators_content_name() -> None:
    s = new(Role.RESPONDER, Dialect.JINGLE)
    creds = Credentials("8hhy", "asd88fgpdd777uzjYhagZg")
    s.receive(msg(Action.INITIATE, payloads=PCMU, has_transport=True, credentials=creds,
                  content="voice"), CALLER, 0.0)
    (ringing,) = s.outgoing()  # no transport-accept in Jingle
    assert ringing.message.action is Action.INFO and ringing.message.info == (Info.RINGING,)
    assert not ringing.needs_reply  # an unknown info is no reason to end a call
    assert s.peer_credentials == creds
    s.accept(PCMU, 0.1, Credentials("mine", "p" * 22))
    assert s.outgoing() == []  # (no candidate of ours yet: the accept waits for one)
    s.add_local_candidates([cand(4000)], 0.2)
    (accept,) = s.outgoing()
    assert accept.message.content == "voice" and accept.message.candidates == (cand(4000),)
    assert accept.message.credentials == Credentials("mine", "p" * 22)


def test_jingle_candidates_never_go_bare() -> None:
    s = reach(Role.INITIATOR, State.SENT_INITIATE, Dialect.JINGLE)
    s.add_local_candidates([cand(3999)], 0.0)
    (initiate,) = s.outgoing()
    s.handle_reply(initiate.tag, None, 0.1)
    s.receive(bare(cand(7)), CALLEE, 0.2)
    s.add_local_candidates([cand(1)], 0.3)
    (info,) = s.outgoing()
    assert not info.message.bare_candidates


def test_session_info_reaches_the_orchestrator_and_unknown_info_is_refused() -> None:
    s = reach(Role.INITIATOR, State.SENT_INITIATE, Dialect.JINGLE)
    s.receive(msg(Action.INFO, info=(Info.RINGING,)), CALLEE, 0.1)
    s.receive(msg(Action.INFO), CALLEE, 0.2)  # an empty one: a ping
    assert s.events() == [PeerInfo(Info.RINGING)]
    with pytest.raises(RemoteProtocolError) as info:
        s.receive(msg(Action.INFO, info=(Info.UNKNOWN,)), CALLEE, 0.3)
    assert info.value.fault is Fault.UNSUPPORTED_INFO
    assert s.state is State.SENT_INITIATE


def test_a_jingle_message_without_initiator_finds_its_session_by_id_and_sender() -> None:
    mgr = SessionManager(CALLEE)
    initiate = Message(Action.INITIATE, SID, None, payloads=PCMU, has_transport=True)
    s = mgr.receive(initiate, CALLER, 0.0, Dialect.JINGLE)  # the sender is the initiator
    assert s.initiator == CALLER and s.dialect is Dialect.JINGLE
    mgr.receive(Message(Action.TERMINATE, SID, None), CALLER, 0.1, Dialect.JINGLE)
    assert s.ended
    with pytest.raises(RemoteProtocolError) as info:
        mgr.receive(Message(Action.TERMINATE, SID, None), "eve@example.com/x", 0.1,
                    Dialect.JINGLE)
    assert info.value.fault is Fault.UNKNOWN_SESSION


def test_a_jingle_initiate_waits_for_candidates_and_carries_them() -> None:
    """libpurple's farstream restarts ICE, with credentials it never sends, on an
    initiate or accept without candidates: none goes out without them."""
    s = new(Role.INITIATOR, Dialect.JINGLE)
    s.initiate(PCMU, 0.0)
    assert s.outgoing() == [] and s.state is State.SENT_INITIATE
    s.add_local_candidates([cand(1), cand(2)], 0.1)
    (initiate,) = s.outgoing()
    assert initiate.message.action is Action.INITIATE
    assert [c.port for c in initiate.message.candidates] == [1, 2]
    s.add_local_candidates([cand(3)], 0.2)
    assert s.outgoing() == []  # later ones wait for the initiate's ack, as in Gingle
    s.handle_reply(initiate.tag, None, 0.3)
    (info,) = s.outgoing()
    assert [c.port for c in info.message.candidates] == [3]


def test_candidates_gathered_before_a_jingle_initiate_go_in_it() -> None:
    s = new(Role.INITIATOR, Dialect.JINGLE)
    s.add_local_candidates([cand(1)], 0.0)
    s.initiate(PCMU, 0.1)
    (initiate,) = s.outgoing()
    assert [c.port for c in initiate.message.candidates] == [1]


def test_a_jingle_accept_repeats_the_candidates_already_sent() -> None:
    s = reach(Role.RESPONDER, State.RECEIVED_INITIATE, Dialect.JINGLE)
    s.outgoing()
    s.add_local_candidates([cand(1)], 0.0)  # trickled while it rings
    s.outgoing()
    s.accept(PCMU, 0.1)
    (accept,) = s.outgoing()
    assert [c.port for c in accept.message.candidates] == [1]


def test_hanging_up_before_a_jingle_initiate_went_out_sends_nothing() -> None:
    s = new(Role.INITIATOR, Dialect.JINGLE)
    s.initiate(PCMU, 0.0)
    s.terminate(0.1)
    assert s.outgoing() == [] and s.ended and not s.awaiting_replies
    s.add_local_candidates([cand(1)], 0.2)
    assert s.outgoing() == []


def test_gingle_sends_its_initiate_at_once_without_candidates() -> None:
    s = new(Role.INITIATOR)
    s.initiate(PCMU, 0.0)
    (initiate,) = s.outgoing()
    assert initiate.message.candidates == ()
