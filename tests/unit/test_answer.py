"""The answer policy: each mode, the question, the ring timeout and a caller who gives
up, with the events the user sees."""

from __future__ import annotations

import asyncio

import pytest

from jcall.answer import AnswerPolicy, Mode, Verdict
from jcall.events import Event, Incoming, Refusal, Refused
from jcall.signaling.model import Reason

PEER = "bob@example.com/b"


async def decide(policy: AnswerPolicy, gone_after: float | None = None
                 ) -> tuple[Verdict, list[Event]]:
    events: list[Event] = []
    gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    if gone_after is not None:
        asyncio.get_running_loop().call_later(gone_after, gone.set_result, None)
    return await policy.decide(PEER, gone, events.append), events


@pytest.mark.parametrize(("mode", "verdict"), [(Mode.ACCEPT, Verdict.TAKE),
                                               (Mode.REJECT, Verdict.DECLINE)])
async def test_accept_and_reject_every_call_without_asking(mode: Mode, verdict: Verdict) -> None:
    asked: list[str] = []

    async def ask(peer: str) -> bool:
        asked.append(peer)
        return True

    assert await decide(AnswerPolicy(mode, ask)) == (verdict, [Incoming(PEER)])
    assert asked == []


async def test_without_a_terminal_a_call_is_declined_saying_why() -> None:
    assert await decide(AnswerPolicy(Mode.ASK, None)) == \
        (Verdict.DECLINE, [Incoming(PEER), Refused(PEER, Refusal.NO_TERMINAL)])


@pytest.mark.parametrize("yes", [True, False])
async def test_the_question_decides(yes: bool) -> None:
    async def ask(peer: str) -> bool:
        return yes

    verdict, events = await decide(AnswerPolicy(Mode.ASK, ask))
    assert verdict is (Verdict.TAKE if yes else Verdict.DECLINE)
    assert events == [Incoming(PEER, asking=True)]


async def never(peer: str) -> bool:
    await asyncio.Event().wait()
    return True


async def test_nobody_answers_within_the_ring_timeout() -> None:
    verdict, events = await decide(AnswerPolicy(Mode.ASK, never, ring_timeout=0.05))
    assert verdict is Verdict.UNANSWERED and verdict.reason is Reason.TIMEOUT
    assert events == [Incoming(PEER, asking=True), Refused(PEER, Refusal.UNANSWERED)]


async def test_the_caller_gives_up_first() -> None:
    verdict, events = await decide(AnswerPolicy(Mode.ASK, never, ring_timeout=5), 0.02)
    assert verdict is Verdict.GONE and events == [Incoming(PEER, asking=True)]
    assert Verdict.DECLINE.reason is Reason.DECLINE
