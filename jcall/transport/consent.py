"""Consent freshness (RFC 7675) and the liveness of a selected path, with time passed in.

RFC 7675 section 5.1: consent to send on a pair lasts 30 s from the last
authenticated answer to a consent check, and checks go out every 5 s, randomised to
4..6 s so that many agents do not synchronise. A person on a call also wants to know
long before that when nothing arrives any more: the path is *lost* once neither media
nor a consent answer has come for 3 s (shown within them), *restored* when either
comes back, and
*expired* (the call must end) 30 s after the last answer.

The 5 s schedule cannot show a quiet but healthy path (a peer that sends no media
for a while) within 3 s. So once media has been quiet for a second, checks go out
every second until something arrives: one small request a second, only while the
path is quiet; section 5.1 sets the 5 s interval as a default ("SHOULD"), and a
shorter one only costs the peer an answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

CHECK_INTERVAL_S = 5.0  # RFC 7675 section 5.1
CHECK_JITTER = 0.2  # randomised to [0.8, 1.2] x the interval (section 5.1)
QUIET_AFTER_S = 1.0  # media this long quiet: check every QUIET_INTERVAL_S
QUIET_INTERVAL_S = 1.0
LOST_AFTER_S = 2.9  # no media and no consent answer: tell the user (the budget is 3 s
# from the last packet to the line on the screen; 0.1 s is left for waking and printing)
EXPIRY_S = 30.0  # RFC 7675 section 5.1: consent expires, sending must stop


class Verdict(Enum):
    LOST = "lost"
    RESTORED = "restored"
    EXPIRED = "expired"


@dataclass
class Freshness:
    """One selected pair's consent and liveness. ``now`` is any monotonic clock (the
    adapter's event-loop time); the pair's successful nomination counts as the first
    consent answer (it is one: an authenticated Binding success)."""

    last_answer: float
    last_media: float
    last_check: float
    period: float = CHECK_INTERVAL_S  # the regular interval, drawn anew at each check
    lost: bool = False
    expired: bool = False

    @classmethod
    def starting(cls, now: float) -> Freshness:
        return cls(last_answer=now, last_media=now, last_check=now)

    def answered(self, now: float) -> Verdict | None:
        self.last_answer = max(self.last_answer, now)
        return self._maybe_restored()

    def heard(self, arrival: float) -> Verdict | None:
        self.last_media = max(self.last_media, arrival)
        return self._maybe_restored()

    def _maybe_restored(self) -> Verdict | None:
        if self.lost and not self.expired:
            self.lost = False
            return Verdict.RESTORED
        return None

    def poll(self, now: float) -> Verdict | None:
        """What changed by ``now`` (call at :meth:`wake_at` or later; repeat-safe)."""
        if self.expired:
            return None
        if now - self.last_answer >= EXPIRY_S:
            self.expired = True
            return Verdict.EXPIRED
        if not self.lost and now - max(self.last_answer, self.last_media) >= LOST_AFTER_S:
            self.lost = True
            return Verdict.LOST
        return None

    def sent(self, now: float, random01: float) -> None:
        """A consent check went out at ``now``; ``random01`` in [0, 1) draws the next
        regular interval."""
        self.last_check = now
        self.period = CHECK_INTERVAL_S * (1 - CHECK_JITTER + 2 * CHECK_JITTER * random01)

    def next_check(self) -> float:
        """When the next check is due: the regular one, or a second after the last
        one once media has been quiet for ``QUIET_AFTER_S``."""
        regular = self.last_check + self.period
        quick = max(self.last_check + QUIET_INTERVAL_S, self.last_media + QUIET_AFTER_S)
        return min(regular, quick)

    def wake_at(self) -> float:
        """When :meth:`poll` may next have something to say (if nothing arrives)."""
        expiry = self.last_answer + EXPIRY_S
        if self.lost:
            return expiry
        return min(expiry, max(self.last_answer, self.last_media) + LOST_AFTER_S)
