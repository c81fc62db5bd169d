"""A payload type's codec and packet size (jcall/media/format.py)."""

from __future__ import annotations

import pytest

from jcall.media.format import RTP_HEADER, codec_of, packet_samples, supported
from jcall.rtp.packetizer import MAX_PACKET_BYTES
from jcall.signaling.model import PayloadType


@pytest.mark.parametrize(("pt", "samples"), [
    (PayloadType(0, "PCMU", 8000), 160),  # 20 ms
    (PayloadType(8, "PCMA", 8000), 160),
    (PayloadType(96, "L16", 8000), 160),  # 20 ms: 332 bytes
    (PayloadType(96, "L16", 16000), 320),  # 20 ms: 652 bytes
    (PayloadType(11, "L16", 44100), 441),  # 20 ms would be 1776 bytes: 10 ms
    (PayloadType(96, "L16", 48000), 480),
    (PayloadType(10, "L16", 44100, channels=2), 220),  # 10 ms stereo is too big: 5 ms
])
def test_the_longest_packet_that_fits(pt: PayloadType, samples: int) -> None:
    codec = codec_of(pt)
    assert packet_samples(codec) == samples
    width = 1 if codec.name in ("PCMU", "PCMA") else 2 * codec.channels
    assert RTP_HEADER + samples * width <= MAX_PACKET_BYTES


def test_only_the_formats_jcall_codes_are_supported() -> None:
    assert supported(PayloadType(0, "PCMU", 8000))
    assert supported(PayloadType(96, "l16", 48000))
    assert not supported(PayloadType(97, "speex", 16000))
    assert not supported(PayloadType(96, "L16", 22050))
