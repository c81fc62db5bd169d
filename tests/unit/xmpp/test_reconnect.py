"""Reconnection back-off (jcall/xmpp/reconnect.py)."""

from __future__ import annotations

import itertools
import random

from hypothesis import given
from hypothesis import strategies as st

from jcall.xmpp.reconnect import CAP_S, FIRST_S, JITTER, Backoff


def test_first_attempt_at_once_then_doubling_to_the_cap() -> None:
    plain = list(itertools.islice(Backoff(jitter=0.0).delays(random.Random(1)), 8))
    assert plain == [0.0, FIRST_S, 2 * FIRST_S, 4 * FIRST_S, 8 * FIRST_S, 16 * FIRST_S,
                     CAP_S, CAP_S]


@given(st.integers(0, 2**32), st.integers(1, 200))
def test_no_wait_exceeds_the_cap_with_its_jitter(seed: int, n: int) -> None:
    delays = list(itertools.islice(Backoff().delays(random.Random(seed)), n))
    assert all(0 <= d <= CAP_S * (1 + JITTER) for d in delays)
    assert delays[0] == 0.0  # the first attempt goes at once


def test_a_long_outage_costs_one_attempt_per_cap() -> None:
    delays = Backoff(jitter=0.0).delays(random.Random(1))
    elapsed, attempts = 0.0, 0
    while elapsed < 60.0:
        elapsed += next(delays)
        attempts += 1
    assert attempts <= 6 + 60 / CAP_S
