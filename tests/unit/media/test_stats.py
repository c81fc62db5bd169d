"""The media statistics as shown (jcall/media/stats.py)."""

from __future__ import annotations

import numpy as np

from jcall.audio.level import FLOOR_DBFS
from jcall.media.receive import ReceivePath
from jcall.media.stats import levels, received
from jcall.rtp.jitterbuffer import JitterBuffer
from jcall.rtp.packet import RtpPacket
from jcall.signaling.model import PayloadType


def test_received_counts_what_came_what_was_lost_and_what_was_refused() -> None:
    path = ReceivePath([PayloadType(0, "PCMU", 8000)], 8000, 1, JitterBuffer(8000, 1, 80))
    for seq in (0, 1, 3, 4, 3):  # 2 lost, 3 twice
        path.take(bytes(RtpPacket(0, seq, 160 * seq, 7, b"\xff" * 160)), 1.0 + 0.02 * seq)
    path.take(b"\x80", 1.2)  # malformed
    path.take(bytes(RtpPacket(8, 9, 0, 7, bytes(160))), 1.2)  # PCMA: not negotiated
    got = received(path, stray=4)
    assert {k: got[k] for k in ("ssrc", "packets", "bytes", "lost", "duplicates",
                                "malformed", "foreign", "stray")} == {
        "ssrc": 7, "packets": 5, "bytes": 5 * 172, "lost": 0, "duplicates": 1,
        "malformed": 1, "foreign": 1, "stray": 4}
    # (RFC 3550 A.3: one missing and one duplicated cancel out in the cumulative count)
    assert got["concealed_ms"] == 0.0 and got["jitter_buffer_delay_ms"] > 0


def test_levels_of_nothing_are_the_floor() -> None:
    assert levels(None, None) == {"input_dbfs": FLOOR_DBFS, "output_dbfs": FLOOR_DBFS}
    full = np.full((80, 1), 32767, np.int16)
    assert levels(full, None)["input_dbfs"] == 0.0
