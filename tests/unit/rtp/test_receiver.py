"""The RTP receive filter (jcall/rtp/receiver.py): payload types, SSRC learning and
following a change of SSRC."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from jcall.rtp.packet import RtpPacket
from jcall.rtp.receiver import SSRC_SWITCH_PACKETS, RtpFilter


def rtp(ssrc: int, seq: int = 0, pt: int = 0) -> bytes:
    return bytes(RtpPacket(pt, seq & 0xFFFF, 160 * seq, ssrc, b"\xff" * 160))


def test_a_new_ssrc_is_followed_after_packets_in_a_row() -> None:
    f = RtpFilter({0})
    assert f.accept(rtp(1, 0)) is not None
    for k in range(1, SSRC_SWITCH_PACKETS):
        assert f.accept(rtp(2, k)) is None  # not yet
    packet = f.accept(rtp(2, SSRC_SWITCH_PACKETS))
    assert packet is not None and packet.ssrc == 2 == f.ssrc
    assert f.accept(rtp(1, 99)) is None  # the old one is now the stranger
    c = f.counters
    assert (c.ssrc_changes, c.foreign_ssrc, c.accepted) == (1, SSRC_SWITCH_PACKETS, 2)


def test_an_interleaved_stranger_never_takes_over() -> None:
    f = RtpFilter({0})
    for k in range(1000):
        assert f.accept(rtp(1, k)) is not None
        # fewer strange packets in a row than it takes to switch, between each of ours
        for _ in range(SSRC_SWITCH_PACKETS - 1):
            assert f.accept(rtp(666, k)) is None
    assert f.ssrc == 1 and f.counters.ssrc_changes == 0


@given(st.lists(st.sampled_from([1, 2, 3]), max_size=200))
def test_the_ssrc_changes_only_after_a_run(ssrcs: list[int]) -> None:
    f = RtpFilter({0})
    run_owner, run = None, 0
    for k, ssrc in enumerate(ssrcs):
        before = f.ssrc
        run = run + 1 if ssrc == run_owner else 1
        run_owner = ssrc
        got = f.accept(rtp(ssrc, k))
        if before is None or ssrc == before:
            assert got is not None
        elif run >= SSRC_SWITCH_PACKETS:
            assert got is not None and f.ssrc == ssrc
        else:
            assert got is None and f.ssrc == before
