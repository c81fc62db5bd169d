"""The send path's pure parts (jcall/media/send.py): a paced source's datagrams."""

import numpy as np
import pytest

from jcall.audio.codecs import L16, Codec, codec_for
from jcall.media.send import PacedPackets
from jcall.rtp.packet import RtpPacket
from jcall.rtp.packetizer import Packetizer


class Counting:
    """A source of consecutive sample values."""

    def __init__(self) -> None:
        self.pos = 0

    def read(self, n: int) -> np.ndarray:
        out = (np.arange(self.pos, self.pos + n) % 30000).astype(np.int16).reshape(-1, 1)
        self.pos += n
        return out

    def close(self) -> None:
        pass


@pytest.mark.parametrize("codec", [L16(44100), codec_for("PCMU", 8000)])
def test_paced_packets_equal_packetizing_frame_by_frame(codec: Codec) -> None:
    frame, batch = 441, 4
    batched = PacedPackets(Counting(), codec, Packetizer(11, ssrc=7, sequence=65534,
                                                         timestamp=2**32 - 500),
                           frame, batch)
    single_src, single_pz = Counting(), Packetizer(11, ssrc=7, sequence=65534,
                                                   timestamp=2**32 - 500)
    for _ in range(3 * batch + 1):  # across batch boundaries and both wraps
        payload = codec.encode(single_src.read(frame))
        head = single_pz.header(len(payload), frame)
        assert head is not None
        assert batched.next() == head + payload


def test_paced_packets_carry_the_source_in_order() -> None:
    source = Counting()
    packets = PacedPackets(source, L16(8000), Packetizer(96), 160, 3)
    got = [RtpPacket.parse(packets.next()) for _ in range(5)]
    assert [p.marker for p in got] == [True, False, False, False, False]
    pcm = np.concatenate([L16(8000).decode(p.payload) for p in got])
    assert pcm[:, 0].tolist() == list(range(5 * 160))
    assert source.pos == 6 * 160  # two batches of three frames were read


def test_muted_paced_packets_send_silence_and_the_source_keeps_its_place() -> None:
    source = Counting()
    codec = L16(8000)
    packets = PacedPackets(source, codec, Packetizer(96), 160, 2)
    packets.next()
    packets.next()
    packets.muted = True
    muted = [RtpPacket.parse(packets.next()) for _ in range(2)]
    assert all(not codec.decode(p.payload).any() for p in muted)
    assert packets.last is not None and not packets.last.any()
    packets.muted = False
    back = RtpPacket.parse(packets.next())
    assert codec.decode(back.payload)[0, 0] == 4 * 160  # (what was muted is skipped)
