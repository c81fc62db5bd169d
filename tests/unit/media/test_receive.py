"""The receive path (jcall/media/receive.py): datagrams in, decoded audio pushed into
the jitter buffer at their arrival times; what is not the peer's RTP is counted only."""

from __future__ import annotations

import numpy as np

from jcall.audio.codecs import L16, codec_for
from jcall.media.receive import ReceivePath
from jcall.rtp.jitterbuffer import JitterBuffer
from jcall.rtp.packet import RtpPacket
from jcall.rtp.receiver import SSRC_SWITCH_PACKETS
from jcall.signaling.model import PayloadType

L16_16K = PayloadType(96, "L16", 16000)
PCMU = PayloadType(0, "PCMU", 8000)
FRAME = 160  # 10 ms at 16 kHz


def path() -> ReceivePath:
    return ReceivePath([L16_16K, PCMU], 16000, 1, JitterBuffer(16000, 1, FRAME))


def ramp(k: int) -> np.ndarray:
    return (np.arange(k * FRAME, (k + 1) * FRAME) % 20000).astype(np.int16).reshape(-1, 1)


def l16(k: int, ssrc: int = 7) -> bytes:
    return bytes(RtpPacket(96, k, k * FRAME, ssrc, L16(16000).encode(ramp(k))))


def played(p: ReceivePath, frames: int, t0: float) -> np.ndarray:
    """What the jitter buffer plays, one frame each 10 ms from ``t0``."""
    out = [p.jitter.pop(t0 + 0.010 * i) for i in range(frames)]
    return np.concatenate([f for f in out if f is not None])


def test_the_first_rtp_is_told_and_the_audio_is_pushed_as_it_came() -> None:
    p = path()
    assert p.take(l16(0), 1.000) is True
    assert p.first_arrival == 1.000
    assert [p.take(l16(k), 1.000 + 0.010 * k) for k in range(1, 8)] == [False] * 7
    audio = played(p, 8, 1.000 + p.jitter.start_delay_s)
    assert np.array_equal(audio[:6 * FRAME], np.concatenate([ramp(k) for k in range(6)]))
    assert (p.stats.packets, p.filter.counters.accepted, p.jitter.stats.received) == (8, 8, 8)


def test_a_payload_type_at_another_rate_is_converted_to_the_sessions() -> None:
    p = path()
    tone = (3000 * np.sin(np.arange(80) / 5)).astype(np.int16).reshape(-1, 1)
    payload = codec_for("PCMU", 8000).encode(tone)
    p.take(bytes(RtpPacket(0, 0, 0, 7, payload)), 1.0)
    assert p.jitter.level_s == 0.0 and p.jitter.stats.received == 1  # (not playing yet)
    audio = played(p, 2, 1.0 + p.jitter.start_delay_s)
    assert len(audio) == 2 * FRAME and np.abs(audio[:FRAME]).max() > 1000  # 80 -> 160


def test_what_is_not_the_peers_rtp_is_counted_and_not_pushed() -> None:
    p = path()
    assert p.take(b"\x80\x60", 1.0) is False  # truncated
    assert p.take(bytes(RtpPacket(8, 0, 0, 7, bytes(80))), 1.0) is False  # PCMA: not ours
    assert p.first_arrival is None and p.jitter.stats.received == 0
    c = p.filter.counters
    assert (c.malformed, c.wrong_payload_type, c.accepted) == (1, 1, 0)


def test_a_new_ssrc_starts_a_new_source_and_the_counts_go_on() -> None:
    p = path()
    for k in range(5):
        p.take(l16(k), 1.0 + 0.010 * k)
    for k in range(SSRC_SWITCH_PACKETS):  # another source, far from the first timeline
        p.take(l16(1000 + k, ssrc=9), 1.05 + 0.010 * k)
    assert p.filter.ssrc == 9 and p.jitter.stats.restarts == 1
    assert p.stats.packets == 6  # (the new source is followed from its third packet)
    assert p.stats.lost == 0  # sequence numbers counted afresh, not as a jump of ~1000
