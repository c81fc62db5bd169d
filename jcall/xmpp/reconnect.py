"""When to try the server again after the connection was lost. Pure.

A call's media does not go through the server, so losing it must not end a call:
jcall reconnects, resuming the stream where the server still holds it (XEP-0198
section 5) and logging in afresh to the same full JID where it does not. Attempts
start at once and back off to one every ``CAP_S`` seconds, so jcall is back within
about ``CAP_S`` of the server's return however long it was gone; the jitter keeps
many clients of one restarted server from arriving in step.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

FIRST_S = 0.25
CAP_S = 5.0
JITTER = 0.2  # each delay is scaled by a factor within 1 +- JITTER
ATTEMPT_TIMEOUT_S = 10.0  # connect, TLS, authentication and resumption or binding


@dataclass(frozen=True)
class Backoff:
    """How long to wait between reconnection attempts."""

    first_s: float = FIRST_S
    cap_s: float = CAP_S
    jitter: float = JITTER

    def delays(self, rng: random.Random) -> Iterator[float]:
        """The wait before each attempt: 0 for the first, then doubling to the cap."""
        yield 0.0
        base = self.first_s
        while True:
            yield base * rng.uniform(1 - self.jitter, 1 + self.jitter)
            base = min(self.cap_s, 2 * base)
