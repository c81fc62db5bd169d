import pytest

from jcall.rtp.stats import ReceiveStats


def test_perfectly_timed_stream_has_no_jitter_or_loss() -> None:
    s = ReceiveStats(8000)
    for i in range(100):
        s.update(65530 + i, 2**32 - 800 + 160 * i, 0.02 * i, 172)  # both counters wrap
    assert s.jitter == pytest.approx(0.0, abs=1e-6)
    assert (s.expected, s.lost, s.packets, s.bytes) == (100, 0, 100, 17200)


def test_jitter_estimator_follows_rfc3550_a8() -> None:
    s = ReceiveStats(8000)
    arrivals = [0.0, 0.025, 0.040, 0.065]  # transit changes: +5 ms, -5 ms, +5 ms
    for i, a in enumerate(arrivals):
        s.update(i, 160 * i, a, 172)
    j = 0.0
    for d in (40, 40, 40):  # |D| = 5 ms = 40 timestamp units each time
        j += (d - j) / 16
    assert s.jitter == pytest.approx(j)
    assert s.jitter_ms == pytest.approx(j / 8)


def test_loss_counts_gaps_in_sequence_numbers() -> None:
    s = ReceiveStats(8000)
    for seq in (10, 11, 13, 14, 17):
        s.update(seq, seq * 160, seq * 0.02, 172)
    assert (s.expected, s.lost) == (8, 3)


def test_a_new_source_starts_its_own_sequence_and_keeps_the_counts() -> None:
    s = ReceiveStats(8000)
    for seq in (100, 101, 103):  # one lost
        s.update(seq, seq * 160, seq * 0.02, 172)
    s.new_source()
    for seq in (7, 8, 9, 11):  # another one lost, numbered far below the first source
        s.update(seq, seq * 160, 3 + seq * 0.02, 172)
    assert (s.packets, s.expected, s.lost) == (7, 9, 2)
