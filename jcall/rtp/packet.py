"""RTP packets, RFC 3550 section 5.1: parse and serialize, nothing else."""

from __future__ import annotations

import struct
from dataclasses import dataclass

RTP_VERSION = 2
HEADER = struct.Struct("!BBHII")  # V/P/X/CC, M/PT, sequence, timestamp, SSRC


# Not frozen: a frozen dataclass's __init__ goes through object.__setattr__ per field,
# which costs more than the rest of parsing on the per-packet path.
@dataclass(slots=True)
class RtpPacket:
    """One RTP packet (RFC 3550 section 5.1); a header extension is skipped, not kept."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False
    csrcs: tuple[int, ...] = ()

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """Parse a datagram; raises ValueError saying what is wrong with it."""
        if len(data) < HEADER.size:
            raise ValueError("RTP packet truncated")
        b0, b1, seq, ts, ssrc = HEADER.unpack_from(data)
        if b0 == RTP_VERSION << 6:  # no padding, extension or CSRCs: nearly every packet
            return cls(b1 & 0x7F, seq, ts, ssrc, bytes(data[HEADER.size:]), bool(b1 & 0x80))
        if b0 >> 6 != RTP_VERSION:
            raise ValueError(f"RTP version {b0 >> 6} is not 2")
        offset = HEADER.size + 4 * (b0 & 0x0F)
        if len(data) < offset:
            raise ValueError("RTP CSRC list truncated")
        csrcs = struct.unpack_from(f"!{b0 & 0x0F}I", data, HEADER.size)
        if b0 & 0x10:  # header extension (section 5.3.1): skip it
            if len(data) < offset + 4:
                raise ValueError("RTP header extension truncated")
            (words,) = struct.unpack_from("!H", data, offset + 2)
            offset += 4 + 4 * words
            if len(data) < offset:
                raise ValueError("RTP header extension truncated")
        end = len(data)
        if b0 & 0x20:  # padding: the last octet counts the padding octets
            pad = data[-1]
            if pad == 0 or offset + pad > end:
                raise ValueError("RTP padding invalid")
            end -= pad
        return cls(payload_type=b1 & 0x7F, sequence=seq, timestamp=ts, ssrc=ssrc,
                   payload=bytes(data[offset:end]), marker=bool(b1 & 0x80),
                   csrcs=tuple(csrcs))

    def __bytes__(self) -> bytes:
        b0 = (RTP_VERSION << 6) | len(self.csrcs)
        b1 = (0x80 if self.marker else 0) | (self.payload_type & 0x7F)
        head = HEADER.pack(b0, b1, self.sequence, self.timestamp, self.ssrc)
        return head + b"".join(struct.pack("!I", c) for c in self.csrcs) + self.payload
