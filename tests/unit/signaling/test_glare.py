"""Glare: two parties calling each other at once (XEP-0166 section 7.2.16), settled by
the pure session managers over a simulated server that keeps each direction in order
and interleaves the two directions at random."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field

import pytest

from jcall.errors import RemoteProtocolError
from jcall.signaling.codec import GINGLE
from jcall.signaling.events import EndCause, IncomingCall, SessionEnded
from jcall.signaling.model import Action, Message, PayloadType
from jcall.signaling.session import (
    Role,
    Session,
    SessionManager,
    State,
    initiate_stands,
)

PCMU = (PayloadType(0, "PCMU", 8000),)
ALICE, BOB = "alice@example.com/a", "bob@example.com/b"


def test_the_lower_session_id_stands_in_octet_order_then_the_lower_jid() -> None:
    assert initiate_stands("1", ALICE, "2", BOB)
    assert not initiate_stands("2", ALICE, "1", BOB)
    assert initiate_stands("10", ALICE, "9", BOB)  # octets, not numbers
    assert initiate_stands("Z", ALICE, "a", BOB)  # octets: upper case sorts first
    assert initiate_stands("7", ALICE, "7", BOB) and not initiate_stands("7", BOB, "7", ALICE)
    for mine, theirs in (("1", "2"), ("ä", "z"), ("7", "7")):
        # exactly one of the two sides' answers says "mine stands"
        assert initiate_stands(mine, ALICE, theirs, BOB) != \
            initiate_stands(theirs, BOB, mine, ALICE)


@dataclass
class Party:
    """One side: a session manager plus the phone's answer policy while dialing: take
    the peer's call when it overrules ours or comes before ours went out."""

    jid: str
    peer: str
    sid: str
    manager: SessionManager = field(init=False)
    dialed: Session | None = None
    gave_up_dialing: bool = False
    ended: list[EndCause] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.manager = SessionManager(self.jid)


@dataclass(frozen=True)
class Set:
    """An iq set in flight, and where its reply goes."""

    sender_session: Session
    tag: int
    message: Message
    sender: str


@dataclass(frozen=True)
class Reply:
    session: Session
    tag: int
    error: str | None


class Net:
    def __init__(self, rng: random.Random, a: Party, b: Party) -> None:
        self.rng, self.a, self.b = rng, a, b
        self.queues: dict[str, deque[Set | Reply]] = {a.jid: deque(), b.jid: deque()}

    def other(self, p: Party) -> Party:
        return self.b if p is self.a else self.a

    def flush(self, p: Party, session: Session, now: float) -> None:
        """Send what ``session`` queued; act on its events as the phone would."""
        for out in session.outgoing():
            self.queues[out.to].append(Set(session, out.tag, out.message, p.jid))
        for event in session.events():
            match event:
                case IncomingCall():
                    dialing = p.dialed is None and not p.gave_up_dialing
                    if session.crossed is not None or dialing:
                        p.gave_up_dialing = True  # (ours yielded, or never went out)
                        session.accept(PCMU, now)
                        self.flush(p, session, now)
                case SessionEnded(cause=cause):
                    p.ended.append(cause)

    def deliver(self, to: Party, now: float) -> None:
        item = self.queues[to.jid].popleft()
        if isinstance(item, Reply):
            item.session.handle_reply(item.tag, item.error, now)
            self.flush(to, item.session, now)
            return
        back = self.queues[item.sender]
        try:
            session = to.manager.receive(item.message, item.sender, now)
        except RemoteProtocolError as exc:
            back.append(Reply(item.sender_session, item.tag, GINGLE.error(exc.fault).condition))
            return
        back.append(Reply(item.sender_session, item.tag, None))
        if session.crossed is not None:
            self.flush(to, session.crossed, now)
        self.flush(to, session, now)

    def dial(self, p: Party, now: float) -> None:
        if p.gave_up_dialing:
            return
        p.dialed = p.manager.create_outgoing(p.peer, p.sid)
        p.dialed.initiate(PCMU, now)
        self.flush(p, p.dialed, now)


def live(p: Party) -> list[Session]:
    return [s for s in p.manager.sessions.values() if s.state is not State.ENDED]


def trial(seed: int) -> tuple[Party, Party, bool]:
    rng = random.Random(seed)
    sids = ["1", "2", "10", "9", "a", "Z", str(rng.getrandbits(32))]
    a = Party(ALICE, BOB, rng.choice(sids))
    b = Party(BOB, ALICE, rng.choice(sids))
    net = Net(rng, a, b)
    # Usually both dial before anything arrives (a true crossing); otherwise each at a
    # random point among the deliveries.
    steps: list[str] = ["dial a", "dial b"]
    now, crossed = 0.0, False
    if rng.random() < 0.75:
        for step in rng.sample(steps, 2):
            net.dial(a if step == "dial a" else b, now)
        steps = []
        crossed = True
    while steps or any(net.queues.values()):
        now += 0.001
        choices = steps + [q for q in net.queues if net.queues[q]]
        pick = rng.choice(choices)
        if pick in steps:
            steps.remove(pick)
            net.dial(a if pick == "dial a" else b, now)
            crossed = crossed or (a.dialed is not None and b.dialed is not None)
        else:
            net.deliver(a if pick == a.jid else b, now)
    return a, b, crossed


@pytest.mark.parametrize("block", range(10))
def test_a_thousand_randomized_crossings_end_in_exactly_one_call(block: int) -> None:
    crossings = 0
    for seed in range(100 * block, 100 * block + 100):
        a, b, crossed = trial(seed)
        crossings += crossed
        (sa,), (sb,) = live(a), live(b)  # one session each, still up
        assert (sa.sid, sa.initiator) == (sb.sid, sb.initiator), seed
        assert sa.state is State.ACTIVE and sb.state is State.ACTIVE, seed
        assert {sa.role, sb.role} == {Role.INITIATOR, Role.RESPONDER}, seed
        # Nobody heard of a failure: the loser's own call ended as crossed, or never
        # went out.
        assert set(a.ended + b.ended) <= {EndCause.CROSSED}, seed
        for side in (a, b):
            assert not any(s.awaiting_replies for s in side.manager.sessions.values()), seed
    # Most trials are true crossings (both initiates out before either arrives), the
    # rest one call arriving before the other side dialed.
    assert 50 <= crossings < 100


def test_the_winner_is_the_same_whoever_is_first() -> None:
    winners = set()
    for seed in range(200):
        a, b, _ = trial(seed)
        (sa,) = live(a)
        if a.dialed is not None and b.dialed is not None and a.sid != b.sid:
            winners.add((a.sid, b.sid, sa.sid == min(a.sid, b.sid, key=str.encode)))
    assert winners and all(ok for _, _, ok in winners)


def test_an_initiate_taken_after_yielding_is_terminated() -> None:
    # A peer that does not tie-break acknowledges our initiate after ours yielded:
    # ours must end there too.
    ours = SessionManager(ALICE).create_outgoing(BOB, "9")
    ours.initiate(PCMU, 0.0)
    (initiate,) = ours.outgoing()
    ours.yield_to_peer(0.1)
    assert ours.outgoing() == [] and ours.state is State.ENDED
    ours.handle_reply(initiate.tag, None, 0.2)
    (terminate,) = ours.outgoing()
    assert terminate.message.action is Action.TERMINATE
