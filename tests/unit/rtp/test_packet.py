import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jcall.rtp.packet import RtpPacket
from jcall.rtp.packetizer import Packetizer
from jcall.rtp.receiver import RtpFilter

packets = st.builds(RtpPacket, payload_type=st.integers(0, 127), sequence=st.integers(0, 65535),
                    timestamp=st.integers(0, 2**32 - 1), ssrc=st.integers(0, 2**32 - 1),
                    payload=st.binary(max_size=64), marker=st.booleans(),
                    csrcs=st.lists(st.integers(0, 2**32 - 1), max_size=3).map(tuple))


@given(packets)
def test_round_trip(p: RtpPacket) -> None:
    assert RtpPacket.parse(bytes(p)) == p


def test_known_header() -> None:
    p = RtpPacket(payload_type=11, sequence=0x1234, timestamp=0xDEADBEEF, ssrc=0x01020304,
                  payload=b"\x00\x01", marker=True)
    assert bytes(p) == bytes.fromhex("808b1234deadbeef01020304") + b"\x00\x01"


@pytest.mark.parametrize("data, message", [
    (b"\x80\x00", "RTP packet truncated"),
    (bytes.fromhex("400b0000000000000000000000"), "RTP version 1 is not 2"),
    (bytes.fromhex("820b000000000000000000000000"), "CSRC list truncated"),
    (bytes.fromhex("900b0000000000000000000000"), "extension truncated"),
    (bytes.fromhex("a00b000000000000000000000005"), "padding invalid"),
])
def test_malformed(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RtpPacket.parse(data)


def test_padding_and_extension_are_skipped() -> None:
    ext = struct.pack("!HH", 0xBEDE, 1) + b"\x11\x22\x33\x44"
    data = bytes.fromhex("b00b00010000000200000003") + ext + b"AB" + b"\x00\x02"
    p = RtpPacket.parse(data)
    assert p.payload == b"AB" and p.sequence == 1


def packetize(pk: Packetizer, payload: bytes, samples: int, silence: bool = False
              ) -> RtpPacket | None:
    head = pk.header(len(payload), samples, silence=silence)
    return None if head is None else RtpPacket.parse(head + payload)


def test_packetizer_marks_talk_spurts_and_wraps() -> None:
    pk = Packetizer(0, ssrc=7, sequence=65535, timestamp=2**32 - 160)
    first = packetize(pk, b"x" * 160, 160)
    second = packetize(pk, b"y" * 160, 160)
    assert first is not None and second is not None
    assert first.marker and not second.marker
    assert (first.payload_type, first.ssrc, first.sequence, first.timestamp) == (0, 7, 65535,
                                                                                 2**32 - 160)
    assert (second.sequence, second.timestamp, second.payload) == (0, 0, b"y" * 160)
    assert packetize(pk, b"", 160, silence=True) is None
    third = packetize(pk, b"x" * 160, 160)
    assert third is not None and third.marker and third.timestamp == 320 and third.sequence == 1


def test_packetizer_starts_at_random_values() -> None:
    starts = {(p.ssrc, p.sequence, p.timestamp) for p in (Packetizer(0) for _ in range(8))}
    assert len(starts) == 8


def test_packet_size_limit() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        Packetizer(11).header(1200, 600)


def test_filter_learns_ssrc_and_counts_drops() -> None:
    f = RtpFilter({0, 8})
    ok = bytes(RtpPacket(0, 1, 0, 99, b"a"))
    assert f.accept(ok) is not None
    assert f.accept(b"junk") is None
    assert f.accept(bytes(RtpPacket(11, 2, 0, 99, b"a"))) is None
    assert f.accept(bytes(RtpPacket(0, 2, 0, 98, b"a"))) is None
    assert f.accept(bytes(RtpPacket(8, 3, 0, 99, b"a"))) is not None
    c = f.counters
    assert (c.accepted, c.malformed, c.wrong_payload_type, c.foreign_ssrc) == (2, 1, 1, 1)
