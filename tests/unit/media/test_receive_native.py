"""The native device clock's receive path and playout (jcall/_receive_core.c, through
``DeviceClock.take``/``pull``) against the reference, receive.py and playout.py over the
Python jitter buffer: the same datagrams in (valid, malformed, with CSRCs, extensions
and padding, of other payload types and sources), the same samples and counts out."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from jcall.media.playout import Playout
from jcall.media.receive import ReceivePath, native_kinds
from jcall.media.stats import received
from jcall.rtp.jitterbuffer import JitterBuffer
from jcall.signaling.model import PayloadType

clock_module = pytest.importorskip("jcall._deviceclock")
jitter_module = pytest.importorskip("jcall._jitter")

RATE, FRAME = 44100, 441
L16 = PayloadType(96, "L16", RATE)
# decoded by Python (downmixed; not resampled: soxr's output can differ in the last
# bit from one call to the next, so the two sides could not be compared exactly)
STEREO = PayloadType(97, "L16", RATE, channels=2)


def datagram(rng: np.random.Generator, seq: int, ts: int, ssrc: int, pt: int = 96,
             n: int = FRAME) -> bytes:
    pcm = np.clip(rng.normal(0, 5000, n * (2 if pt == 97 else 1)), -32768, 32767
                  ).astype(">i2").tobytes()
    b0, extra, tail = 0x80, b"", b""
    shape = rng.random()
    if shape < 0.1:  # CSRCs and a header extension
        b0 |= 0x12
        extra = struct.pack("!II", 1, 2) + struct.pack("!HH", 0xBEDE, 1) + b"\x00" * 4
    elif shape < 0.2:  # padding
        b0 |= 0x20
        tail = b"\x00\x00\x03"
    return struct.pack("!BBHII", b0, pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + extra \
        + pcm + tail


@pytest.mark.parametrize("seed", range(4))
def test_native_receive_path_matches_the_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref_jitter = JitterBuffer(RATE, 1, FRAME)
    ref = ReceivePath([L16, STEREO], RATE, 1, ref_jitter)
    firsts: list[float] = []
    ref_playout = Playout(ref_jitter, FRAME, firsts.append)
    clock = clock_module.DeviceClock(1, 1, FRAME, RATE, 0)
    native_jitter = jitter_module.JitterBuffer(RATE, 1, FRAME)
    clock.receive_l16(native_jitter, native_kinds(ref), RATE, 1, FRAME, lambda *a: None)
    seq, ts, ssrc = int(rng.integers(65536)), int(rng.integers(2**32)), 11
    now = 100.0
    period = 256
    due = now
    for k in range(400):
        now += 0.010 + float(rng.normal(0, 0.002))
        r = rng.random()
        if r < 0.03:
            data = bytes(rng.integers(0, 256, int(rng.integers(0, 20)), dtype=np.uint8))
        elif r < 0.06:
            data = datagram(rng, seq, ts, ssrc, pt=8)  # not negotiated
        elif r < 0.09:
            data = datagram(rng, seq + 7, ts, 99)  # a stray source, one packet
        elif 200 <= k < 203:
            data = datagram(rng, 5000 + k, 777 + FRAME * k, 22)  # a new source takes over
            ssrc, seq, ts = 22, 5000 + k, 777 + FRAME * k
        elif r < 0.12:
            data = datagram(rng, seq, ts, ssrc, pt=97)  # stereo: Python decodes
            seq, ts = seq + 1, ts + FRAME
        else:
            data = datagram(rng, seq, ts, ssrc)
            seq, ts = seq + 1, ts + FRAME
        if rng.random() < 0.05:
            seq, ts = seq + 1, ts + FRAME  # lost
        ref_first = ref.take(data, now)
        rest = clock.take(data, now)
        if rest is not None:  # (what NativeReceivePath.push_decoded does)
            pt, stamp, payload = rest
            assert pt == 97
            native_jitter.push(stamp, np.ascontiguousarray(ref.decode(pt, payload)), now)
        assert (clock.received()["first_arrival"] == now) == ref_first or not ref_first
        while due + period / RATE <= now:
            due += period / RATE
            a = ref_playout.pull(period, due)
            b = np.frombuffer(clock.pull(period, due), np.int16).reshape(-1, 1)
            assert np.array_equal(a, b), k
            assert np.array_equal(np.frombuffer(clock.last_played(), np.int16), a[:, 0])
    got = clock.received()
    want = received(ref, 0)
    assert got["packets"] == ref.stats.packets and got["bytes"] == ref.stats.bytes
    assert got["expected"] - got["packets"] == ref.stats.lost
    assert got["jitter"] == ref.stats.jitter
    counters = ref.filter.counters
    assert (got["malformed"], got["wrong_payload_type"], got["foreign_ssrc"],
            got["accepted"], got["ssrc_changes"]) == (
        counters.malformed, counters.wrong_payload_type, counters.foreign_ssrc,
        counters.accepted, counters.ssrc_changes)
    assert got["ssrc"] == want["ssrc"] == 22
    assert counters.malformed and counters.wrong_payload_type and counters.foreign_ssrc
    assert got["first_played"] == firsts[0]
    assert tuple(vars(ref_jitter.stats).values()) == native_jitter.counts()
