"""The round-trip estimate: the first sample as it is, then libjingle's 3:1 smoothing."""

from __future__ import annotations

import pytest

from jcall.transport.rtt import RoundTrip, smoothed


def test_the_first_sample_is_the_estimate() -> None:
    rtt = RoundTrip()
    assert rtt.value is None
    rtt.sample(0.040)
    assert rtt.value == pytest.approx(0.040)


def test_later_samples_weigh_a_quarter() -> None:
    rtt = RoundTrip()
    for sample in (0.040, 0.080):
        rtt.sample(sample)
    assert rtt.value == pytest.approx(0.050)
    assert smoothed(0.050, 0.010) == pytest.approx(0.040)


def test_a_clock_step_backwards_counts_as_zero() -> None:
    assert smoothed(None, -0.5) == 0.0
