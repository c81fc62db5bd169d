"""Consent freshness (RFC 7675 section 5.1) and path liveness, time passed in."""

from __future__ import annotations

import pytest

from jcall.transport.consent import (
    CHECK_INTERVAL_S,
    EXPIRY_S,
    LOST_AFTER_S,
    QUIET_INTERVAL_S,
    Freshness,
    Verdict,
)


def test_media_alone_keeps_the_path_alive_but_not_consent() -> None:
    fresh = Freshness.starting(0.0)
    for t in range(1, 30):
        fresh.heard(float(t))
        assert fresh.poll(t + 0.5) is None
    assert fresh.poll(EXPIRY_S) is Verdict.EXPIRED  # RFC 7675: only answers grant it
    assert fresh.poll(EXPIRY_S + 1) is None  # said once


def test_lost_within_three_quiet_seconds_then_restored_by_media_or_an_answer() -> None:
    fresh = Freshness.starting(0.0)
    assert fresh.wake_at() == LOST_AFTER_S
    assert fresh.poll(LOST_AFTER_S - 0.01) is None
    assert fresh.poll(LOST_AFTER_S) is Verdict.LOST
    assert fresh.poll(LOST_AFTER_S + 1) is None  # said once
    assert LOST_AFTER_S <= 3.0  # the target: noticed within 3 s
    assert fresh.heard(4.5) is Verdict.RESTORED
    assert fresh.poll(4.5 + LOST_AFTER_S - 0.01) is None
    assert fresh.poll(4.5 + LOST_AFTER_S) is Verdict.LOST
    assert fresh.answered(8.0) is Verdict.RESTORED
    assert fresh.answered(9.0) is None


def test_expiry_thirty_seconds_after_the_last_answer() -> None:
    fresh = Freshness.starting(0.0)
    fresh.answered(12.0)
    assert fresh.poll(12.0 + LOST_AFTER_S) is Verdict.LOST
    assert fresh.wake_at() == 12.0 + EXPIRY_S
    assert fresh.poll(12.0 + EXPIRY_S - 0.01) is None
    assert fresh.poll(12.0 + EXPIRY_S) is Verdict.EXPIRED
    assert fresh.answered(43.0) is None  # too late: the call is over


@pytest.mark.parametrize(("random01", "expected"), [(0.0, 0.8), (0.5, 1.0), (0.999, 1.1996)])
def test_checks_every_four_to_six_seconds_while_media_flows(random01: float,
                                                           expected: float) -> None:
    fresh = Freshness.starting(0.0)
    fresh.sent(10.0, random01)
    for t in range(10, 17):
        fresh.heard(t + 0.9)  # (media keeps coming)
    assert fresh.next_check() == pytest.approx(10.0 + expected * CHECK_INTERVAL_S)


def test_checks_every_second_once_media_is_quiet() -> None:
    fresh = Freshness.starting(0.0)
    assert fresh.next_check() == QUIET_INTERVAL_S  # no media yet
    fresh.sent(1.0, 0.5)
    fresh.heard(1.5)
    assert fresh.next_check() == 2.5  # quiet from 2.5 s on
    fresh.sent(2.5, 0.5)
    assert fresh.next_check() == 2.5 + QUIET_INTERVAL_S
