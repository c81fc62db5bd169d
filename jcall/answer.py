"""Whether to take an incoming call: the answer policy the phone is given
(ARCHITECTURE.md section 4) -- accept every call (``-a``), reject every call
(``--reject``), or ask on a terminal (the console's question) and decline what nobody
answers within the ring timeout. Without a terminal to ask on, a call is declined.

The phone decides *busy* itself (a call is already up); everything else about an
incoming call is decided here, and the events it reports are the user's to see.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .events import Incoming, Refusal, Refused, Report
from .signaling.model import Reason

Ask = Callable[[str], Awaitable[bool]]  # the question on a terminal: take a call from JID?


class Mode(enum.Enum):
    ASK = "ask"
    ACCEPT = "accept"  # -a
    REJECT = "reject"  # --reject


class Verdict(enum.Enum):
    """What became of an incoming call: taken, declined (by the user, or as there is
    no one to ask), rung out unanswered, or ended by the caller first."""

    TAKE = "take"
    DECLINE = "decline"
    UNANSWERED = "unanswered"
    GONE = "gone"

    @property
    def reason(self) -> Reason:
        return Reason.TIMEOUT if self is Verdict.UNANSWERED else Reason.DECLINE


@dataclass
class AnswerPolicy:
    """Whether an incoming call is taken: always, never, or as asked on the terminal."""

    mode: Mode = Mode.ASK
    ask: Ask | None = None  # None: no terminal to ask on
    ring_timeout: float = 30.0  # an unanswered call is declined after this

    async def decide(self, peer: str, gone: asyncio.Future[Any], report: Report) -> Verdict:
        """Whether to take ``peer``'s call; GONE if ``gone`` (the caller gave up) came
        first."""
        asking = self.mode is Mode.ASK and self.ask is not None
        report(Incoming(peer, asking=asking))
        if self.mode is Mode.REJECT:
            return Verdict.DECLINE
        if self.mode is Mode.ACCEPT:
            return Verdict.TAKE
        if self.ask is None:
            report(Refused(peer, Refusal.NO_TERMINAL))
            return Verdict.DECLINE
        question = asyncio.ensure_future(self.ask(peer))
        waiters: set[asyncio.Future[Any]] = {question, gone}
        done, _ = await asyncio.wait(waiters, timeout=self.ring_timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        if question not in done:
            question.cancel()  # (and let it end its line before anything else is said)
            await asyncio.wait({question})
            if gone.done():
                return Verdict.GONE
            report(Refused(peer, Refusal.UNANSWERED))
            return Verdict.UNANSWERED
        if gone.done():
            return Verdict.GONE
        return Verdict.TAKE if question.result() else Verdict.DECLINE
